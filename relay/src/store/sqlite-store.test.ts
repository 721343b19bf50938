// The SQLite store on real files in a temp dir: the shared conformance suite, then what only SQLite has
// (the file's mode, WAL, schema versioning, the online backup).
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { storeConformance } from './store.conformance.ts';
import { SqliteStore, sqlitePath } from './sqlite-store.ts';
import { SQLITE_MIGRATIONS } from './sqlite-schema.ts';
import { StoreError } from './store.ts';

storeConformance('SqliteStore', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'earshot-sqlite-'));
  return {
    open: () => SqliteStore.open(dir),
    cleanup: () => rm(dir, { recursive: true, force: true }),
  };
});

// The relay's configuration: usage and lease writes on the writer thread, with its own connection.
storeConformance('SqliteStore (writer thread)', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'earshot-sqlite-'));
  return {
    open: () => SqliteStore.open(dir, { writer: 'worker' }),
    cleanup: () => rm(dir, { recursive: true, force: true }),
  };
});

describe('SqliteStore file', () => {
  const dirs: string[] = [];
  const tempDir = async (): Promise<string> => {
    const dir = await mkdtemp(join(tmpdir(), 'earshot-sqlite-'));
    dirs.push(dir);
    return dir;
  };
  afterEach(async () => {
    for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
  });

  it('creates earshot.db readable by its owner only, in WAL mode', async () => {
    const dir = await tempDir();
    const store = await SqliteStore.open(dir);
    await store.addUser({ id: 'alice' });
    await store.close();
    expect((await stat(sqlitePath(dir))).mode & 0o777).toBe(0o600);
    const db = new Database(sqlitePath(dir), { readonly: true });
    expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
    db.close();
  });

  it('migrates a schema-1 file to schema 2 on open, keeping its rows (a live lease keeps its place in the seat order)', async () => {
    const dir = await tempDir();
    const db = new Database(sqlitePath(dir));
    db.exec(SQLITE_MIGRATIONS.find((m) => m.version === 1)!.sql);
    db.pragma('user_version = 1');
    db.prepare("INSERT INTO users (id, created_at) VALUES ('alice', '2026-11-14T10:00:00.000Z')").run();
    db.prepare("INSERT INTO leases (session_id, user_id, relay_id, expires_at_ms) VALUES ('old', 'alice', 'relay-a', 2000000000000)").run();
    db.close();
    const store = await SqliteStore.open(dir);
    expect((await store.getUser('alice'))?.id).toBe('alice');
    await store.acquireLease({ sessionId: 'new', userId: 'alice', relayId: 'relay-a', maxSessions: 5, ttlMs: 10_000, now: 1_900_000_000_000 });
    expect((await store.seatOrder('alice', 1_900_000_000_000)).map((s) => s.sessionId)).toEqual(['old', 'new']);
    await store.close();
    const check = new Database(sqlitePath(dir), { readonly: true });
    expect(check.pragma('user_version', { simple: true })).toBe(2);
    check.close();
  });

  it('refuses a database written by a newer schema, with a sentence, and leaves it alone', async () => {
    const dir = await tempDir();
    const db = new Database(sqlitePath(dir));
    db.pragma('user_version = 99');
    db.close();
    const err = await SqliteStore.open(dir).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StoreError);
    expect((err as StoreError).reason).toBe('unknown_format');
    expect((err as StoreError).message).toMatch(/newer Earshot/);
  });

  it('refuses a file that is not a database (damaged)', async () => {
    const dir = await tempDir();
    const { writeFile } = await import('node:fs/promises');
    await writeFile(sqlitePath(dir), 'this is not sqlite '.repeat(100));
    const err = await SqliteStore.open(dir).catch((e: unknown) => e);
    expect((err as StoreError).reason).toBe('damaged');
  });

  it('a write that finds another process holding the lock past busy_timeout fails `unavailable`, and succeeds once it is free', async () => {
    const dir = await tempDir();
    const store = await SqliteStore.open(dir, { busyTimeoutMs: 50 });
    const holder = new Database(sqlitePath(dir));
    holder.exec('BEGIN IMMEDIATE');
    const err = await store.addUser({ id: 'alice' }).catch((e: unknown) => e);
    expect((err as StoreError).reason).toBe('unavailable');
    holder.exec('ROLLBACK');
    holder.close();
    await store.addUser({ id: 'alice' });
    expect((await store.getUser('alice'))?.id).toBe('alice');
    await store.close();
  });

  it('backs up a live database with the online backup API into a file another store opens', async () => {
    const dir = await tempDir();
    const store = await SqliteStore.open(dir);
    await store.addToken({ id: 't1', userId: 'alice', createdAt: new Date().toISOString(), expiresAt: 1_900_000_000 });
    const copy = join(dir, 'copy.db');
    await store.backupTo(copy);
    await store.revoke('t1');
    const restored = await SqliteStore.openFile(copy, { readonly: true });
    expect((await restored.getToken('t1'))?.revokedAt).toBeUndefined();
    expect(restored.integrityCheck()).toBe('ok');
    await restored.close();
    await store.close();
  });
});
