// Session leases on a real store (SQLite file; the fleet test runs them on PostgreSQL across relay processes),
// with an injected clock: heartbeats are called as the timer calls them.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createSessionLeases, LEASE_TTL_MS } from './session-leases.ts';
import { SqliteStore } from './sqlite-store.ts';
import { until } from '../testing/until.ts';

const log = pino({ level: 'silent' });
let dir: string;
let store: SqliteStore;
let t: number;
const now = () => t;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'earshot-leases-'));
  store = await SqliteStore.open(dir);
  t = Date.parse('2026-11-14T10:00:00Z');
});
afterEach(async () => {
  await store.close();
  await rm(dir, { recursive: true, force: true });
});

describe('session leases', () => {
  it('admit up to maxSessions across relays sharing the store, refuse beyond with the live count, and a release frees a seat', async () => {
    const a = createSessionLeases({ store, relayId: 'a', log, now });
    const b = createSessionLeases({ store, relayId: 'b', log, now });
    expect(await a.acquire({ sessionId: 's1', userId: 'alice', maxSessions: 2 })).toEqual({ ok: true });
    expect(await b.acquire({ sessionId: 's2', userId: 'alice', maxSessions: 2 })).toEqual({ ok: true });
    expect(await b.acquire({ sessionId: 's3', userId: 'alice', maxSessions: 2 })).toEqual({ ok: false, live: 2 });
    expect(b.isHeld('s3')).toBe(false);
    a.release('s1');
    await until('the release to reach the store', async () => (await store.liveLeases('alice', t)) === 1);
    expect(await b.acquire({ sessionId: 's3', userId: 'alice', maxSessions: 2 })).toEqual({ ok: true });
    await a.stop();
    await b.stop();
  });

  it('a relay that heartbeats keeps its seats past the ttl; one that stopped (killed) loses them after the ttl', async () => {
    const alive = createSessionLeases({ store, relayId: 'alive', log, now });
    const dead = createSessionLeases({ store, relayId: 'dead', log, now });
    await alive.acquire({ sessionId: 'kept', userId: 'alice', maxSessions: 1 });
    await dead.acquire({ sessionId: 'lost', userId: 'bob', maxSessions: 1 });
    for (let i = 0; i < 5; i++) {
      t += LEASE_TTL_MS / 2;
      await alive.heartbeat(); // `dead` never beats again, as after kill -9
    }
    expect(await store.liveLeases('alice', t)).toBe(1);
    expect(await store.liveLeases('bob', t)).toBe(0);
    const other = createSessionLeases({ store, relayId: 'other', log, now });
    expect(await other.acquire({ sessionId: 'x', userId: 'alice', maxSessions: 1 })).toEqual({ ok: false, live: 1 });
    expect(await other.acquire({ sessionId: 'y', userId: 'bob', maxSessions: 1 })).toEqual({ ok: true });
    for (const l of [alive, dead, other]) await l.stop();
  });

  it('an upgrade resuming its own live session does not count that session against the limit', async () => {
    const a = createSessionLeases({ store, relayId: 'a', log, now });
    await a.acquire({ sessionId: 'old', userId: 'alice', maxSessions: 1 });
    expect(await a.acquire({ sessionId: 'resume', userId: 'alice', maxSessions: 1, resumingOwnSession: true })).toEqual({ ok: true });
    expect(await a.acquire({ sessionId: 'third', userId: 'alice', maxSessions: 1 })).toEqual({ ok: false, live: 2 });
    await a.stop();
    expect(await store.liveLeases('alice', t)).toBe(0);
  });
});

