// Data schema 1 → 2: imports a data dir written before the SQLite store — `users.json` (users, tokens,
// revocations) and `usage/usage-YYYY-MM.jsonl` (one JSON line per session delta, each followed by a tab and its
// CRC-32) — into `earshot.db`, verifies the import, and moves the old files aside into
// `<dataDir>/schema1-before-sqlite/` (kept, never deleted: the operator removes them once satisfied).
//
// Runs from openDataDir() (data-dir/schema.ts) on the first start (relay or any CLI) after the upgrade,
// synchronously and before anything else touches the dir. One transaction: the users, tokens and every usage
// record go in, then the counts and the totals (spoken minutes and tokens per user) are read back from the
// database and compared with the files' before COMMIT — a mismatch rolls everything back and nothing is moved.
// A crash anywhere leaves either the old dir untouched or a committed database; a rerun after a commit finds
// the imported rows and only finishes moving the files. The checkpoints of the old log are not imported: the
// log lines are the source of truth.
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import type Database from 'better-sqlite3';
import { billedTokens, spokenSeconds, zeroCounters, type UsageCounters } from '../accounts/meter.ts';
import { insertUsage, openSqliteDatabase, sqlitePath } from './sqlite-store.ts';
import { StoreError, type TokenRecord, type UsageRecord, type UserRecord } from './store.ts';

export const LEGACY_USERS_FILE = 'users.json';
export const LEGACY_USAGE_DIR = 'usage';
export const ASIDE_DIR = 'schema1-before-sqlite';

const LOG_NAME = /^usage-\d{4}-\d{2}\.jsonl$/;

export interface MigrationReport {
  users: number;
  tokens: number;
  revokedTokens: number;
  usageRecords: number;
  sessions: number;
  spokenMinutes: number;
  tokensBilled: number;
  /** Lines that failed their checksum, and bytes of a torn last line (a crash mid-write): not imported, as the old readers ignored them too. */
  skippedLines: number;
  tornBytes: number;
  /** Where users.json and usage/ now are. */
  movedTo: string;
}

/** True when `dataDir` holds schema-1 files still to import. */
export function hasSchema1Files(dataDir: string): boolean {
  return existsSync(join(dataDir, LEGACY_USERS_FILE)) || existsSync(join(dataDir, LEGACY_USAGE_DIR));
}

// CRC-32 (IEEE), as the old log writer computed it (zlib.crc32 needs Node >= 20.15).
const CRC_TABLE = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

function crc32(text: string): number {
  let crc = 0xffffffff;
  const bytes = Buffer.from(text, 'utf8');
  for (let i = 0; i < bytes.length; i++) crc = CRC_TABLE[(crc ^ bytes[i]!) & 0xff]! ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}

const NUMERIC = ['t', 'c', 'ib', 'ob', 'ti', 'to', 'ai', 'ao'] as const;
type LegacyLine = Record<(typeof NUMERIC)[number], number> & { u: string; s: string; f?: 1; e?: 1 };

/** One old log line (without its newline) as a record, or null when torn, corrupt or not ours. */
function decodeLine(line: string): UsageRecord | null {
  const tab = line.lastIndexOf('\t');
  if (tab === -1 || line.length - tab !== 9) return null;
  const json = line.slice(0, tab);
  if (crc32(json) !== Number.parseInt(line.slice(tab + 1), 16)) return null;
  let r: LegacyLine;
  try {
    r = JSON.parse(json) as LegacyLine;
  } catch {
    return null;
  }
  if (typeof r !== 'object' || r === null || typeof r.u !== 'string' || typeof r.s !== 'string') return null;
  for (const key of NUMERIC) if (typeof r[key] !== 'number' || !Number.isFinite(r[key])) return null;
  const counters: UsageCounters = { connectedMs: r.c, inputAudioBytes: r.ib, outputAudioBytes: r.ob, textInputTokens: r.ti, textOutputTokens: r.to, audioInputTokens: r.ai, audioOutputTokens: r.ao };
  return { at: r.t, userId: r.u, sessionId: r.s, first: r.f === 1, end: r.e === 1, counters };
}

function readLogs(dir: string): { records: UsageRecord[]; skippedLines: number; tornBytes: number } {
  const out = { records: [] as UsageRecord[], skippedLines: 0, tornBytes: 0 };
  if (!existsSync(dir)) return out;
  for (const name of readdirSync(dir).filter((n) => LOG_NAME.test(n)).sort()) {
    const bytes = readFileSync(join(dir, name));
    const valid = bytes.lastIndexOf(0x0a) + 1;
    out.tornBytes += bytes.length - valid;
    for (const line of bytes.toString('utf8', 0, valid).split('\n')) {
      if (line.length === 0) continue;
      const record = decodeLine(line);
      if (record) out.records.push(record);
      else out.skippedLines++;
    }
  }
  return out;
}

interface LegacyFile {
  version: 1;
  users: Record<string, UserRecord>;
  tokens: Record<string, TokenRecord>;
}

function readUsersFile(path: string): LegacyFile {
  if (!existsSync(path)) return { version: 1, users: {}, tokens: {} };
  let parsed: LegacyFile;
  try {
    parsed = JSON.parse(readFileSync(path, 'utf8')) as LegacyFile;
  } catch (err) {
    throw new StoreError('damaged', `${path} is damaged and cannot be imported into the database (${(err as Error).message}); nothing was changed. Restore it from your backup, or move it aside to start with no users.`, { cause: err });
  }
  if (typeof parsed !== 'object' || parsed === null || parsed.version !== 1 || typeof parsed.users !== 'object' || parsed.users === null || typeof parsed.tokens !== 'object' || parsed.tokens === null) {
    throw new StoreError('unknown_format', `${path} is not an Earshot users file of version 1; nothing was changed.`);
  }
  return parsed;
}

