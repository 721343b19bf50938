// What the upgrade checked once must keep holding while a session runs: a real relay on loopback (in-process
// simulator, real `ws` clients) whose database is changed by real CLI processes or by an operator's own SQL, and
// whose clock the test controls, so a token's expiry needs no sleeping.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rmSync } from 'node:fs';
import Database from 'better-sqlite3';
import { join } from 'node:path';
import { CloseCode } from '../../../protocol/close-codes.ts';
import { RealtimeTestClient } from '../testing/realtime-client.ts';
import { bearer, runCli } from '../testing/operator-cli.ts';
import { SqliteStore } from '../store/sqlite-store.ts';
import { startTestRelay, tempDataDir, type TestRelay } from '../testing/start-relay.ts';
import { until } from '../testing/until.ts';

const dataDir = tempDataDir('earshot-live-access-');
/** The relay's clock for live enforcement: real time unless a test moves it. */
const clock = { offsetMs: 0 };
let relay: TestRelay;

beforeAll(async () => {
  relay = await startTestRelay({ dataDir }, { now: () => Date.now() + clock.offsetMs });
});
afterAll(async () => {
  await relay.stop();
  rmSync(dataDir, { recursive: true, force: true });
});

async function talk(token: string): Promise<RealtimeTestClient> {
  const c = await RealtimeTestClient.connect(relay.wsUrl, bearer(token));
  await c.waitFor('session.updated');
  return c;
}

/** SQL run the way an operator's own SQL tool does it: its own connection, no Earshot code. */
function operatorSql(dir: string, sql: string, ...params: string[]): void {
  const db = new Database(join(dir, 'earshot.db'));
  try {
    db.prepare(sql).run(...params);
  } finally {
    db.close();
  }
}

const tokenIdOf = (token: string): string => (JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString()) as { jti: string }).jti;
const expOf = (token: string): number => (JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString()) as { exp: number }).exp;

describe('live sessions lose access the moment the operator or the clock says so', () => {
  it("closes a session with 4001 token_expired when its token's exp passes, and not before", async () => {
    const token = await relay.mint('eve', { days: 1 });
    const c = await talk(token);
    clock.offsetMs = expOf(token) * 1000 - Date.now() - 60_000; // a minute before expiry
    await relay.store.upsertUser({ id: 'bystander' }); // a change: the relay re-checks every session at once
    const from = c.types().length;
    c.send({ type: 'session.update', session: { type: 'realtime', instructions: 'still here?' } });
    await c.waitFor('session.updated', { from }); // a round trip after that check: still open
    clock.offsetMs = expOf(token) * 1000 - Date.now(); // exactly at exp (jose refuses it from then on too); no change in the store
    const closed = await c.closed;
    clock.offsetMs = 0;
    expect(closed.code).toBe(CloseCode.Revoked);
    expect(c.of('error').at(-1)?.error).toMatchObject({ code: 'token_expired', message: expect.stringMatching(/expired during this conversation/) });
  });

  it('closes the sessions of a user removed with `users remove` (4001) and refuses the token afterwards', async () => {
    const token = await relay.mint('rob');
    const c = await talk(token);
    const removed = await runCli('users', dataDir, ['remove', 'rob']);
    expect([removed.code, removed.stdout.trim()]).toEqual([0, 'removed rob and 1 token(s)']);
    expect((await c.closed).code).toBe(CloseCode.Revoked);
    expect(c.of('error').at(-1)?.error).toMatchObject({ code: 'user_disabled', message: expect.stringMatching(/removed by the operator/) });
    await expect(RealtimeTestClient.connect(relay.wsUrl, bearer(token))).rejects.toMatchObject({ status: 401 });
  });

  it('closes a session whose token was deleted by hand with SQL (4001), leaving the same user’s other token alive', async () => {
    const doomed = await relay.mint('tess');
    const kept = await relay.mint('tess');
    const a = await talk(doomed);
    const b = await talk(kept);
    operatorSql(dataDir, 'DELETE FROM tokens WHERE id = ?', tokenIdOf(doomed));
    expect((await a.closed).code).toBe(CloseCode.Revoked);
    expect(a.of('error').at(-1)?.error).toMatchObject({ code: 'token_revoked', message: expect.stringMatching(/removed by the operator/) });
    expect(b.socket.readyState).toBe(b.socket.OPEN);
    await b.close();
  });

  it('closes the newest sessions beyond a lowered --max-sessions (4010), keeps the oldest, and closes all at 0', async () => {
    const token = await relay.mint('max', { user: { maxSessions: 3 } });
    const oldest = await talk(token);
    const middle = await talk(token);
    const newest = await talk(token);
    expect((await runCli('users', dataDir, ['set', 'max', '--max-sessions', '1'])).code).toBe(0);
    for (const c of [middle, newest]) {
      expect((await c.closed).code).toBe(CloseCode.TooManySessions);
      expect(c.of('error').at(-1)?.error).toMatchObject({ code: 'too_many_sessions', message: expect.stringMatching(/lowered your limit to 1 conversation at a time; this one, the newest, was closed/) });
    }
    expect(oldest.socket.readyState).toBe(oldest.socket.OPEN);
    expect((await runCli('users', dataDir, ['set', 'max', '--max-sessions', '0'])).code).toBe(0);
    expect((await oldest.closed).code).toBe(CloseCode.TooManySessions);
    expect(oldest.of('error').at(-1)?.error.message).toMatch(/allow no conversations for now/);
    await until('every session of max to end', () => [...relay.sessions().values()].every((s) => s.info.userId !== 'max'));
  });
});

