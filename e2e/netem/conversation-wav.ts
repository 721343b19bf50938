// Fake-microphone scripts for the mobile tests: speech and silence in a fixed order, made at test time with
// espeak-ng and sox (like e2e/audio-fixtures.ts) and never committed. Chromium loops the file, so a script ends
// with enough silence to cover the test.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
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

/** Where the speech is in a 16-bit mono WAV: spans (seconds) of 20 ms frames above -40 dBFS, closer gaps than 0.4 s merged. */
export function speechSpans(wav: string): Array<{ start: number; end: number }> {
  const bytes = readFileSync(wav);
  let at = 12;
  let rate = 48_000;
  let data: Buffer | null = null;
  while (at + 8 <= bytes.length) {
    const id = bytes.toString('ascii', at, at + 4);
    const size = bytes.readUInt32LE(at + 4);
    if (id === 'fmt ') rate = bytes.readUInt32LE(at + 12);
    if (id === 'data') data = bytes.subarray(at + 8, at + 8 + size);
    at += 8 + size + (size % 2);
  }
  if (!data) throw new Error(`${wav}: no data chunk`);
  const frame = Math.round(rate * 0.02);
  const spans: Array<{ start: number; end: number }> = [];
  for (let i = 0; i + frame * 2 <= data.length; i += frame * 2) {
    let sum = 0;
    for (let j = 0; j < frame; j++) sum += (data.readInt16LE(i + j * 2) / 32768) ** 2;
    if (Math.sqrt(sum / frame) < 0.01) continue;
    const start = i / 2 / rate;
    const end = start + 0.02;
    const last = spans.at(-1);
    if (last && start - last.end < 0.4) last.end = end;
    else spans.push({ start, end });
  }
  return spans;
}
