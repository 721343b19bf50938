// The benches' wait for a child's listening line, against real child processes that print as the relays do.
import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { listeningUrl } from './listening.ts';

/** A node child running `code`, its stdout piped as the benches pipe it. */
const child = (code: string) => spawn(process.execPath, ['-e', code], { stdio: ['ignore', 'pipe', 'pipe'] });

describe('listeningUrl', () => {
  it('resolves with the URL of the listening line, past log lines that are not JSON and a line split across writes', async () => {
    const c = child(`
      process.stdout.write('[gc] scavenge 1.2 ms\\n');
      process.stdout.write('{"msg":"listen');
      setTimeout(() => process.stdout.write('ing","url":"ws://127.0.0.1:4321"}\\n'), 50);
      setTimeout(() => {}, 200);
    `);
    await expect(listeningUrl(c, 'relay')).resolves.toBe('ws://127.0.0.1:4321');
  });

  it("takes the simulator's line too", async () => {
    const c = child(`console.log(JSON.stringify({ msg: 'simulator listening', url: 'ws://127.0.0.1:9/v1/realtime' })); setTimeout(() => {}, 100);`);
    await expect(listeningUrl(c, 'simulator')).resolves.toBe('ws://127.0.0.1:9/v1/realtime');
  });

  it('hands every later line to onLineAfter, in order, and none before the listening line', async () => {
    const seen: string[] = [];
    const c = child(`console.log('before'); console.log(JSON.stringify({ msg: 'listening', url: 'ws://x' })); console.log('gc 1'); console.log('gc 2');`);
    const exited = new Promise((r) => c.once('exit', r));
    await expect(listeningUrl(c, 'relay', { onLineAfter: (text) => seen.push(text) })).resolves.toBe('ws://x');
    await exited;
    expect(seen).toEqual(['gc 1', 'gc 2']);
  });

  it("rejects with the child's stderr when it exits before listening", async () => {
    const c = child(`console.error('EADDRINUSE: port taken'); process.exit(3);`);
    let stderr = '';
    c.stderr!.on('data', (b: Buffer) => (stderr += b.toString()));
    await expect(listeningUrl(c, 'relay', { stderr: () => stderr })).rejects.toThrow(/relay exited with 3: EADDRINUSE: port taken/);
  });
});
