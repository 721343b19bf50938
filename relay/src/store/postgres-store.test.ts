// The PostgreSQL store on a real server (testing/postgres-server.ts): the shared conformance suite on a fresh
// database per test, then what only PostgreSQL has — schema versioning, the feed over LISTEN/NOTIFY, and an
// unreachable server.
import { afterAll, describe, expect, it } from 'vitest';
import { startPostgres, type PostgresServer } from '../testing/postgres-server.ts';
import { until } from '../testing/until.ts';
import { storeConformance } from './store.conformance.ts';
import { PostgresStore } from './postgres-store.ts';
import { POSTGRES_SCHEMA_VERSION } from './postgres-schema.ts';
import { StoreError, type StoreChange } from './store.ts';

let server: Promise<PostgresServer> | undefined;
const pg = (): Promise<PostgresServer> => (server ??= startPostgres());
// Generous: stopping the server and removing its databases is slow on a loaded machine.
afterAll(async () => {
  await (await server)?.stop();
}, 120_000);

storeConformance('PostgresStore', async () => {
  const url = await (await pg()).createDatabase();
  return {
    open: () => PostgresStore.open(url),
    // The server (and every database in it) goes in afterAll.
    cleanup: async () => {},
  };
});

describe('PostgresStore on a real server', () => {
  it('migrates an empty database once when several processes open it at the same moment', async () => {
    const url = await (await pg()).createDatabase();
    const stores = await Promise.all(Array.from({ length: 4 }, () => PostgresStore.open(url)));
    await stores[0]!.addUser({ id: 'alice' });
    expect((await stores[3]!.getUser('alice'))?.id).toBe('alice');
    for (const s of stores) await s.close();
    expect(await (await pg()).psql(url, 'SELECT version FROM earshot_schema')).toBe(String(POSTGRES_SCHEMA_VERSION));
  });

  it('refuses a database a newer release wrote (unknown_format), and changes nothing', async () => {
    const url = await (await pg()).createDatabase();
    await (await PostgresStore.open(url)).close();
    await (await pg()).psql(url, 'UPDATE earshot_schema SET version = 99');
    const err = await PostgresStore.open(url).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StoreError);
    expect((err as StoreError).reason).toBe('unknown_format');
    expect((err as StoreError).message).toMatch(/newer Earshot/);
    expect(await (await pg()).psql(url, 'SELECT version FROM earshot_schema')).toBe('99');
  });

  it('delivers a change by NOTIFY, not by the fallback poll (poll set to an hour)', async () => {
    const url = await (await pg()).createDatabase();
    const relay = await PostgresStore.open(url, { feedPollMs: 3_600_000 });
    const cli = await PostgresStore.open(url);
    const heard: StoreChange[] = [];
    const unwatch = relay.watch((await relay.snapshot()).changeId, (c) => heard.push(...c));
    // LISTEN is set up asynchronously: a change committed before it is caught up on by onlisten, after it by NOTIFY.
    await cli.addToken({ id: 't1', userId: 'alice', createdAt: new Date().toISOString(), expiresAt: 1_900_000_000 });
    await until('token_added by the feed', () => heard.some((c) => c.kind === 'token_added'), 20_000);
    await cli.revoke('t1');
    await until('token_revoked by NOTIFY', () => heard.some((c) => c.kind === 'token_revoked' && c.tokenId === 't1'), 20_000);
    unwatch();
    await relay.close();
    await cli.close();
  });

  it('a server that goes away: writes fail `unavailable` with a sentence, the feed reports it, and both recover when it is back', async () => {
    const server = await startPostgres();
    try {
      const url = await server.createDatabase();
      const store = await PostgresStore.open(url, { feedPollMs: 200, connectTimeoutSeconds: 2 });
      const errors: StoreError[] = [];
      const heard: StoreChange[] = [];
      store.watch(0, (c) => heard.push(...c), (e) => errors.push(e));
      await store.addUser({ id: 'alice' });
      await until('the first change', () => heard.length > 0, 20_000);
      await server.halt();
      const err = await store.addUser({ id: 'bob' }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(StoreError);
      expect((err as StoreError).reason).toBe('unavailable');
      expect((err as StoreError).message).toMatch(/check that PostgreSQL is running/);
      await until('the feed to report the server gone', () => errors.length > 0, 20_000);
      expect(errors[0]!.reason).toBe('unavailable');
      await server.resume();
      await until('a write to succeed again', () => store.addUser({ id: 'bob' }).then(() => true, () => false), 30_000, 200);
      await until('the feed to deliver again', () => heard.some((c) => c.kind === 'user_changed' && c.userId === 'bob'), 30_000);
      await store.close();
    } finally {
      await server.stop();
    }
  });
});
