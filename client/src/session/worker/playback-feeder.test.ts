import { describe, expect, it } from 'vitest';
import type { SessionToPlayback } from '../../audio/messages.ts';
import { PlaybackFeeder } from './playback-feeder.ts';

function harness(rate = 48_000) {
  const posted: SessionToPlayback[] = [];
  const feeder = new PlaybackFeeder({ postMessage: (m) => posted.push(m) }, rate);
  const sentSamples = () => posted.reduce((n, m) => n + (m.kind === 'chunk' ? m.samples.length : 0), 0);
  return { feeder, posted, sentSamples };
}

describe('PlaybackFeeder', () => {
  it('resamples 24 kHz deltas to the context rate', () => {
    const h = harness(48_000);
    h.feeder.enqueue('a1', new Float32Array(4800));
    expect(h.sentSamples()).toBe(9600);
  });

  it('keeps no more than the high-water mark in the worklet and sends more as it plays', () => {
    const h = harness(48_000);
    for (let i = 0; i < 50; i++) h.feeder.enqueue('a1', new Float32Array(4800)); // 10 s
    const first = h.sentSamples();
    expect(first).toBeLessThanOrEqual(48_000 * 1.5);
    expect(h.feeder.backlog).toBeGreaterThan(0);
    h.feeder.onReport({ kind: 'progress', itemId: 'a1', played: 48_000, taken: 48_000, frame: 48_000, rms: 0, jitterMs: 80 });
    expect(h.sentSamples()).toBeGreaterThan(first);
    expect(h.sentSamples() - 48_000).toBeLessThanOrEqual(48_000 * 1.5);
  });

  it('pushes the filter tail out and then marks the end of an item', () => {
    const h = harness(44_100);
    h.feeder.enqueue('a1', new Float32Array(2400).fill(0.5));
    h.feeder.end('a1');
    const kinds = h.posted.map((m) => m.kind);
    expect(kinds.at(-1)).toBe('end');
    // 100 ms at 44.1 kHz plus the filter's tail: nothing of the item is lost inside the resampler.
    expect(h.sentSamples()).toBeGreaterThan(4410);
  });

  it('drops everything waiting on flush and tells the worklet', () => {
    const h = harness(48_000);
    for (let i = 0; i < 50; i++) h.feeder.enqueue('a1', new Float32Array(4800));
    h.feeder.flush();
    expect(h.posted.at(-1)).toEqual({ kind: 'flush' });
    expect(h.feeder.backlog).toBe(0);
  });
});
