import { describe, expect, it } from 'vitest';
import { nextRetryDelayMs, RESUME_RETRY_MAX_MS } from './reconnect-policy.ts';

describe('nextRetryDelayMs', () => {
  it('tries again at once the first time, resuming or not', () => {
    expect(nextRetryDelayMs({ attempt: 1, resuming: true, random: 0.9 })).toBe(0);
    expect(nextRetryDelayMs({ attempt: 1, resuming: false, random: 0.9 })).toBe(0);
  });

  it('backs off exponentially without a resume ticket', () => {
    expect([2, 3, 4, 5].map((attempt) => nextRetryDelayMs({ attempt, resuming: false, random: 0.999999 }))).toEqual([500, 1000, 2000, 4000]);
  });

  it('keeps tries close together while the provider session waits for a resume', () => {
    for (let attempt = 2; attempt < 40; attempt++) expect(nextRetryDelayMs({ attempt, resuming: true, random: 0.999999 })).toBeLessThanOrEqual(RESUME_RETRY_MAX_MS);
    expect(nextRetryDelayMs({ attempt: 2, resuming: true, random: 0 })).toBe(250);
  });
});
