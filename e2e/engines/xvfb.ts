// A private X server for WebKitGTK's MiniBrowser (it has no headless mode): Xvfb picks a free display itself
// (-displayfd), so parallel runs never collide on a display number.
import { pollUntil, startOwned } from './processes.ts';

export interface PrivateXvfb {
  display: string;
  stop(): Promise<void>;
}

export async function startXvfb(): Promise<PrivateXvfb> {
  // fd 3 is where Xvfb writes the display number once it is ready for clients.
  const proc = startOwned('Xvfb', ['-displayfd', '3', '-screen', '0', '1280x1024x24', '-nolisten', 'tcp', '-noreset'], { stdio: ['ignore', 'ignore', 'pipe', 'pipe'] });
  let out = '';
  proc.child.stdio[3]!.on('data', (chunk: Buffer) => (out += chunk.toString()));
  try {
    const display = await pollUntil('Xvfb display', () => {
      if (proc.child.exitCode !== null) throw new Error(`Xvfb exited: ${proc.stderr()}`);
      return /^\d+\n/.test(out) ? `:${out.trim()}` : undefined;
    });
    return { display, stop: () => proc.stop() };
  } catch (e) {
    await proc.stop();
    throw e;
  }
}
