// Operators script the CLIs (a loop over a family, a cron job beside a hand-run command): eight real CLI
// processes editing one data dir's database at the same moment must all keep their edit, and a damaged
// database (or an old users.json that cannot be imported) must be answered with a sentence, never a stack trace.
import { afterAll, describe, expect, it } from 'vitest';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import Database from 'better-sqlite3';
import { join } from 'node:path';
import { jwtVerify } from 'jose';
import { runCli as runOne } from '../testing/operator-cli.ts';
import { spawnRelayProcess, tempDataDir } from '../testing/start-relay.ts';

const PARALLEL = 8;
/** Eight CLI start-ups at once on a shared two-core machine can take a while; waiting longer changes nothing else. */
const runCli = (tool: 'users' | 'token', dir: string, args: string[]) => runOne(tool, dir, args, {}, { timeoutMs: 80_000 });
const dirs: string[] = [];
function dataDir(): string {
  const dir = tempDataDir('earshot-parallel-cli-');
  dirs.push(dir);
  return dir;
}
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

/** What the database file holds, read with plain SQL rather than the store under test. */
function onDisk(dir: string): { users: Record<string, { id: string }>; tokens: Record<string, { id: string; revokedAt: string | undefined }> } {
  const db = new Database(join(dir, 'earshot.db'), { readonly: true });
  try {
    const users = db.prepare('SELECT id FROM users').all() as Array<{ id: string }>;
    const tokens = db.prepare('SELECT id, revoked_at FROM tokens').all() as Array<{ id: string; revoked_at: string | null }>;
    return {
      users: Object.fromEntries(users.map((u) => [u.id, u])),
      tokens: Object.fromEntries(tokens.map((t) => [t.id, { id: t.id, revokedAt: t.revoked_at ?? undefined }])),
    };
  } finally {
    db.close();
  }
}

const ids = Array.from({ length: PARALLEL }, (_, i) => `member${i}`);

describe(`${PARALLEL} operator CLIs at once on one data dir`, () => {
  it('keeps every user that parallel `users add` runs added', { timeout: 180_000 }, async () => {
    const dir = dataDir();
    const runs = await Promise.all(ids.map((id) => runCli('users', dir, ['add', id, '--daily-minutes', '5'])));
    expect(runs.map((r) => r.code)).toEqual(ids.map(() => 0));
    expect(Object.keys(onDisk(dir).users).sort()).toEqual([...ids].sort());
  });

  it('keeps every token that parallel `token create` runs issued', { timeout: 180_000 }, async () => {
    const dir = dataDir();
    const runs = await Promise.all(ids.map((id) => runCli('token', dir, ['create', '--user', id, '--json'])));
    expect(runs.map((r) => r.code)).toEqual(ids.map(() => 0));
    const printed = runs.map((r) => JSON.parse(r.stdout) as { tokenId: string; token: string });
    expect(Object.keys(onDisk(dir).tokens).sort()).toEqual(printed.map((p) => p.tokenId).sort());
    // They raced to create the signing secret on this fresh data dir: every token must verify against the one on disk.
    const secret = Buffer.from(readFileSync(join(dir, 'secret.key'), 'utf8').trim(), 'base64url');
    for (const p of printed) await expect(jwtVerify(p.token, secret)).resolves.toMatchObject({ payload: { jti: p.tokenId } });
  });

  it('keeps every revocation that parallel `token revoke` runs printed', { timeout: 180_000 }, async () => {
    const dir = dataDir();
    const created = await Promise.all(ids.map((id) => runCli('token', dir, ['create', '--user', id, '--json'])));
    const tokenIds = created.map((r) => (JSON.parse(r.stdout) as { tokenId: string }).tokenId);
    const runs = await Promise.all(tokenIds.map((t) => runCli('token', dir, ['revoke', t])));
    expect(runs.map((r) => r.code)).toEqual(ids.map(() => 0));
    const tokens = onDisk(dir).tokens;
    expect(tokenIds.filter((t) => tokens[t]?.revokedAt === undefined)).toEqual([]);
  });

  it('is not held up by a CLI killed in the middle of a write: SQLite drops a dead process\'s transaction', { timeout: 60_000 }, async () => {
    const dir = dataDir();
    expect((await runCli('users', dir, ['add', 'before'])).code).toBe(0);
    // What `kill -9` mid-edit leaves: a transaction that never commits (its journal frames are never valid).
    const { spawnSync } = await import('node:child_process');
    const killed = spawnSync(process.execPath, ['-e', `const D=require('better-sqlite3');const d=new D(${JSON.stringify(join(dir, 'earshot.db'))});d.exec('BEGIN IMMEDIATE');d.prepare("INSERT INTO users (id, created_at) VALUES ('ghost', 'x')").run();process.kill(process.pid,'SIGKILL')`], { cwd: process.cwd() });
    expect(killed.signal).toBe('SIGKILL');
    const r = await runCli('users', dir, ['add', 'after-crash']);
    expect([r.code, r.stderr]).toEqual([0, '']);
    expect(Object.keys(onDisk(dir).users).sort()).toEqual(['after-crash', 'before']);
  });

  it('refuses a second `users add` of the same id even when both run at once', { timeout: 180_000 }, async () => {
    const dir = dataDir();
    const runs = await Promise.all(ids.map(() => runCli('users', dir, ['add', 'twin', '--max-sessions', '1'])));
    expect(runs.filter((r) => r.code === 0)).toHaveLength(1);
    for (const r of runs.filter((x) => x.code !== 0)) expect(r.stderr).toMatch(/^error: user "twin" exists/);
  });
});

