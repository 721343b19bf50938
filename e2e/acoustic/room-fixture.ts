// Offline rooms for unit tests (issue 15): speech through the bench's own reverberation (`sox … reverb 60 50 80`,
// as speakerphone.ts's reverberant route), so a test can replay what a live room does to the assistant's echo
// without a browser. Made at test time with sox (Debian), like e2e/audio-fixtures.ts; nothing is committed.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface RoomOptions {
  /**
   * Only the room's reverberation, not the direct sound: what a canceller that models the direct path and the first
   * reflections (Chromium's models ~50 ms) leaves of a live room's echo, to first order.
   */
  wetOnly?: boolean;
}

/** `x` (mono float, `rate` Hz) through sox's reverb 60 50 80, with `tailSeconds` of silence appended for the tail to ring into. */
export function reverberate(x: Float32Array, rate: number, tailSeconds = 1, options: RoomOptions = {}): Float32Array {
  const dir = mkdtempSync(join(tmpdir(), 'earshot-room-'));
  try {
    const padded = new Float32Array(x.length + Math.round(tailSeconds * rate));
    padded.set(x);
    const f32 = ['-t', 'f32', '-r', String(rate), '-c', '1'];
    writeFileSync(join(dir, 'in.f32'), Buffer.from(padded.buffer, padded.byteOffset, padded.byteLength));
    execFileSync('sox', ['-q', '-V1', ...f32, join(dir, 'in.f32'), ...f32, join(dir, 'out.f32'), 'reverb', ...(options.wetOnly ? ['-w'] : []), '60', '50', '80']);
    const out = readFileSync(join(dir, 'out.f32'));
    return new Float32Array(out.buffer.slice(out.byteOffset, out.byteOffset + out.byteLength)).subarray(0, padded.length);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
