// The first start after the upgrade on a real schema-1 data dir: `testdata/schema1-data-dir` was written by the
// old code's own writers (UserStore → users.json, UsageLog → usage/*.jsonl with a torn tail, a checkpoint).
// Expected numbers are worked out by hand from what that fixture's generator wrote, not by the code under test.
import { cpSync, existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { rmSync } from 'node:fs';
import { tempDataDir } from '../testing/start-relay.ts';
import { DATA_SCHEMA_VERSION, openDataDir, readSchemaFile } from '../data-dir/schema.ts';
import { ASIDE_DIR, migrateSchema1 } from './migrate-v1.ts';
import { SqliteStore, sqlitePath } from './sqlite-store.ts';
import { StoreError } from './store.ts';

const FIXTURE = join(import.meta.dirname, 'testdata/schema1-data-dir');
const TORN_TAIL = '{"t":1764669600000,"u":"alice","s":"s-a4","f":1,"c":5';
const dirs: string[] = [];
function oldDataDir(): string {
  const dir = join(tempDataDir('earshot-migrate-'), 'data');
  cpSync(FIXTURE, dir, { recursive: true });
  dirs.push(dir);
  return dir;
}
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(join(d, '..'), { recursive: true, force: true });
});

function files(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => join(e.parentPath, e.name).slice(dir.length + 1))
    .sort();
}

describe('migration of a schema-1 data dir (users.json + usage logs) into SQLite', () => {
  it('imports every user, token, revocation and usage record, prints the verified counts and totals, and moves the old files aside', () => {
    const dir = oldDataDir();
    const printed: string[] = [];
    const report = migrateSchema1(dir, (l) => printed.push(l));
    expect(report).toEqual({
      users: 3,
      tokens: 4,
      revokedTokens: 1,
      usageRecords: 8,
      sessions: 5,
      // (7 320 000 input + 1 728 000 output bytes) / 48 000 B/s = 188.5 s
      spokenMinutes: 3.142,
      tokensBilled: 2310,
      skippedLines: 0,
      tornBytes: TORN_TAIL.length,
      movedTo: join(dir, ASIDE_DIR),
    });
    expect(printed.join('\n')).toMatch(/3 users, 4 tokens \(1 revoked\), 8 usage records of 5 sessions = 3\.142 spoken minutes and 2310 tokens — verified/);
    expect(printed.join('\n')).toContain(`kept in ${join(dir, ASIDE_DIR)}`);
    expect(existsSync(join(dir, 'users.json'))).toBe(false);
    expect(existsSync(join(dir, 'usage'))).toBe(false);
    // Kept byte for byte.
    expect(readFileSync(join(dir, ASIDE_DIR, 'users.json'))).toEqual(readFileSync(join(FIXTURE, 'users.json')));
    expect(files(join(dir, ASIDE_DIR))).toEqual(['usage/checkpoint-2026-11.json', 'usage/usage-2026-10.jsonl', 'usage/usage-2026-11.jsonl', 'users.json']);
  });

  it('the imported database holds the same users, tokens and per-day usage the old files did', async () => {
    const dir = oldDataDir();
    migrateSchema1(dir, () => {});
    const store = await SqliteStore.open(dir);
    try {
      expect(await store.getUser('alice')).toEqual({ id: 'alice', enabled: true, maxSessions: 1, dailyMinutes: 30, monthlyMinutes: 600, dailyTokens: 200000, monthlyTokens: null, voice: 'cedar', instructions: 'Answer in French.', createdAt: '2026-10-02T09:00:00.000Z' });
      expect((await store.getUser('bob'))?.enabled).toBe(false);
      expect((await store.getToken('tok-alice-1'))?.revokedAt).toBe('2026-10-06T00:00:00.000Z');
      expect((await store.getToken('tok-alice-2'))?.revokedAt).toBeUndefined();
      const days = await store.usageByDay({ userId: 'alice' });
      expect(days.map((d) => [d.day, d.sessions, d.inputAudioBytes, d.outputAudioBytes, d.textInputTokens + d.textOutputTokens + d.audioInputTokens + d.audioOutputTokens])).toEqual([
        ['2026-10-10', 1, 1_464_000, 480_000, 420],
        ['2026-10-11', 0, 1_440_000, 0, 70],
        ['2026-10-31', 1, 0, 0, 1000],
        ['2026-11-02', 1, 960_000, 240_000, 180],
      ]);
      const bobNov = (await store.quotaTotals(['bob'], Date.parse('2026-11-20T00:00:00Z'))).get('bob')!;
      expect(bobNov.month).toMatchObject({ sessions: 1, inputAudioBytes: 576_000, outputAudioBytes: 48_000, audioOutputTokens: 40, connectedMs: 12_500 });
    } finally {
      await store.close();
    }
  });

  it('runs once, from openDataDir on the first start, and records schema 2', () => {
    const dir = oldDataDir();
    expect(readSchemaFile(dir)?.schema).toBe(1);
    expect(openDataDir(dir)).toBe(1);
    expect(readSchemaFile(dir)?.schema).toBe(DATA_SCHEMA_VERSION);
    expect(existsSync(sqlitePath(dir))).toBe(true);
    const size = statSync(sqlitePath(dir)).size;
    expect(openDataDir(dir)).toBe(DATA_SCHEMA_VERSION);
    expect(statSync(sqlitePath(dir)).size).toBe(size);
  });

  it('a dir from before versioning (users.json, no schema file) is migrated too', () => {
    const dir = oldDataDir();
    rmSync(join(dir, 'earshot-data.json'));
    expect(openDataDir(dir)).toBeNull();
    expect(readSchemaFile(dir)?.schema).toBe(DATA_SCHEMA_VERSION);
    expect(existsSync(join(dir, ASIDE_DIR, 'users.json'))).toBe(true);
  });

  it('after a crash between COMMIT and moving the files, the rerun finds the import done, verifies it and only moves the files', async () => {
    const dir = oldDataDir();
    const copy = join(dir, '..', 'copy');
    cpSync(dir, copy, { recursive: true });
    migrateSchema1(dir, () => {});
    // Simulate: the database committed, the old files still in place.
    cpSync(join(copy, 'users.json'), join(dir, 'users.json'));
    cpSync(join(copy, 'usage'), join(dir, 'usage'), { recursive: true });
    rmSync(join(dir, ASIDE_DIR), { recursive: true });
    const report = migrateSchema1(dir, () => {});
    expect(report.usageRecords).toBe(8);
    const store = await SqliteStore.open(dir);
    expect(store.counts()).toMatchObject({ users: 3, tokens: 4, usage_records: 8 });
    await store.close();
  });

  it('refuses a damaged users.json with a sentence and changes nothing', () => {
    const dir = oldDataDir();
    writeFileSync(join(dir, 'users.json'), '{"version":1,"users":{');
    const before = files(dir);
    let err: unknown;
    try {
      openDataDir(dir);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(StoreError);
    expect((err as StoreError).message).toMatch(/users\.json is damaged .*nothing was changed/);
    expect(files(dir)).toEqual(before);
    expect(readSchemaFile(dir)?.schema).toBe(1);
  });
});