const round3 = (n: number): number => Math.round(n * 1000) / 1000;

function sumsOf(records: readonly UsageRecord[]): { spokenMinutes: number; tokensBilled: number; sessions: number } {
  const c = zeroCounters();
  let sessions = 0;
  for (const r of records) {
    for (const key of Object.keys(c) as Array<keyof UsageCounters>) c[key] += r.counters[key];
    if (r.first) sessions++;
  }
  return { spokenMinutes: round3(spokenSeconds(c) / 60), tokensBilled: billedTokens(c), sessions };
}

function sumsInDb(db: Database.Database): { users: number; tokens: number; revokedTokens: number; usageRecords: number; spokenMinutes: number; tokensBilled: number; sessions: number } {
  const n = (sql: string): number => (db.prepare(sql).get() as { n: number | null }).n ?? 0;
  const inputAudioBytes = n('SELECT SUM(input_audio_bytes) AS n FROM usage_daily');
  const outputAudioBytes = n('SELECT SUM(output_audio_bytes) AS n FROM usage_daily');
  return {
    users: n('SELECT count(*) AS n FROM users'),
    tokens: n('SELECT count(*) AS n FROM tokens'),
    revokedTokens: n('SELECT count(*) AS n FROM tokens WHERE revoked_at IS NOT NULL'),
    usageRecords: n('SELECT count(*) AS n FROM usage_records'),
    spokenMinutes: round3(spokenSeconds({ inputAudioBytes, outputAudioBytes }) / 60),
    tokensBilled: n('SELECT SUM(text_input_tokens + text_output_tokens + audio_input_tokens + audio_output_tokens) AS n FROM usage_daily'),
    sessions: n('SELECT SUM(sessions) AS n FROM usage_daily'),
  };
}

/**
 * Imports, verifies, moves aside; prints what it did on stderr (the relay's stdout is JSON logs and a CLI's
 * may be `--json`). Throws a StoreError, having changed nothing, when the files cannot be read or the import
 * does not verify.
 */
export function migrateSchema1(dataDir: string, print: (line: string) => void = (l) => console.error(l)): MigrationReport {
  const usersPath = join(dataDir, LEGACY_USERS_FILE);
  const usageDir = join(dataDir, LEGACY_USAGE_DIR);
  const legacy = readUsersFile(usersPath);
  const logs = readLogs(usageDir);
  const users = Object.values(legacy.users);
  const tokens = Object.values(legacy.tokens);
  const expected = {
    users: users.length,
    tokens: tokens.length,
    revokedTokens: tokens.filter((t) => t.revokedAt !== undefined).length,
    usageRecords: logs.records.length,
    ...sumsOf(logs.records),
  };

  const db = openSqliteDatabase(sqlitePath(dataDir), { busyTimeoutMs: 30_000 }, dataDir);
  let found: ReturnType<typeof sumsInDb>;
  try {
    found = db
      .transaction(() => {
        const before = sumsInDb(db);
        // A previous run committed and then stopped before moving the files: the import is done; verify it.
        const alreadyImported = before.users > 0 || before.usageRecords > 0;
        if (!alreadyImported) {
          const addUser = db.prepare(
            `INSERT INTO users (id, enabled, max_sessions, daily_minutes, monthly_minutes, daily_tokens, monthly_tokens, voice, instructions, created_at)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
          );
          for (const u of users) {
            addUser.run(u.id, u.enabled === false ? 0 : 1, u.maxSessions ?? 2, u.dailyMinutes ?? null, u.monthlyMinutes ?? null, u.dailyTokens ?? null, u.monthlyTokens ?? null, u.voice ?? null, u.instructions ?? null, u.createdAt ?? new Date().toISOString());
          }
          const addToken = db.prepare('INSERT INTO tokens (id, user_id, created_at, expires_at, revoked_at) VALUES (?, ?, ?, ?, ?)');
          for (const t of tokens) addToken.run(t.id, t.userId, t.createdAt, t.expiresAt, t.revokedAt ?? null);
          insertUsage(db, logs.records);
        }
        const after = sumsInDb(db);
        for (const key of Object.keys(expected) as Array<keyof typeof expected>) {
          if (after[key] !== expected[key]) {
            throw new StoreError('damaged', `importing ${dataDir} into the database did not verify: ${key} is ${after[key]} in the database but ${expected[key]} in the old files; nothing was changed (the old files are where they were).`);
          }
        }
        return after;
      })
      .immediate();
  } finally {
    db.close();
  }

  const aside = join(dataDir, ASIDE_DIR);
  mkdirSync(aside, { recursive: true, mode: 0o700 });
  if (existsSync(usersPath)) renameSync(usersPath, join(aside, LEGACY_USERS_FILE));
  if (existsSync(usageDir)) renameSync(usageDir, join(aside, LEGACY_USAGE_DIR));

  const report: MigrationReport = { ...found, skippedLines: logs.skippedLines, tornBytes: logs.tornBytes, movedTo: aside };
  print(
    `earshot: imported ${dataDir} into ${sqlitePath(dataDir)}: ${report.users} users, ${report.tokens} tokens (${report.revokedTokens} revoked), ` +
      `${report.usageRecords} usage records of ${report.sessions} sessions = ${report.spokenMinutes} spoken minutes and ${report.tokensBilled} tokens — verified against the old files. ` +
      (report.skippedLines > 0 || report.tornBytes > 0 ? `Skipped ${report.skippedLines} damaged line(s) and ${report.tornBytes} byte(s) of a torn last write, as the old reader did. ` : '') +
      `The old files are kept in ${aside}; delete them once you are satisfied.`,
  );
  return report;
}
