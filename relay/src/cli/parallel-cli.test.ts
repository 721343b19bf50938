// Operators script the CLIs (a loop over a family, a cron job beside a hand-run command): eight real CLI
// processes editing one data dir at the same moment must all keep their edit, and a damaged users.json must
// be answered with a sentence, never a stack trace.
import { afterAll, describe, expect, it } from 'vitest';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { TokenRecord, UserRecord } from '../auth/store.ts';
import { runCli } from '../testing/operator-cli.ts';
import { spawnRelayProcess, tempDataDir } from '../testing/start-relay.ts';

const PARALLEL = 8;
const dirs: string[] = [];
function dataDir(): string {
  const dir = tempDataDir('earshot-parallel-cli-');
  dirs.push(dir);
  return dir;
}
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

/** users.json as the file on disk says, read with JSON.parse rather than the store under test. */
function onDisk(dir: string): { users: Record<string, UserRecord>; tokens: Record<string, TokenRecord> } {
  return JSON.parse(readFileSync(join(dir, 'users.json'), 'utf8')) as { users: Record<string, UserRecord>; tokens: Record<string, TokenRecord> };
}

const ids = Array.from({ length: PARALLEL }, (_, i) => `member${i}`);

describe(`${PARALLEL} operator CLIs at once on one data dir`, () => {
  it('keeps every user that parallel `users add` runs added', { timeout: 90_000 }, async () => {
    const dir = dataDir();
    const runs = await Promise.all(ids.map((id) => runCli('users', dir, ['add', id, '--daily-minutes', '5'])));
    expect(runs.map((r) => r.code)).toEqual(ids.map(() => 0));
    expect(Object.keys(onDisk(dir).users).sort()).toEqual([...ids].sort());
  });

  it('keeps every token that parallel `token create` runs issued', { timeout: 90_000 }, async () => {
    const dir = dataDir();
    const runs = await Promise.all(ids.map((id) => runCli('token', dir, ['create', '--user', id, '--json'])));
    expect(runs.map((r) => r.code)).toEqual(ids.map(() => 0));
    const printed = runs.map((r) => (JSON.parse(r.stdout) as { tokenId: string }).tokenId).sort();
    expect(Object.keys(onDisk(dir).tokens).sort()).toEqual(printed);
  });

  it('keeps every revocation that parallel `token revoke` runs printed', { timeout: 90_000 }, async () => {
    const dir = dataDir();
    const created = await Promise.all(ids.map((id) => runCli('token', dir, ['create', '--user', id, '--json'])));
    const tokenIds = created.map((r) => (JSON.parse(r.stdout) as { tokenId: string }).tokenId);
    const runs = await Promise.all(tokenIds.map((t) => runCli('token', dir, ['revoke', t])));
    expect(runs.map((r) => r.code)).toEqual(ids.map(() => 0));
    const tokens = onDisk(dir).tokens;
    expect(tokenIds.filter((t) => tokens[t]?.revokedAt === undefined)).toEqual([]);
  });

  it('refuses a second `users add` of the same id even when both run at once', { timeout: 90_000 }, async () => {
    const dir = dataDir();
    const runs = await Promise.all(ids.map(() => runCli('users', dir, ['add', 'twin', '--max-sessions', '1'])));
    expect(runs.filter((r) => r.code === 0)).toHaveLength(1);
    for (const r of runs.filter((x) => x.code !== 0)) expect(r.stderr).toMatch(/^error: user "twin" exists/);
  });
});

describe('a damaged users.json', () => {
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
