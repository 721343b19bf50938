// Usage report for the operator: per-user sums and per-day sums over a date range, read from the store's
// per-day totals (`usage_daily`). Used by `npm run usage` (../cli/usage.ts); read-only, so safe while the
// relay is writing (it sees every batch committed so far).
import type { Store, UsageDay } from '../store/store.ts';
import { addCounters, audioSeconds, billedTokens, spokenSeconds, zeroCounters, type UsageCounters } from './meter.ts';

export class ReportError extends Error {
  override readonly name = 'ReportError';
}

export interface UsageRow {
  user: string;
  /** Sessions that started in the range. */
  sessions: number;
  connectedSeconds: number;
  inputAudioSeconds: number;
  outputAudioSeconds: number;
  /** Input + output audio: one of the two units quotas are written in. */
  spokenMinutes: number;
  /** Text + audio tokens, input + output, as the provider billed them: the other quota unit. */
  tokens: number;
  textTokensIn: number;
  textTokensOut: number;
  audioTokensIn: number;
  audioTokensOut: number;
}

export interface DayRow {
  /** `YYYY-MM-DD` (UTC). */
  day: string;
  /** Users with usage that day. */
  users: number;
  sessions: number;
  spokenMinutes: number;
  tokens: number;
}

export interface UsageReport {
  since: string | null;
  until: string | null;
  /** Per user, summed over the range. */
  users: UsageRow[];
  /** Per UTC day, summed over the users. */
  days: DayRow[];
}

const DAY = /^\d{4}-\d{2}-\d{2}$/;

function dayStart(value: string, flag: string): number {
  const ms = DAY.test(value) ? Date.parse(`${value}T00:00:00Z`) : NaN;
  if (Number.isNaN(ms)) throw new ReportError(`${flag} must be a UTC date like 2026-11-01, not "${value}"`);
  return ms;
}

const round3 = (n: number): number => Math.round(n * 1000) / 1000;

function rowOf(user: string, sessions: number, c: UsageCounters): UsageRow {
  return {
    user,
    sessions,
    connectedSeconds: round3(c.connectedMs / 1000),
    inputAudioSeconds: round3(audioSeconds(c.inputAudioBytes)),
    outputAudioSeconds: round3(audioSeconds(c.outputAudioBytes)),
    spokenMinutes: round3(spokenSeconds(c) / 60),
    tokens: billedTokens(c),
    textTokensIn: c.textInputTokens,
    textTokensOut: c.textOutputTokens,
    audioTokensIn: c.audioInputTokens,
    audioTokensOut: c.audioOutputTokens,
  };
}

export async function buildReport(store: Store, filter: { user?: string; since?: string; until?: string }): Promise<UsageReport> {
  if (filter.since) dayStart(filter.since, '--since');
  if (filter.until) dayStart(filter.until, '--until'); // inclusive: the whole of that UTC day
  const rows: UsageDay[] = await store.usageByDay({
    ...(filter.user !== undefined ? { userId: filter.user } : {}),
    ...(filter.since !== undefined ? { since: filter.since } : {}),
    ...(filter.until !== undefined ? { until: filter.until } : {}),
  });
  const byUser = new Map<string, { counters: UsageCounters; sessions: number }>();
  const byDay = new Map<string, { counters: UsageCounters; sessions: number; users: number }>();
  for (const r of rows) {
    let u = byUser.get(r.userId);
    if (!u) byUser.set(r.userId, (u = { counters: zeroCounters(), sessions: 0 }));
    addCounters(u.counters, r);
    u.sessions += r.sessions;
    let d = byDay.get(r.day);
    if (!d) byDay.set(r.day, (d = { counters: zeroCounters(), sessions: 0, users: 0 }));
    addCounters(d.counters, r);
    d.sessions += r.sessions;
    d.users++;
  }
  const users = [...byUser.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([user, { counters, sessions }]) => rowOf(user, sessions, counters));
  const days = [...byDay.entries()]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([day, { counters, sessions, users: n }]) => ({ day, users: n, sessions, spokenMinutes: round3(spokenSeconds(counters) / 60), tokens: billedTokens(counters) }));
  return { since: filter.since ?? null, until: filter.until ?? null, users, days };
}

export function formatTable(report: UsageReport): string {
  const head = ['USER', 'SESSIONS', 'CONNECTED MIN', 'SPOKEN MIN', 'TOKENS', 'INPUT AUDIO MIN', 'OUTPUT AUDIO MIN', 'TEXT TOK IN', 'TEXT TOK OUT', 'AUDIO TOK IN', 'AUDIO TOK OUT'];
  const row = (r: UsageRow): string[] => [
    r.user,
    String(r.sessions),
    (r.connectedSeconds / 60).toFixed(1),
    r.spokenMinutes.toFixed(1),
    String(r.tokens),
    (r.inputAudioSeconds / 60).toFixed(1),
    (r.outputAudioSeconds / 60).toFixed(1),
    String(r.textTokensIn),
    String(r.textTokensOut),
    String(r.audioTokensIn),
    String(r.audioTokensOut),
  ];
  const rows = report.users.map(row);
  if (report.users.length > 1) {
    const sum = (k: keyof Omit<UsageRow, 'user'>): number => report.users.reduce((a, r) => a + r[k], 0);
    rows.push(
      row({
        user: 'TOTAL',
        sessions: sum('sessions'),
        connectedSeconds: sum('connectedSeconds'),
        inputAudioSeconds: sum('inputAudioSeconds'),
        outputAudioSeconds: sum('outputAudioSeconds'),
        spokenMinutes: sum('spokenMinutes'),
        tokens: sum('tokens'),
        textTokensIn: sum('textTokensIn'),
        textTokensOut: sum('textTokensOut'),
        audioTokensIn: sum('audioTokensIn'),
        audioTokensOut: sum('audioTokensOut'),
      }),
    );
  }
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]): string => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  const out = [line(head), ...rows.map(line)];
  if (report.users.length === 0) out.push('(no usage recorded' + (report.since ? ` since ${report.since}` : '') + ')');
  if (report.days.length > 0) {
    const dayHead = ['DAY', 'USERS', 'SESSIONS', 'SPOKEN MIN', 'TOKENS'];
    const dayRows = report.days.map((d) => [d.day, String(d.users), String(d.sessions), d.spokenMinutes.toFixed(1), String(d.tokens)]);
    const dw = dayHead.map((h, i) => Math.max(h.length, ...dayRows.map((r) => r[i]!.length)));
    const dayLine = (cells: string[]): string => cells.map((c, i) => (i === 0 ? c.padEnd(dw[i]!) : c.padStart(dw[i]!))).join('  ');
    out.push('', dayLine(dayHead), ...dayRows.map(dayLine));
  }
  return out.join('\n');
}
