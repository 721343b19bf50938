import { describe, expect, it } from 'vitest';
import { FailedAttemptLimiter } from './limiter.ts';

describe('FailedAttemptLimiter', () => {
  it('blocks an address after maxFailures in the window, for blockMs', () => {
    let now = 0;
    const l = new FailedAttemptLimiter({ maxFailures: 3, windowMs: 1000, blockMs: 5000, now: () => now });
    l.recordFailure('a');
    l.recordFailure('a');
    expect(l.isBlocked('a')).toBe(false);
    l.recordFailure('a');
    expect(l.isBlocked('a')).toBe(true);
    expect(l.isBlocked('b')).toBe(false);
    now = 5001;
    expect(l.isBlocked('a')).toBe(false);
  });

  it('forgets failures outside the window', () => {
    let now = 0;
    const l = new FailedAttemptLimiter({ maxFailures: 2, windowMs: 1000, now: () => now });
    l.recordFailure('a');
    now = 2000;
    l.recordFailure('a');
    expect(l.isBlocked('a')).toBe(false);
  });

  it('keeps memory bounded under a flood of addresses', () => {
    const l = new FailedAttemptLimiter({ maxAddresses: 100 });
    for (let i = 0; i < 10_000; i++) l.recordFailure(`10.0.${i >> 8}.${i & 255}`);
    expect(l.size()).toBe(100);
  });
});
