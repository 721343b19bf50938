import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { EnergyVad, thresholdToDbfs, type VadEvent } from './vad.ts';
import { speechWav, soxToRawPcm16 } from '../../../e2e/audio-fixtures.ts';

const config = { threshold: 0.5, prefixPaddingMs: 300, silenceDurationMs: 500 };

function pcm(file: string): Int16Array {
  const bytes = readFileSync(file);
  const out = new Int16Array(bytes.length / 2);
  new Uint8Array(out.buffer).set(bytes);
  return out;
}

/** Feeds audio in 20 ms appends, as the client does. */
function feed(vad: EnergyVad, samples: Int16Array): VadEvent[] {
  const events: VadEvent[] = [];
  for (let i = 0; i < samples.length; i += 480) events.push(...vad.push(samples.subarray(i, i + 480)));
  return events;
}

function noise(seconds: number, amplitude: number, seed = 1): Int16Array {
  const out = new Int16Array(24_000 * seconds);
  let x = seed;
  for (let i = 0; i < out.length; i++) {
    x = (x * 1103515245 + 12345) & 0x7fffffff;
    out[i] = Math.round(((x / 0x7fffffff) * 2 - 1) * amplitude);
  }
  return out;
}

describe('EnergyVad', () => {
  const speech = pcm(soxToRawPcm16(speechWav('the quick brown fox jumps over the lazy dog', { rate: 24_000, padSeconds: 1 }), 24_000));

  it('finds one utterance in espeak speech padded with a second of silence', () => {
    const events = feed(new EnergyVad(config), speech);
    expect(events.map((e) => e.kind)).toEqual(['speech_started', 'speech_stopped']);
    const [start, stop] = events as [Extract<VadEvent, { kind: 'speech_started' }>, Extract<VadEvent, { kind: 'speech_stopped' }>];
    // Speech begins at 1000 ms; the reported start includes the 300 ms prefix padding.
    expect(start.audioStartMs).toBeGreaterThanOrEqual(650);
    expect(start.audioStartMs).toBeLessThanOrEqual(760);
    // The end includes the 500 ms silence window after the last loud sample.
    let last = speech.length - 1;
    while (last > 0 && Math.abs(speech[last]!) < 300) last--;
    const speechEndMs = (last / 24_000) * 1000;
    expect(stop.audioEndMs).toBeGreaterThanOrEqual(speechEndMs + 450);
    expect(stop.audioEndMs).toBeLessThanOrEqual(speechEndMs + 620);
  });

  it('honours silence_duration_ms: a longer window ends the turn later or not at all', () => {
    const short = feed(new EnergyVad({ ...config, silenceDurationMs: 200 }), speech);
    const long = feed(new EnergyVad({ ...config, silenceDurationMs: 900 }), speech);
    const end = (events: VadEvent[]) => events.find((e) => e.kind === 'speech_stopped') as { audioEndMs: number } | undefined;
    // espeak leaves gaps between words; a 200 ms window may split the sentence, a 900 ms one must not.
    expect(long.filter((e) => e.kind === 'speech_started')).toHaveLength(1);
    expect(end(short)!.audioEndMs).toBeLessThan(end(long)!.audioEndMs);
  });

  it('ignores digital silence and low room noise', () => {
    expect(feed(new EnergyVad(config), new Int16Array(24_000 * 2))).toEqual([]);
    expect(feed(new EnergyVad(config), noise(2, 200))).toEqual([]); // about -50 dBFS
  });

  it('treats loud noise as speech and a high threshold as deafness', () => {
    expect(feed(new EnergyVad(config), noise(1, 8000)).map((e) => e.kind)).toEqual(['speech_started']);
    expect(feed(new EnergyVad({ ...config, threshold: 1 }), speech)).toEqual([]);
  });

  it('maps the provider threshold onto dBFS monotonically', () => {
    expect(thresholdToDbfs(0)).toBe(-70);
    expect(thresholdToDbfs(0.5)).toBe(-40);
    expect(thresholdToDbfs(1)).toBe(-10);
    expect(thresholdToDbfs(7)).toBe(-10);
  });
});
