// Rows as both Store implementations read them (sqlite-store.ts, postgres-store.ts) and the records they
// become: one mapper per table, so a column added or renamed is mapped once. The two drivers differ only in
// types — SQLite hands back INTEGER 0/1 for booleans and the ISO text it was given for times; postgres.js
// hands back booleans and Dates for timestamptz — and the row types say so with unions.
import { zeroCounters } from '../accounts/meter.ts';
import { StoreError, type PeriodUsage, type StoreChange, type TokenRecord, type UserRecord } from './store.ts';

/** A time column: ISO 8601 text (SQLite) or a Date (PostgreSQL timestamptz). */
type TimeColumn = string | Date;

export interface UserRow {
  id: string;
  enabled: boolean | number;
  max_sessions: number;
  daily_minutes: number | null;
  monthly_minutes: number | null;
  daily_tokens: number | null;
  monthly_tokens: number | null;
  voice: string | null;
  instructions: string | null;
  created_at: TimeColumn;
}

export interface TokenRow {
  id: string;
  user_id: string;
  created_at: TimeColumn;
  expires_at: number;
  revoked_at: TimeColumn | null;
}

export interface CounterRow {
  sessions: number;
  connected_ms: number;
  input_audio_bytes: number;
  output_audio_bytes: number;
  text_input_tokens: number;
  text_output_tokens: number;
  audio_input_tokens: number;
  audio_output_tokens: number;
}

export interface ChangeRow {
  id: number;
  kind: StoreChange['kind'];
  user_id: string;
  token_id: string | null;
}

/** The usage counter columns of `usage_records` and `usage_daily`, in schema order. */
export const COUNTER_COLUMNS = ['connected_ms', 'input_audio_bytes', 'output_audio_bytes', 'text_input_tokens', 'text_output_tokens', 'audio_input_tokens', 'audio_output_tokens'] as const;

/** `SUM(…) AS …` of `sessions` and every counter, each wrapped by `wrap` (PostgreSQL casts numeric back to bigint). */
export function sumCounters(wrap: (sum: string) => string = (s) => s): string {
  return ['sessions', ...COUNTER_COLUMNS].map((c) => `${wrap(`SUM(${c})`)} AS ${c}`).join(', ');
}

const iso = (t: TimeColumn): string => (typeof t === 'string' ? t : t.toISOString());

export function userFromRow(r: UserRow): UserRecord {
  return {
    id: r.id,
    enabled: r.enabled === true || r.enabled === 1,
    maxSessions: r.max_sessions,
    dailyMinutes: r.daily_minutes,
    monthlyMinutes: r.monthly_minutes,
    dailyTokens: r.daily_tokens,
    monthlyTokens: r.monthly_tokens,
    ...(r.voice !== null ? { voice: r.voice } : {}),
    ...(r.instructions !== null ? { instructions: r.instructions } : {}),
    createdAt: iso(r.created_at),
  };
}

export function tokenFromRow(r: TokenRow): TokenRecord {
  return { id: r.id, userId: r.user_id, createdAt: iso(r.created_at), expiresAt: r.expires_at, ...(r.revoked_at !== null ? { revokedAt: iso(r.revoked_at) } : {}) };
}

/** A period's sums; zeros for no row (or an aggregate over no rows, whose sums are NULL). */
export function periodFromRow(r: CounterRow | undefined): PeriodUsage {
  if (!r || r.sessions === null) return { ...zeroCounters(), sessions: 0 };
  return {
    sessions: r.sessions,
    connectedMs: r.connected_ms,
    inputAudioBytes: r.input_audio_bytes,
    outputAudioBytes: r.output_audio_bytes,
    textInputTokens: r.text_input_tokens,
    textOutputTokens: r.text_output_tokens,
    audioInputTokens: r.audio_input_tokens,
    audioOutputTokens: r.audio_output_tokens,
  };
}

export function changeFromRow(r: ChangeRow): StoreChange {
  switch (r.kind) {
    case 'user_changed':
    case 'user_removed':
      return { id: r.id, kind: r.kind, userId: r.user_id };
    case 'token_added':
    case 'token_revoked':
    case 'token_removed':
      return { id: r.id, kind: r.kind, userId: r.user_id, tokenId: r.token_id ?? '' };
    default: {
      const never: never = r.kind;
      throw new StoreError('unknown_format', `unknown change kind "${String(never)}" in the changes table`);
    }
  }
}
