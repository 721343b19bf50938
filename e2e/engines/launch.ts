// Picks the driver for an engine by name.
import { launchChromiumEngine } from './chromium.ts';
import type { Engine, EngineName, LaunchEngineOptions } from './driver.ts';
import { launchFirefoxEngine } from './firefox.ts';
import { launchWebKitEngine } from './webkit.ts';

export function launchEngine(name: EngineName, options: LaunchEngineOptions = {}): Promise<Engine> {
  switch (name) {
    case 'chromium':
      return launchChromiumEngine(options);
    case 'firefox':
      return launchFirefoxEngine(options);
    case 'webkit':
      return launchWebKitEngine(options);
    default: {
      const never: never = name;
      throw new Error(`unknown engine ${String(never)}`);
    }
  }
}
