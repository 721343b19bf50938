// Usage report for the operator: per-user sums over a date range, read from every month's log file.
// Used by `npm run usage` (../cli/usage.ts); read-only, so safe while the relay is writing.
import { addCounters, audioSeconds, billedTokens, spokenSeconds, zeroCounters, type UsageCounters } from './meter.ts';
import { countersFromRecord, listMonths, readMonth } from './usage-log.ts';

export class ReportError extends Error {
  override readonly name = 'ReportError';
}

export interface UsageRow {
  user: string;
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

export interface UsageReport {
  since: string | null;
  until: string | null;
  users: UsageRow[];
  /** Lines skipped because they failed their checksum, and bytes of torn tails (crash mid-write). */
  skipped: { corruptLines: number; tornBytes: number };
}

const DAY = /^\d{4}-\d{2}-\d{2}$/;

function dayStart(value: string, flag: string): number {
  const ms = DAY.test(value) ? Date.parse(`${value}T00:00:00Z`) : NaN;
  if (Number.isNaN(ms)) throw new ReportError(`${flag} must be a UTC date like 2026-11-01, not "${value}"`);
  return ms;
}

const round3 = (n: number): number => Math.round(n * 1000) / 1000;

export function buildReport(dir: string, filter: { user?: string; since?: string; until?: string }): UsageReport {
  const from = filter.since ? dayStart(filter.since, '--since') : -Infinity;
  // --until is inclusive: the whole of that UTC day.
  const to = filter.until ? dayStart(filter.until, '--until') + 86_400_000 : Infinity;
  const byUser = new Map<string, { counters: UsageCounters; sessions: Set<string> }>();
  const skipped = { corruptLines: 0, tornBytes: 0 };
  for (const month of listMonths(dir)) {
    if (filter.since && month < filter.since.slice(0, 7)) continue;
    if (filter.until && month > filter.until.slice(0, 7)) continue;
    const parsed = readMonth(dir, month);
    skipped.corruptLines += parsed.corruptLines;
    skipped.tornBytes += parsed.tornBytes;
    for (const r of parsed.records) {
      if (r.t < from || r.t >= to || (filter.user !== undefined && r.u !== filter.user)) continue;
      let entry = byUser.get(r.u);
      if (!entry) byUser.set(r.u, (entry = { counters: zeroCounters(), sessions: new Set() }));
      addCounters(entry.counters, countersFromRecord(r));
      entry.sessions.add(r.s);
    }
  }
  const users = [...byUser.entries()]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([user, { counters: c, sessions }]) => ({
      user,
      sessions: sessions.size,
      connectedSeconds: round3(c.connectedMs / 1000),
      inputAudioSeconds: round3(audioSeconds(c.inputAudioBytes)),
      outputAudioSeconds: round3(audioSeconds(c.outputAudioBytes)),
      spokenMinutes: round3(spokenSeconds(c) / 60),
      tokens: billedTokens(c),
      textTokensIn: c.textInputTokens,
      textTokensOut: c.textOutputTokens,
      audioTokensIn: c.audioInputTokens,
      audioTokensOut: c.audioOutputTokens,
    }));
  return { since: filter.since ?? null, until: filter.until ?? null, users, skipped };
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
  if (report.skipped.corruptLines > 0 || report.skipped.tornBytes > 0) {
    out.push(`(skipped ${report.skipped.corruptLines} damaged line(s) and ${report.skipped.tornBytes} byte(s) of a torn last write)`);
  }
  return out.join('\n');
}
