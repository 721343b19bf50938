// Launches Debian's Chromium through playwright-core with the flags this machine needs,
// optionally with a fake microphone fed from a WAV file.
import { chromium, type Browser } from 'playwright-core';

export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

export interface LaunchOptions {
  /** WAV file played as the microphone (loops). */
  fakeMicWav?: string;
  /** Grant the microphone without a prompt (default true when fakeMicWav is set). */
  grantMic?: boolean;
  extraArgs?: string[];
  /** Another launcher for the same Chromium, e.g. a script that starts it inside a network namespace (e2e/netem). */
  executablePath?: string;
}

export async function launchChromium(options: LaunchOptions = {}): Promise<Browser> {
  const args = [
    '--no-sandbox',
    '--disable-gpu',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
    '--disable-quic',
    '--no-first-run',
    '--autoplay-policy=no-user-gesture-required',
  ];
  if (options.fakeMicWav !== undefined || options.grantMic) {
    args.push('--use-fake-device-for-media-stream');
    if (options.grantMic !== false) args.push('--use-fake-ui-for-media-stream');
  }
  if (options.fakeMicWav !== undefined) args.push(`--use-file-for-fake-audio-capture=${options.fakeMicWav}`);
  // Chromium reads the first --autoplay-policy it is given: a caller's own policy replaces the default one.
  const extra = options.extraArgs ?? [];
  if (extra.some((a) => a.startsWith('--autoplay-policy='))) args.splice(args.indexOf('--autoplay-policy=no-user-gesture-required'), 1);
  args.push(...extra);
  return chromium.launch({ executablePath: options.executablePath ?? CHROMIUM_PATH, headless: true, args });
}
