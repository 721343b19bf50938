// Fake-microphone scripts for the mobile tests: speech and silence in a fixed order, made at test time with
// espeak-ng and sox (like e2e/audio-fixtures.ts) and never committed. Chromium loops the file, so a script ends
// with enough silence to cover the test.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export type MicPart = { say: string } | { silenceSeconds: number };

const dir = join(tmpdir(), 'earshot-fixtures');

/** A 48 kHz mono 16-bit WAV of the parts in order; the same name is built once per machine. */
export function conversationWav(name: string, parts: MicPart[]): string {
  mkdirSync(dir, { recursive: true });
  const out = join(dir, `${name}.wav`);
  if (existsSync(out)) return out;
  const pieces = parts.map((part, i) => {
    const piece = join(dir, `${name}.${i}.wav`);
    if ('say' in part) {
      const raw = join(dir, `${name}.${i}.raw.wav`);
      execFileSync('espeak-ng', ['-v', 'en-us', '-s', '150', '-w', raw, part.say]);
      execFileSync('sox', [raw, '-r', '48000', '-c', '1', '-b', '16', piece]);
    } else execFileSync('sox', ['-n', '-r', '48000', '-c', '1', '-b', '16', piece, 'trim', '0', String(part.silenceSeconds)]);
    return piece;
  });
  execFileSync('sox', [...pieces, out]);
  return out;
}

/** Length of a WAV in seconds (sox's own reading of the header). */
export function wavSeconds(wav: string): number {
  return Number(execFileSync('soxi', ['-D', wav], { encoding: 'utf8' }).trim());
}