describe('a damaged old users.json (met by the migration to SQLite)', () => {
  it('is named in one sentence with what to do, by every CLI, and is left as it was', { timeout: 60_000 }, async () => {
    const dir = dataDir();
    const damaged = '{"version":1,"users":{"alice":{"id":"ali';
    writeFileSync(join(dir, 'users.json'), damaged);
    for (const args of [['users', 'list'], ['users', 'add', 'bob'], ['token', 'create', '--user', 'bob'], ['token', 'list'], ['token', 'revoke', 'bob']] as const) {
      const [tool, ...rest] = args;
      const r = await runCli(tool, dir, [...rest]);
      expect(r.code, args.join(' ')).toBe(1);
      expect(r.stderr, args.join(' ')).toMatch(/^error: .*users\.json is damaged/);
      expect(r.stderr).toMatch(/backup|move it aside/);
      expect(r.stderr).not.toMatch(/\n\s+at |SyntaxError/);
    }
    expect(readFileSync(join(dir, 'users.json'), 'utf8')).toBe(damaged);
  });

  it('stops the relay at startup with the same sentence and exit code 2, not a SyntaxError stack', { timeout: 60_000 }, async () => {
    const dir = dataDir();
    writeFileSync(join(dir, 'users.json'), '{"version":1,"users":');
    const failure = await spawnRelayProcess({ EARSHOT_DATA_DIR: dir }).then(
      (p) => p.stop().then(() => new Error('the relay started on a damaged users.json')),
      (err: unknown) => err as Error,
    );
    expect(failure.message).toMatch(/relay exited with 2 before listening/);
    expect(failure.message).toMatch(/Earshot relay cannot start:\n.*users\.json is damaged .*backup/);
    expect(failure.message).not.toMatch(/SyntaxError|\n\s+at /);
  });
});

describe('a damaged database', () => {
  it('is named in one sentence with what to do, by every CLI, and is left as it was', { timeout: 60_000 }, async () => {
    const dir = dataDir();
    const garbage = 'not an sqlite database '.repeat(200);
    writeFileSync(join(dir, 'earshot.db'), garbage);
    for (const args of [['users', 'list'], ['users', 'add', 'bob'], ['token', 'list']] as const) {
      const [tool, ...rest] = args;
      const r = await runCli(tool, dir, [...rest]);
      expect(r.code, args.join(' ')).toBe(1);
      expect(r.stderr, args.join(' ')).toMatch(/^error: the database .*earshot\.db is damaged .*backup/);
      expect(r.stderr).not.toMatch(/\n\s+at /);
    }
    expect(readFileSync(join(dir, 'earshot.db'), 'utf8')).toBe(garbage);
  });
});
