import { describe, expect, it } from 'vitest';
import { backoffDelay } from './backoff.ts';

describe('backoffDelay', () => {
  it('doubles the ceiling with each attempt', () => {
    expect([1, 2, 3, 4].map((a) => backoffDelay(a, 0.999999))).toEqual([500, 1000, 2000, 4000]);
  });

  it('never waits less than half the ceiling, so the countdown is meaningful', () => {
    expect([1, 2, 3, 4].map((a) => backoffDelay(a, 0))).toEqual([250, 500, 1000, 2000]);
  });

  it('caps the delay at maxMs however many attempts fail', () => {
    expect(backoffDelay(50, 0.999999)).toBe(30_000);
    expect(backoffDelay(1000, 0)).toBe(15_000);
    expect(backoffDelay(8, 1, { baseMs: 100, maxMs: 5_000 })).toBe(5_000);
  });

  it('spreads clients out with jitter', () => {
    expect(backoffDelay(3, 0.25)).not.toBe(backoffDelay(3, 0.75));
  });
});
