// Pure quota arithmetic: is a user past their daily or monthly spoken-minute allowance (UTC days and months),
// and the sentence that tells them so. Spoken seconds = input audio + output audio (see meter.ts).
import type { UserRecord } from '../auth/store.ts';
import { spokenSeconds, type UsageCounters } from './meter.ts';

export type QuotaPolicy = Pick<UserRecord, 'dailyMinutes' | 'monthlyMinutes'>;

export type QuotaVerdict =
  | { ok: true; /** Spoken seconds left before the tighter limit; null when unlimited. */ remainingSeconds: number | null }
  | { ok: false; period: 'day' | 'month'; limitMinutes: number; usedSeconds: number };

type Spoken = Pick<UsageCounters, 'inputAudioBytes' | 'outputAudioBytes'>;

/**
 * `today` / `thisMonth` are the stored totals; `live` is what running sessions counted but have not stored yet.
 * The limit is reached when used >= limit, so a quota of 0 minutes blocks every session.
 */
export function evaluateQuota(policy: QuotaPolicy, today: Spoken, thisMonth: Spoken, live: Spoken): QuotaVerdict {
  const extra = spokenSeconds(live);
  const checks: Array<{ period: 'day' | 'month'; limit: number | null; used: number }> = [
    { period: 'day', limit: policy.dailyMinutes, used: spokenSeconds(today) + extra },
    { period: 'month', limit: policy.monthlyMinutes, used: spokenSeconds(thisMonth) + extra },
  ];
  let remaining: number | null = null;
  for (const { period, limit, used } of checks) {
    if (limit === null) continue;
    if (used >= limit * 60) return { ok: false, period, limitMinutes: limit, usedSeconds: used };
    remaining = Math.min(remaining ?? Infinity, limit * 60 - used);
  }
  return { ok: true, remainingSeconds: remaining };
}

const MONTHS = ['January', 'February', 'March', 'April', 'May', 'June', 'July', 'August', 'September', 'October', 'November', 'December'];

/** What the user reads when a session is cut or refused: what ran out, and when it comes back. */
export function quotaMessage(verdict: Extract<QuotaVerdict, { ok: false }>, now: number): string {
  const minutes = `${verdict.limitMinutes} spoken minute${verdict.limitMinutes === 1 ? '' : 's'}`;
  if (verdict.period === 'day') {
    return `You have used your ${minutes} for today — more becomes available at midnight UTC, or ask your operator to raise your limit.`;
  }
  const d = new Date(now);
  const next = MONTHS[(d.getUTCMonth() + 1) % 12]!;
  return `You have used your ${minutes} for this month — more becomes available on 1 ${next} (UTC), or ask your operator to raise your limit.`;
}
