// The event-loop delay sampler on a fake clock: what it records is how late its timer ran, nothing else.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { startEventLoopDelay } from './event-loop-delay.ts';

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

describe('event-loop delay sampler', () => {
  it('records zero delay while the loop is free, one sample per period', () => {
    const seen: number[] = [];
    const m = startEventLoopDelay({ observe: (s) => seen.push(s), sampleMs: 10, now: () => Date.now() });
    vi.advanceTimersByTime(50);
    expect(seen).toEqual([0, 0, 0, 0, 0]);
    m.stop();
  });

  it('records how long a synchronous block held the loop past the due time', () => {
    const seen: number[] = [];
    const m = startEventLoopDelay({ observe: (s) => seen.push(s), sampleMs: 10, now: () => Date.now() });
    vi.advanceTimersByTime(10); // one on time
    // Something synchronous holds the loop for 37 ms: the clock moves, no timer can run meanwhile; the timer
    // due 10 ms later runs as soon as the loop is free, 37 ms late.
    vi.setSystemTime(Date.now() + 37);
    vi.advanceTimersByTime(10);
    expect(seen).toEqual([0, 0.037]);
    // The next sample is due a full period after the late one ran, not in a catch-up burst.
    vi.advanceTimersByTime(10);
    expect(seen).toEqual([0, 0.037, 0]);
    m.stop();
  });

  it('records nothing after stop()', () => {
    const seen: number[] = [];
    const m = startEventLoopDelay({ observe: (s) => seen.push(s), sampleMs: 10, now: () => Date.now() });
    m.stop();
    vi.advanceTimersByTime(100);
    expect(seen).toEqual([]);
  });
});
