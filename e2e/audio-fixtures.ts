// Speech fixtures made at test time with espeak-ng and sox (Debian), never committed.
import { execFileSync } from 'node:child_process';
import { mkdirSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const dir = join(tmpdir(), 'earshot-fixtures');

/**
 * A WAV of `text` spoken by espeak-ng, resampled by sox to `rate` Hz mono 16-bit,
 * with `padSeconds` of silence before and after (so a VAD sees a clean start and end).
 */
export function speechWav(text: string, options: { rate?: number; padSeconds?: number; name?: string } = {}): string {
  const rate = options.rate ?? 48_000;
  const pad = options.padSeconds ?? 1;
  mkdirSync(dir, { recursive: true });
  const name = options.name ?? `${text.replace(/[^a-z0-9]+/gi, '-').slice(0, 40)}-${rate}-${pad}`;
  const raw = join(dir, `${name}.raw.wav`);
  const out = join(dir, `${name}.wav`);
  if (existsSync(out)) return out;
  execFileSync('espeak-ng', ['-v', 'en-us', '-s', '150', '-w', raw, text]);
  execFileSync('sox', [raw, '-r', String(rate), '-c', '1', '-b', '16', out, 'pad', String(pad), String(pad)]);
  return out;
}

/** Resample a WAV to raw pcm16 little-endian mono at `rate` with sox's high-quality resampler. */
export function soxToRawPcm16(wav: string, rate: number): string {
  mkdirSync(dir, { recursive: true });
  const out = join(dir, `${wav.split('/').pop()!.replace(/\.wav$/, '')}-${rate}.s16`);
  execFileSync('sox', [wav, '-t', 's16', '-e', 'signed-integer', '-b', '16', '-c', '1', '-r', String(rate), out, 'rate', '-v']);
  return out;
}
