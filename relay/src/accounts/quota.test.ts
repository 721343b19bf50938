import { describe, expect, it } from 'vitest';
import { PCM16_BYTES_PER_SECOND, zeroCounters } from './meter.ts';
import { evaluateQuota, quotaMessage, type QuotaPolicy } from './quota.ts';

const sec = (input: number, output = 0) => ({ ...zeroCounters(), inputAudioBytes: input * PCM16_BYTES_PER_SECOND, outputAudioBytes: output * PCM16_BYTES_PER_SECOND });
const tok = (textIn: number, textOut = 0, audioIn = 0, audioOut = 0) => ({ ...zeroCounters(), textInputTokens: textIn, textOutputTokens: textOut, audioInputTokens: audioIn, audioOutputTokens: audioOut });
const none = sec(0);
const unlimited: QuotaPolicy = { dailyMinutes: null, monthlyMinutes: null, dailyTokens: null, monthlyTokens: null };

describe('evaluateQuota', () => {
  it('never limits a user without quotas', () => {
    const lots = { ...sec(1e6), ...tok(1e9, 1e9, 1e9, 1e9) };
    expect(evaluateQuota(unlimited, lots, lots, lots)).toEqual({ ok: true, remainingSeconds: null, remainingTokens: null });
  });

  it('counts input plus output audio, stored plus live, against the daily minute limit', () => {
    const policy = { ...unlimited, dailyMinutes: 1 };
    expect(evaluateQuota(policy, sec(20, 10), sec(20, 10), sec(10, 10))).toEqual({ ok: true, remainingSeconds: 10, remainingTokens: null });
    expect(evaluateQuota(policy, sec(20, 10), sec(20, 10), sec(20, 10))).toEqual({ ok: false, period: 'day', unit: 'spoken_minutes', limit: 1, used: 1 });
  });

  it('reports the month when only the monthly limit is reached', () => {
    const v = evaluateQuota({ ...unlimited, dailyMinutes: 10, monthlyMinutes: 5 }, sec(60), sec(300), none);
    expect(v).toMatchObject({ ok: false, period: 'month', unit: 'spoken_minutes', limit: 5 });
  });

  it('returns the tighter remaining time of the two limits', () => {
    expect(evaluateQuota({ ...unlimited, dailyMinutes: 2, monthlyMinutes: 10 }, sec(30), sec(570), none)).toMatchObject({ ok: true, remainingSeconds: 30 });
  });

  it('blocks everything with a quota of zero minutes or zero tokens', () => {
    expect(evaluateQuota({ ...unlimited, dailyMinutes: 0 }, none, none, none).ok).toBe(false);
    expect(evaluateQuota({ ...unlimited, monthlyTokens: 0 }, none, none, none).ok).toBe(false);
  });

  it('counts text and audio tokens, input and output, stored plus live, against the token limits', () => {
    const policy = { ...unlimited, dailyTokens: 1000, monthlyTokens: 5000 };
    expect(evaluateQuota(policy, tok(100, 200, 300, 0), tok(100, 200, 300, 0), tok(0, 0, 0, 399))).toEqual({ ok: true, remainingSeconds: null, remainingTokens: 1 });
    expect(evaluateQuota(policy, tok(100, 200, 300, 0), tok(100, 200, 300, 0), tok(0, 0, 0, 400))).toEqual({ ok: false, period: 'day', unit: 'tokens', limit: 1000, used: 1000 });
    expect(evaluateQuota(policy, tok(0), tok(4000, 1000), none)).toMatchObject({ ok: false, period: 'month', unit: 'tokens', limit: 5000 });
  });

  it('limits a text-only user (no audio at all) by tokens while minutes stay untouched', () => {
    const v = evaluateQuota({ ...unlimited, dailyMinutes: 30, dailyTokens: 50_000 }, tok(40_000, 9_000), tok(40_000, 9_000), tok(2_000));
    expect(v).toMatchObject({ ok: false, unit: 'tokens', period: 'day' });
  });
});

describe('quotaMessage', () => {
  it('tells the user which limit ran out and when it renews', () => {
    expect(quotaMessage({ ok: false, period: 'day', unit: 'spoken_minutes', limit: 30, used: 30 }, Date.UTC(2026, 10, 24))).toBe(
      'You have used your 30 spoken minutes for today — more becomes available at midnight UTC, or ask your operator to raise your limit.',
    );
    expect(quotaMessage({ ok: false, period: 'month', unit: 'spoken_minutes', limit: 600, used: 600 }, Date.UTC(2026, 11, 31))).toMatch(/this month — more becomes available on 1 January \(UTC\)/);
    expect(quotaMessage({ ok: false, period: 'day', unit: 'tokens', limit: 50_000, used: 50_120 }, Date.UTC(2026, 10, 24))).toBe(
      'You have used your 50,000 tokens for today — more becomes available at midnight UTC, or ask your operator to raise your limit.',
    );
    expect(quotaMessage({ ok: false, period: 'month', unit: 'tokens', limit: 1_000_000, used: 1e6 }, Date.UTC(2026, 10, 3))).toMatch(/1,000,000 tokens for this month — more becomes available on 1 December \(UTC\)/);
  });
});

describe('quotaRenewsAt', () => {
  it('is the next UTC midnight for a daily allowance and the 1st of next UTC month for a monthly one (December rolls over)', async () => {
    const { quotaRenewsAt } = await import('./quota.ts');
    const now = Date.UTC(2026, 11, 31, 21, 40);
    expect(quotaRenewsAt({ ok: false, period: 'day', unit: 'tokens', limit: 1, used: 2 }, now)).toBe(Date.UTC(2027, 0, 1));
    expect(quotaRenewsAt({ ok: false, period: 'month', unit: 'spoken_minutes', limit: 1, used: 2 }, Date.UTC(2026, 11, 5))).toBe(Date.UTC(2027, 0, 1));
    expect(quotaRenewsAt({ ok: false, period: 'month', unit: 'spoken_minutes', limit: 1, used: 2 }, Date.UTC(2026, 1, 5))).toBe(Date.UTC(2026, 2, 1));
  });
});
