// Pure quota arithmetic: is a user past a daily or monthly allowance (UTC days and months), in either unit,
// and the sentence that tells them so.
//   spoken minutes = input audio + output audio (see meter.ts): what the user hears and says;
//   tokens         = text + audio, input + output, as the provider's own `response.done` usage bills them —
//                    the only unit that limits text-only turns, huge instructions and many responses.
import type { UserRecord } from '../store/store.ts';
import { billedTokens, spokenSeconds, type UsageCounters } from './meter.ts';

export type QuotaPolicy = Pick<UserRecord, 'dailyMinutes' | 'monthlyMinutes' | 'dailyTokens' | 'monthlyTokens'>;

export type QuotaUnit = 'spoken_minutes' | 'tokens';
export type QuotaPeriod = 'day' | 'month';

export type QuotaVerdict =
  | {
      ok: true;
      /** Spoken seconds left before the tighter minute limit; null when minutes are unlimited. */
      remainingSeconds: number | null;
      /** Tokens left before the tighter token limit; null when tokens are unlimited. */
      remainingTokens: number | null;
    }
  | { ok: false; period: QuotaPeriod; unit: QuotaUnit; /** In `unit`. */ limit: number; /** In `unit`. */ used: number };

export type Metered = Pick<UsageCounters, 'inputAudioBytes' | 'outputAudioBytes' | 'textInputTokens' | 'textOutputTokens' | 'audioInputTokens' | 'audioOutputTokens'>;

export function hasQuota(policy: QuotaPolicy): boolean {
  return policy.dailyMinutes !== null || policy.monthlyMinutes !== null || policy.dailyTokens !== null || policy.monthlyTokens !== null;
}

/**
 * `today` / `thisMonth` are the stored totals; `live` is what running sessions counted but have not stored yet.
 * A limit is reached when used >= limit, so a quota of 0 blocks every session. Minutes are checked first, day
 * before month, so the sentence names the limit the user is most likely to recognise.
 */
export function evaluateQuota(policy: QuotaPolicy, today: Metered, thisMonth: Metered, live: Metered): QuotaVerdict {
  const liveSeconds = spokenSeconds(live);
  const liveTokens = billedTokens(live);
  // Minutes are compared in seconds (limit × 60) so whole-second usage meets a whole-minute limit exactly.
  const checks: Array<{ period: QuotaPeriod; unit: QuotaUnit; limit: number | null; scale: number; used: number }> = [
    { period: 'day', unit: 'spoken_minutes', limit: policy.dailyMinutes, scale: 60, used: spokenSeconds(today) + liveSeconds },
    { period: 'month', unit: 'spoken_minutes', limit: policy.monthlyMinutes, scale: 60, used: spokenSeconds(thisMonth) + liveSeconds },
    { period: 'day', unit: 'tokens', limit: policy.dailyTokens, scale: 1, used: billedTokens(today) + liveTokens },
    { period: 'month', unit: 'tokens', limit: policy.monthlyTokens, scale: 1, used: billedTokens(thisMonth) + liveTokens },
  ];
  let remainingSeconds: number | null = null;
  let remainingTokens: number | null = null;
  for (const { period, unit, limit, scale, used } of checks) {
    if (limit === null) continue;
    const left = limit * scale - used;
    if (left <= 0) return { ok: false, period, unit, limit, used: used / scale };
    if (unit === 'tokens') remainingTokens = Math.min(remainingTokens ?? Infinity, left);
    else remainingSeconds = Math.min(remainingSeconds ?? Infinity, left);
  }
  return { ok: true, remainingSeconds, remainingTokens };
}

const MONTHS = ['January', 'February', 'March', 'April', 'May', 'June', 'July', 'August', 'September', 'October', 'November', 'December'];

function amount(verdict: Extract<QuotaVerdict, { ok: false }>): string {
  const n = verdict.limit;
  return verdict.unit === 'tokens' ? `${n.toLocaleString('en-US')} token${n === 1 ? '' : 's'}` : `${n} spoken minute${n === 1 ? '' : 's'}`;
}

/** What the user reads when a session is cut or refused: which limit ran out, and when it comes back. */
export function quotaMessage(verdict: Extract<QuotaVerdict, { ok: false }>, now: number): string {
  if (verdict.period === 'day') {
    return `You have used your ${amount(verdict)} for today — more becomes available at midnight UTC, or ask your operator to raise your limit.`;
  }
  const next = MONTHS[(new Date(now).getUTCMonth() + 1) % 12]!;
  return `You have used your ${amount(verdict)} for this month — more becomes available on 1 ${next} (UTC), or ask your operator to raise your limit.`;
}
