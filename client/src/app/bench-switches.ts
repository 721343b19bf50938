// Engine switches for the acoustic bench (`npm run bench:echo`, e2e/acoustic/), read from the page address's
// query: `?playback=direct` plays the assistant straight to the output instead of through the WebRTC loopback the
// echo canceller sees, `?guard=off` turns the barge-in guard off. They exist so the bench can tell the canceller's
// part from the guard's; they are not user settings (a speakerphone user wants both on), so nothing in the UI
// offers them and the app's address never carries them unless someone types them.
import type { EngineOptions } from '../session/main/engine.ts';

export function benchSwitches(search: string): Pick<EngineOptions, 'echoLoopback' | 'bargeInGuard'> {
  const query = new URLSearchParams(search);
  return {
    ...(query.get('playback') === 'direct' ? { echoLoopback: false } : {}),
    ...(query.get('guard') === 'off' ? { bargeInGuard: false } : {}),
  };
}
