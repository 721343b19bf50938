// The playback queue as the worklet drives it: 128-sample quanta, chunks written in between.
import { describe, expect, it } from 'vitest';
import { FADE_SAMPLES } from './constants.ts';
import type { PlaybackToSession } from './messages.ts';
import { PlaybackQueue } from './playback-queue.ts';

const RATE = 1000; // 1 sample per ms keeps the numbers readable
const Q = 128;

function rig() {
  const events: PlaybackToSession[] = [];
  const q = new PlaybackQueue(4000, RATE, (e) => events.push(e));
  let frame = 0;
  const render = (quanta = 1) => {
    const outs: number[] = [];
    for (let k = 0; k < quanta; k++) {
      const out = new Float32Array(Q);
      q.render(out, frame);
      frame += Q;
      outs.push(...out);
    }
    return outs;
  };
  return { q, events, render, kinds: () => events.map((e) => e.kind) };
}

const ones = (n: number) => new Float32Array(n).fill(1);

describe('PlaybackQueue', () => {
  it('waits for the jitter target before starting, then plays', () => {
    const r = rig();
    r.q.write('a', ones(r.q.jitter.samples - 1));
    expect(r.render().every((v) => v === 0)).toBe(true);
    r.q.write('a', ones(1));
    const out = r.render();
    expect(out[FADE_SAMPLES + 1]).toBe(1);
    expect(r.events[0]).toMatchObject({ kind: 'started', itemId: 'a' });
  });

  it('plays the tail of an ended item at once, below the target, and reports it drained (no underrun)', () => {
    const r = rig();
    r.q.write('a', ones(30));
    r.q.end('a');
    r.render();
    expect(r.kinds()).toEqual(['started', 'drained']);
    expect(r.q.underruns).toBe(0);
  });

  it('counts an underrun when the ring runs dry while the item still expects audio, and grows the target', () => {
    const r = rig();
    const before = r.q.jitter.ms;
    r.q.write('a', ones(r.q.jitter.samples));
    r.render(2);
    const underrun = r.events.find((e) => e.kind === 'underrun');
    expect(underrun).toEqual({ kind: 'underrun', itemId: 'a', count: 1, jitterMs: before + 60 });
    expect(r.q.underruns).toBe(1);
    expect(r.q.jitter.ms).toBeGreaterThan(before);
  });

  it('counts the underrun even though the item’s last segment is already gone when the ring empties', () => {
    // The old worklet looked at the head segment after it had been removed, so this report never fired.
    const r = rig();
    r.q.write('a', ones(Q * 2));
    r.render(1); // starts and plays 128
    r.render(2); // plays the other 128 and runs dry inside the next quantum
    expect(r.events.filter((e) => e.kind === 'underrun')).toHaveLength(1);
  });

  it('fades out on a gap rather than clicking, and restarts only once the grown target is queued again', () => {
    const r = rig();
    r.q.write('a', ones(r.q.jitter.samples));
    const out = r.render(2);
    const dry = out.findIndex((v, i) => i > FADE_SAMPLES && v < 1);
    expect(out[dry]).toBeGreaterThan(0); // fading, not a step to 0
    r.q.write('a', ones(r.q.jitter.samples - 1));
    expect(r.render().every((v) => v === 0)).toBe(true);
    r.q.write('a', ones(1));
    expect(r.render().some((v) => v > 0)).toBe(true);
  });

  it('flush reports exactly what was played of each item and silences the next quantum', () => {
    const r = rig();
    r.q.write('a', ones(300));
    r.q.write('b', ones(300));
    r.render(1);
    r.q.flush(999);
    const flushed = r.events.find((e) => e.kind === 'flushed');
    expect(flushed).toMatchObject({ kind: 'flushed', items: [{ itemId: 'a', played: 128 }, { itemId: 'b', played: 0 }], taken: 600, frame: 999 });
    const out = r.render(1);
    expect(out.slice(FADE_SAMPLES).every((v) => v === 0)).toBe(true);
    expect(r.q.queued).toBe(0);
  });

  it('plays items back to back, each starting and draining in order', () => {
    const r = rig();
    r.q.write('a', ones(100));
    r.q.end('a');
    r.q.write('b', ones(100));
    r.q.end('b');
    r.render(2);
    expect(r.kinds()).toEqual(['started', 'drained', 'started', 'drained']);
    expect(r.q.taken).toBe(200);
  });

  it('reports an overflow and keeps what fits', () => {
    const r = rig();
    r.q.write('a', ones(5000));
    expect(r.events[0]).toEqual({ kind: 'overflow', dropped: 1000 });
    expect(r.q.queued).toBe(4000);
  });
});
