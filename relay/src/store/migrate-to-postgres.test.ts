// `earshot store migrate --to postgres://…` run as an operator runs it (a child process), on a real SQLite file
// written by the SQLite store, into a real PostgreSQL server; the result is read back with psql, not the store.
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { zeroCounters } from '../accounts/meter.ts';
import { startPostgres, type PostgresServer } from '../testing/postgres-server.ts';
import { REPO_ROOT } from '../testing/start-relay.ts';
import { SqliteStore } from './sqlite-store.ts';

const exec = promisify(execFile);
const T0 = Date.parse('2026-11-14T10:00:00Z');

async function migrate(dataDir: string, to: string): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await exec(process.execPath, ['--import', 'tsx', join(REPO_ROOT, 'relay/src/cli/earshot.ts'), 'store', 'migrate', '--to', to], {
      cwd: REPO_ROOT,
      env: { PATH: process.env.PATH ?? '', EARSHOT_DATA_DIR: dataDir },
      timeout: 60_000,
    });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    if (typeof e.code !== 'number') throw err;
    return { code: e.code, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}

let server: PostgresServer;
let dataDir: string;
beforeAll(async () => {
  server = await startPostgres();
  dataDir = await mkdtemp(join(tmpdir(), 'earshot-migrate-'));
  // An installation as the SQLite store writes it: users with limits, tokens (one revoked), a month of usage.
  const sqlite = await SqliteStore.open(dataDir);
  await sqlite.addUser({ id: 'alice', maxSessions: 1, dailyMinutes: 30, voice: 'cedar', instructions: 'Be brief.' });
  await sqlite.addUser({ id: 'bob', enabled: false, monthlyTokens: 5000 });
  for (let i = 0; i < 3; i++) await sqlite.addToken({ id: `tok${i}`, userId: i === 2 ? 'bob' : 'alice', createdAt: new Date(T0 + i).toISOString(), expiresAt: 1_900_000_000 + i });
  await sqlite.revoke('tok1', new Date(T0 + 10_000));
  const records = Array.from({ length: 2_500 }, (_, i) => ({
    at: T0 + i * 3_600_000, // spread over ~100 days
    userId: i % 3 === 0 ? 'bob' : 'alice',
    sessionId: `s${Math.floor(i / 10)}`,
    first: i % 10 === 0,
    end: i % 10 === 9,
    counters: { ...zeroCounters(), connectedMs: 500, inputAudioBytes: 24_000 + i, outputAudioBytes: 48_000, textOutputTokens: i % 7, audioOutputTokens: 3 },
  }));
  for (let i = 0; i < records.length; i += 500) await sqlite.appendUsage(records.slice(i, i + 500));
  await sqlite.close();
});
afterAll(async () => {
  await server.stop();
  await rm(dataDir, { recursive: true, force: true });
});

describe('earshot store migrate --to postgres://…', () => {
  it('copies users, tokens and every usage record into an empty database, and the counts and totals agree', { timeout: 120_000 }, async () => {
    const url = await server.createDatabase();
    const run = await migrate(dataDir, url);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/3 tokens \(1 revoked\), 2500 usage records/);
    const q = (sql: string) => server.psql(url, sql);
    expect(await q("SELECT string_agg(id || ':' || enabled || ':' || max_sessions || ':' || coalesce(daily_minutes::text, '-') || ':' || coalesce(voice, '-'), ',' ORDER BY id) FROM users")).toBe('alice:true:1:30:cedar,bob:false:2:-:-');
    expect(await q("SELECT to_char(revoked_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS') FROM tokens WHERE revoked_at IS NOT NULL")).toBe('2026-11-14T10:00:10');
    expect(await q('SELECT count(*) FROM usage_records')).toBe('2500');
    // Input bytes: sum over i of (24000 + i), i < 2500.
    expect(await q('SELECT sum(input_audio_bytes) FROM usage_records')).toBe(String(2500 * 24_000 + (2499 * 2500) / 2));
    expect(await q('SELECT sum(input_audio_bytes) FROM usage_daily')).toBe(String(2500 * 24_000 + (2499 * 2500) / 2));
    expect(await q('SELECT sum(sessions) FROM usage_daily')).toBe('250');
    // A new record after the copy gets an id past the copied ones.
    expect(await q("INSERT INTO usage_records (at_ms, day, user_id, session_id) VALUES (0, '2026-11-14', 'alice', 'x') RETURNING id > 2500")).toBe('t');
  });

  it('refuses a database that already holds users, with a sentence, and copies nothing more', { timeout: 120_000 }, async () => {
    const url = await server.createDatabase();
    expect((await migrate(dataDir, url)).code).toBe(0);
    const again = await migrate(dataDir, url);
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/already holds users, tokens or usage; nothing was copied/);
    expect(again.stderr).not.toMatch(/\n\s+at /); // a sentence, not a stack
    expect(await server.psql(url, 'SELECT count(*) FROM usage_records')).toBe('2500');
  });

  it('says which URL cannot be reached, without its password', { timeout: 120_000 }, async () => {
    const run = await migrate(dataDir, `postgres://earshot:s3cret@127.0.0.1:${server.port + 1}/nowhere`);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/cannot be reached/);
    expect(run.stderr).not.toMatch(/s3cret/);
  });
});
