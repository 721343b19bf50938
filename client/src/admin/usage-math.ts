// The Usage page's sums, cost estimate and CSV, as plain functions (tested without a DOM).
import type { Prices, UsageDay } from '../../../protocol/admin-api.ts';

export interface PersonTotal {
  user: string;
  sessions: number;
  spokenMinutes: number;
  tokens: number;
  cost: number;
}

export function estimatedCost(minutes: number, tokens: number, prices: Prices): number {
  return minutes * prices.perMinute + (tokens / 1_000_000) * prices.perMillionTokens;
}

/** Per person over the rows given, with each one's estimated cost; sorted by cost, highest first. */
export function totalsByPerson(days: readonly UsageDay[], prices: Prices): PersonTotal[] {
  const by = new Map<string, PersonTotal>();
  for (const d of days) {
    const t = by.get(d.user) ?? { user: d.user, sessions: 0, spokenMinutes: 0, tokens: 0, cost: 0 };
    t.sessions += d.sessions;
    t.spokenMinutes += d.spokenMinutes;
    t.tokens += d.tokens;
    by.set(d.user, t);
  }
  return [...by.values()].map((t) => ({ ...t, cost: estimatedCost(t.spokenMinutes, t.tokens, prices) })).sort((a, b) => b.cost - a.cost || a.user.localeCompare(b.user));
}

/** Every UTC day from `since` to `until` inclusive (the charts' x axis, so a quiet day shows as zero). */
export function dayRange(since: string, until: string): string[] {
  const out: string[] = [];
  const end = Date.parse(`${until}T00:00:00Z`);
  for (let t = Date.parse(`${since}T00:00:00Z`); t <= end && out.length < 400; t += 86_400_000) out.push(new Date(t).toISOString().slice(0, 10));
  return out;
}

/** uPlot's columns: x (epoch seconds per day), then one series per person. */
export function chartColumns(days: readonly UsageDay[], range: readonly string[], users: readonly string[], value: 'spokenMinutes' | 'tokens'): number[][] {
  const index = new Map(range.map((d, i) => [d, i]));
  const x = range.map((d) => Date.parse(`${d}T00:00:00Z`) / 1000);
  const series = users.map(() => range.map(() => 0));
  for (const d of days) {
    const i = index.get(d.day);
    const u = users.indexOf(d.user);
    const row = series[u];
    if (i !== undefined && row) row[i] = (row[i] ?? 0) + d[value];
  }
  return [x, ...series];
}

const cell = (v: string | number): string => {
  const s = String(v);
  return /[",\n\r]/.test(s) || /^[=+\-@]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
};

/** RFC 4180 CSV; a cell starting with = + - @ is quoted so a spreadsheet does not run it as a formula. */
export function usageCsv(days: readonly UsageDay[], prices: Prices): string {
  const head = ['day', 'person', 'sessions', 'spoken_minutes', 'tokens', `estimated_cost_${prices.currency}`];
  const rows = days.map((d) => [d.day, d.user, d.sessions, d.spokenMinutes.toFixed(3), d.tokens, estimatedCost(d.spokenMinutes, d.tokens, prices).toFixed(4)]);
  return [head, ...rows].map((r) => r.map(cell).join(',')).join('\r\n') + '\r\n';
}
