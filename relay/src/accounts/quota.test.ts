import { describe, expect, it } from 'vitest';
import { PCM16_BYTES_PER_SECOND } from './meter.ts';
import { evaluateQuota, quotaMessage } from './quota.ts';

const sec = (input: number, output = 0) => ({ inputAudioBytes: input * PCM16_BYTES_PER_SECOND, outputAudioBytes: output * PCM16_BYTES_PER_SECOND });
const none = sec(0);

describe('evaluateQuota', () => {
  it('never limits a user without quotas', () => {
    expect(evaluateQuota({ dailyMinutes: null, monthlyMinutes: null }, sec(1e6), sec(1e6), sec(1e6))).toEqual({ ok: true, remainingSeconds: null });
  });

  it('counts input plus output audio, stored plus live, against the daily limit', () => {
    const policy = { dailyMinutes: 1, monthlyMinutes: null };
    expect(evaluateQuota(policy, sec(20, 10), sec(20, 10), sec(10, 10))).toEqual({ ok: true, remainingSeconds: 10 });
    expect(evaluateQuota(policy, sec(20, 10), sec(20, 10), sec(20, 10))).toEqual({ ok: false, period: 'day', limitMinutes: 1, usedSeconds: 60 });
  });

  it('reports the month when only the monthly limit is reached', () => {
    const v = evaluateQuota({ dailyMinutes: 10, monthlyMinutes: 5 }, sec(60), sec(300), none);
    expect(v).toMatchObject({ ok: false, period: 'month', limitMinutes: 5 });
  });

  it('returns the tighter remaining time of the two limits', () => {
    expect(evaluateQuota({ dailyMinutes: 2, monthlyMinutes: 10 }, sec(30), sec(570), none)).toEqual({ ok: true, remainingSeconds: 30 });
  });

  it('blocks everything with a quota of zero minutes', () => {
    expect(evaluateQuota({ dailyMinutes: 0, monthlyMinutes: null }, none, none, none).ok).toBe(false);
  });
});

describe('quotaMessage', () => {
  it('tells the user what ran out and when it renews', () => {
    expect(quotaMessage({ ok: false, period: 'day', limitMinutes: 30, usedSeconds: 1800 }, Date.UTC(2026, 10, 24))).toBe(
      'You have used your 30 spoken minutes for today — more becomes available at midnight UTC, or ask your operator to raise your limit.',
    );
    expect(quotaMessage({ ok: false, period: 'month', limitMinutes: 600, usedSeconds: 36000 }, Date.UTC(2026, 11, 31))).toMatch(/this month — more becomes available on 1 January \(UTC\)/);
  });
});