describe('a session admitted while the relay is still re-reading its users and tokens', () => {
  // The store is real; only its snapshot (the directory's re-read after a change) is held until the test lets
  // it go, as a slow database holds it. A token minted by a CLI in another process is read fresh at the upgrade,
  // and the half-second access check can run before the relay's copy has it.
  const heldDir = tempDataDir('earshot-live-access-held-');
  let store: SqliteStore;
  let held: TestRelay;
  let gate: Promise<void> = Promise.resolve();
  let release = (): void => {};

  beforeAll(async () => {
    store = await SqliteStore.open(heldDir);
    const gated = new Proxy(store, {
      get(target, key) {
        if (key === 'snapshot') return async () => { await gate; return target.snapshot(); };
        const value: unknown = Reflect.get(target, key, target);
        return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
      },
    });
    held = await startTestRelay({ dataDir: heldDir }, { store: gated });
  });
  afterAll(async () => {
    release();
    await held.stop();
    await store.close();
    rmSync(heldDir, { recursive: true, force: true });
  });

  it('keeps running through the access check: its token is new, not removed; a later removal still ends it', async () => {
    gate = new Promise((resolve) => (release = resolve));
    const created = await runCli('token', heldDir, ['create', '--user', 'newcomer', '--json']);
    expect(created.code).toBe(0);
    const token = (JSON.parse(created.stdout) as { token: string }).token;
    const c = await RealtimeTestClient.connect(held.wsUrl, bearer(token));
    await c.waitFor('session.updated');
    expect(held.directory.getUser('newcomer')).toBeUndefined(); // the copy has not caught up
    held.sweepAccess();
    const from = c.types().length;
    c.send({ type: 'session.update', session: { type: 'realtime', instructions: 'still here?' } });
    await c.waitFor('session.updated', { from });
    expect(c.of('error')).toEqual([]);
    expect(c.socket.readyState).toBe(c.socket.OPEN);

    release();
    await until('the copy to catch up', () => held.directory.getUser('newcomer') !== undefined);
    // Read after the upgrade, the copy is trusted again: a removal ends the session with the usual sentence.
    expect((await runCli('users', heldDir, ['remove', 'newcomer'])).code).toBe(0);
    expect((await c.closed).code).toBe(CloseCode.Revoked);
    expect(c.of('error').at(-1)?.error).toMatchObject({ code: 'user_disabled', message: expect.stringMatching(/removed by the operator/) });
  });
});
