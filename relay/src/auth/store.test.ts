import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { UserStore } from './store.ts';
import { loadOrCreateSecret } from './secret.ts';
import { REPO_ROOT, tempDataDir } from '../testing/start-relay.ts';

describe('UserStore', () => {
  it('persists users, tokens and revocations across reopen', async () => {
    const dir = tempDataDir();
    const a = await UserStore.open(dir);
    a.upsertUser({ id: 'alice', dailyMinutes: 30 });
    a.addToken({ id: 't1', userId: 'alice', createdAt: new Date().toISOString(), expiresAt: 9e9 });
    a.addToken({ id: 't2', userId: 'alice', createdAt: new Date().toISOString(), expiresAt: 9e9 });
    expect(a.revoke('t1')).toEqual(['t1']);
    const b = await UserStore.open(dir);
    expect(b.getUser('alice')).toMatchObject({ dailyMinutes: 30, enabled: true, maxSessions: 2 });
    expect(b.isTokenRevoked('t1')).toBe(true);
    expect(b.isTokenRevoked('t2')).toBe(false);
    expect(JSON.parse(readFileSync(join(dir, 'users.json'), 'utf8')).version).toBe(1);
    expect(statSync(join(dir, 'users.json')).mode & 0o777).toBe(0o600);
  });

  it('notices a revocation made by another process (the CLI)', async () => {
    const dir = tempDataDir();
    const store = await UserStore.open(dir);
    store.addToken({ id: 'tok', userId: 'bob', createdAt: new Date().toISOString(), expiresAt: 9e9 });
    const seen = new Promise<string[]>((resolve) => store.watch((c) => resolve(c.revokedTokenIds), 50));
    execFileSync(process.execPath, ['--import', 'tsx', join(REPO_ROOT, 'relay/src/cli/token.ts'), 'revoke', 'bob'], { cwd: REPO_ROOT, env: { ...process.env, EARSHOT_DATA_DIR: dir } });
    expect(await seen).toEqual(['tok']);
    store.close();
  });

  it('rejects invalid user ids', async () => {
    const store = await UserStore.open(tempDataDir());
    expect(() => store.upsertUser({ id: '../etc' })).toThrow(/invalid user id/);
  });

  it('gives eight racing first starts one complete secret (none reads it half-written)', async () => {
    const dir = tempDataDir();
    const secrets = await Promise.all(Array.from({ length: 8 }, () => loadOrCreateSecret(dir)));
    for (const s of secrets) expect(Buffer.from(s).equals(Buffer.from(secrets[0]!))).toBe(true);
    expect(secrets[0]!.length).toBe(32);
    expect(readdirSync(dir)).toEqual(['secret.key']); // no temp files left behind
  });

  it('creates the signing secret once, owner-only', async () => {
    const dir = tempDataDir();
    const s1 = await loadOrCreateSecret(dir);
    const s2 = await loadOrCreateSecret(dir);
    expect(Buffer.from(s1).equals(Buffer.from(s2))).toBe(true);
    expect(s1.length).toBe(32);
    expect(statSync(join(dir, 'secret.key')).mode & 0o777).toBe(0o600);
  });
});
