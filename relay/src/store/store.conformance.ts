// What every Store implementation must do, as one suite each implementation's test runs against a real
// database (sqlite-store.test.ts on a real file; the PostgreSQL store's test on a real server):
//   storeConformance('SqliteStore', async () => ({ open: …, cleanup: … }))
// `open()` returns a NEW connection to the SAME fresh database each time it is called within one test, so the
// suite can play "a CLI in another process" and "racing writers" with separate connections.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { zeroCounters, type UsageCounters } from '../accounts/meter.ts';
import { until } from '../testing/until.ts';
import { DAY_MS, StoreError, type RetentionPolicy, type Store, type StoreChange, type UsageRecord } from './store.ts';

export interface StoreFixture {
  /** A new connection to this test's database (one fresh database per fixture). */
  open(): Promise<Store>;
  /** Removes the database (connections are closed by the suite first). */
  cleanup(): Promise<void>;
}

const T0 = Date.parse('2026-11-14T10:00:00Z');

function counters(partial: Partial<UsageCounters>): UsageCounters {
  return { ...zeroCounters(), ...partial };
}

function usage(userId: string, sessionId: string, at: number, c: Partial<UsageCounters>, flags: { first?: boolean; end?: boolean } = {}): UsageRecord {
  return { at, userId, sessionId, first: flags.first ?? false, end: flags.end ?? false, counters: counters(c) };
}

async function reason(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (err) {
    expect(err).toBeInstanceOf(StoreError);
    return (err as StoreError).reason;
  }
  throw new Error('expected a StoreError');
}

export function storeConformance(name: string, makeFixture: () => Promise<StoreFixture>): void {
  describe(`${name} (Store conformance)`, () => {
    let fixture: StoreFixture;
    const opened: Store[] = [];
    const open = async (): Promise<Store> => {
      const store = await fixture.open();
      opened.push(store);
      return store;
    };
    let store: Store;

    beforeEach(async () => {
      fixture = await makeFixture();
      store = await open();
    });
    afterEach(async () => {
      for (const s of opened.splice(0)) await s.close();
      await fixture.cleanup();
    });

    describe('users', () => {
      it('adds a user with defaults, reads it back and lists users sorted by id', async () => {
        await store.addUser({ id: 'zoe' });
        const alice = await store.addUser({ id: 'alice', maxSessions: 1, dailyMinutes: 30, monthlyTokens: 1_000_000, voice: 'cedar', instructions: 'Be brief.' });
        expect(alice).toMatchObject({ id: 'alice', enabled: true, maxSessions: 1, dailyMinutes: 30, monthlyMinutes: null, dailyTokens: null, monthlyTokens: 1_000_000, voice: 'cedar', instructions: 'Be brief.' });
        expect(await store.getUser('alice')).toEqual(alice);
        expect((await store.getUser('zoe'))?.maxSessions).toBe(2);
        expect((await store.listUsers()).map((u) => u.id)).toEqual(['alice', 'zoe']);
        expect(await store.getUser('nobody')).toBeUndefined();
      });

      it('refuses a second add of the same id (user_exists) and an update of a missing user (no_such_user)', async () => {
        await store.addUser({ id: 'alice' });
        expect(await reason(store.addUser({ id: 'alice' }))).toBe('user_exists');
        expect(await reason(store.updateUser({ id: 'bob', maxSessions: 3 }))).toBe('no_such_user');
        expect(await reason(store.removeUser('bob'))).toBe('no_such_user');
        expect(await store.getUser('bob')).toBeUndefined();
      });

      it('refuses an invalid user id (invalid_user_id)', async () => {
        expect(await reason(store.addUser({ id: 'no spaces' }))).toBe('invalid_user_id');
        expect(await reason(store.upsertUser({ id: '' }))).toBe('invalid_user_id');
      });

      it('updates only the fields given; null clears a voice or instructions override', async () => {
        await store.addUser({ id: 'alice', dailyMinutes: 10, voice: 'cedar', instructions: 'Hi' });
        const changed = await store.updateUser({ id: 'alice', maxSessions: 5, voice: null });
        expect(changed).toMatchObject({ maxSessions: 5, dailyMinutes: 10, instructions: 'Hi' });
        expect(changed.voice).toBeUndefined();
        expect(await store.getUser('alice')).toEqual(changed);
        const disabled = await store.updateUser({ id: 'alice', enabled: false, dailyMinutes: null });
        expect(disabled).toMatchObject({ enabled: false, dailyMinutes: null });
        await store.upsertUser({ id: 'carol', monthlyMinutes: 600 });
        expect((await store.getUser('carol'))?.monthlyMinutes).toBe(600);
      });

      it('removes a user with all their tokens, and says which tokens went', async () => {
        await store.addToken({ id: 't1', userId: 'alice', createdAt: new Date(T0).toISOString(), expiresAt: T0 / 1000 + 3600 });
        await store.addToken({ id: 't2', userId: 'alice', createdAt: new Date(T0 + 1).toISOString(), expiresAt: T0 / 1000 + 3600 });
        await store.addToken({ id: 't3', userId: 'bob', createdAt: new Date(T0 + 2).toISOString(), expiresAt: T0 / 1000 + 3600 });
        expect((await store.removeUser('alice')).sort()).toEqual(['t1', 't2']);
        expect(await store.getUser('alice')).toBeUndefined();
        expect((await store.listTokens()).map((t) => t.id)).toEqual(['t3']);
      });
    });

    describe('tokens', () => {
      it('stores a token (creating its user), lists tokens oldest first', async () => {
        await store.addToken({ id: 'b', userId: 'alice', createdAt: '2026-11-14T10:00:01.000Z', expiresAt: 1_900_000_000 });
        await store.addToken({ id: 'a', userId: 'alice', createdAt: '2026-11-14T10:00:00.000Z', expiresAt: 1_900_000_001 });
        expect((await store.getUser('alice'))?.enabled).toBe(true);
        expect(await store.getToken('b')).toEqual({ id: 'b', userId: 'alice', createdAt: '2026-11-14T10:00:01.000Z', expiresAt: 1_900_000_000 });
        expect((await store.listTokens()).map((t) => t.id)).toEqual(['a', 'b']);
        expect(await store.getToken('nope')).toBeUndefined();
      });

      it('revokes by token id or by user id, returning only the tokens revoked now', async () => {
        for (const id of ['t1', 't2']) await store.addToken({ id, userId: 'alice', createdAt: new Date(T0).toISOString(), expiresAt: 1_900_000_000 });
        await store.addToken({ id: 't3', userId: 'bob', createdAt: new Date(T0).toISOString(), expiresAt: 1_900_000_000 });
        const at = new Date('2026-11-15T00:00:00.000Z');
        expect(await store.revoke('t1', at)).toEqual(['t1']);
        expect((await store.getToken('t1'))?.revokedAt).toBe('2026-11-15T00:00:00.000Z');
        expect(await store.revoke('alice', at)).toEqual(['t2']);
        expect(await store.revoke('alice', at)).toEqual([]);
        expect((await store.getToken('t3'))?.revokedAt).toBeUndefined();
      });
    });

    describe('change feed', () => {
      it('a snapshot holds users and tokens and the change id it is current to; later changes come after it in order', async () => {
        await store.addToken({ id: 't1', userId: 'alice', createdAt: new Date(T0).toISOString(), expiresAt: 1_900_000_000 });
        const snap = await store.snapshot();
        expect(snap.users.map((u) => u.id)).toEqual(['alice']);
        expect(snap.tokens.map((t) => t.id)).toEqual(['t1']);
        await store.revoke('t1');
        await store.updateUser({ id: 'alice', enabled: false });
        await store.removeUser('alice');
        const changes = await store.changesSince(snap.changeId);
        expect(changes.map((c) => c.kind)).toEqual(['token_revoked', 'user_changed', 'token_removed', 'user_removed']);
        expect(changes[0]).toMatchObject({ kind: 'token_revoked', tokenId: 't1', userId: 'alice' });
        const ids = changes.map((c) => c.id);
        expect([...ids].sort((a, b) => a - b)).toEqual(ids);
        expect(ids[0]).toBeGreaterThan(snap.changeId);
        expect(await store.changesSince(ids.at(-1)!)).toEqual([]);
      });

      it('a watcher hears a change made through ANOTHER connection (another process: a CLI, another relay)', async () => {
        const cli = await open();
        const { changeId } = await store.snapshot();
        const heard: StoreChange[] = [];
        const unwatch = store.watch(changeId, (changes) => heard.push(...changes));
        try {
          await cli.addToken({ id: 't1', userId: 'alice', createdAt: new Date(T0).toISOString(), expiresAt: 1_900_000_000 });
          await cli.revoke('alice');
          await until('the revocation to reach the watcher', () => heard.some((c) => c.kind === 'token_revoked' && c.tokenId === 't1'), 20_000);
          expect(heard.map((c) => c.kind)).toEqual(expect.arrayContaining(['token_added', 'token_revoked']));
        } finally {
          unwatch();
        }
      });
    });

    describe('usage', () => {
      it('sums batches per user into the UTC day and month of each record, counting sessions by their first record', async () => {
        const yesterday = T0 - DAY_MS;
        await store.appendUsage([
          usage('alice', 's1', yesterday, { inputAudioBytes: 48_000, connectedMs: 1000 }, { first: true }),
          usage('alice', 's2', T0, { inputAudioBytes: 96_000, textOutputTokens: 7 }, { first: true }),
        ]);
        await store.appendUsage([usage('alice', 's2', T0 + 500, { outputAudioBytes: 24_000, audioOutputTokens: 5 }, { end: true }), usage('bob', 's3', T0, { textInputTokens: 3 }, { first: true })]);
        const totals = await store.quotaTotals(['alice', 'bob', 'carol'], T0 + 1000);
        expect(totals.get('alice')?.day).toEqual({ ...counters({ inputAudioBytes: 96_000, outputAudioBytes: 24_000, textOutputTokens: 7, audioOutputTokens: 5 }), sessions: 1 });
        expect(totals.get('alice')?.month).toEqual({ ...counters({ inputAudioBytes: 144_000, outputAudioBytes: 24_000, textOutputTokens: 7, audioOutputTokens: 5, connectedMs: 1000 }), sessions: 2 });
        expect(totals.get('bob')?.day.textInputTokens).toBe(3);
        expect(totals.get('carol')).toEqual({ day: { ...zeroCounters(), sessions: 0 }, month: { ...zeroCounters(), sessions: 0 } });
      });

      it('keeps months apart: the first of a month starts from zero', async () => {
        const lastOfOctober = Date.parse('2026-10-31T23:59:59Z');
        await store.appendUsage([usage('alice', 's1', lastOfOctober, { inputAudioBytes: 10 }, { first: true })]);
        const november = (await store.quotaTotals(['alice'], Date.parse('2026-11-01T00:00:01Z'))).get('alice')!;
        expect(november.month.inputAudioBytes).toBe(0);
        const october = (await store.quotaTotals(['alice'], lastOfOctober)).get('alice')!;
        expect(october.month.inputAudioBytes).toBe(10);
      });

      it('reports per user per day, filtered by user and an inclusive day range', async () => {
        await store.appendUsage([
          usage('alice', 's1', Date.parse('2026-11-01T12:00:00Z'), { inputAudioBytes: 1 }, { first: true }),
          usage('alice', 's2', Date.parse('2026-11-02T12:00:00Z'), { inputAudioBytes: 2 }, { first: true }),
          usage('bob', 's3', Date.parse('2026-11-02T13:00:00Z'), { inputAudioBytes: 3 }, { first: true }),
          usage('alice', 's2', Date.parse('2026-11-03T00:00:01Z'), { inputAudioBytes: 4 }, { end: true }),
        ]);
        const all = await store.usageByDay();
        expect(all.map((d) => [d.day, d.userId, d.inputAudioBytes, d.sessions])).toEqual([
          ['2026-11-01', 'alice', 1, 1],
          ['2026-11-02', 'alice', 2, 1],
          ['2026-11-02', 'bob', 3, 1],
          ['2026-11-03', 'alice', 4, 0],
        ]);
        const some = await store.usageByDay({ userId: 'alice', since: '2026-11-02', until: '2026-11-02' });
        expect(some.map((d) => [d.day, d.inputAudioBytes])).toEqual([['2026-11-02', 2]]);
      });

      it('an empty batch is a no-op', async () => {
        await store.appendUsage([]);
        expect(await store.usageByDay()).toEqual([]);
      });
    });

    describe('leases', () => {
      const req = (sessionId: string, extra: Partial<Parameters<Store['acquireLease']>[0]> = {}) => ({ sessionId, userId: 'alice', relayId: 'relay-a', maxSessions: 2, ttlMs: 10_000, now: T0, ...extra });

      it('grants leases up to maxSessions, then refuses with the live count; release frees a slot', async () => {
        expect(await store.acquireLease(req('s1'))).toEqual({ ok: true });
        expect(await store.acquireLease(req('s2', { relayId: 'relay-b' }))).toEqual({ ok: true });
        expect(await store.acquireLease(req('s3'))).toEqual({ ok: false, live: 2 });
        expect(await store.liveLeases('alice', T0)).toBe(2);
        await store.releaseLease('s1');
        expect(await store.acquireLease(req('s3'))).toEqual({ ok: true });
        expect(await store.liveLeases('bob', T0)).toBe(0);
      });

      it('a lease not renewed within its ttl stops counting (a relay that died); a renewed one keeps counting', async () => {
        await store.acquireLease(req('dead', { maxSessions: 1, relayId: 'relay-dead' }));
        await store.acquireLease(req('alive', { userId: 'bob', maxSessions: 1 }));
        await store.renewLeases('relay-a', ['alive'], T0 + 8_000, 10_000);
        const later = T0 + 12_000;
        expect(await store.liveLeases('alice', later)).toBe(0);
        expect(await store.acquireLease(req('new', { maxSessions: 1, now: later }))).toEqual({ ok: true });
        expect(await store.liveLeases('bob', later)).toBe(1);
        expect(await store.acquireLease(req('bob2', { userId: 'bob', maxSessions: 1, now: later }))).toEqual({ ok: false, live: 1 });
      });

      it('a resumed session replaces its own lease instead of counting against the limit', async () => {
        await store.acquireLease(req('old', { maxSessions: 1 }));
        expect(await store.acquireLease(req('new', { maxSessions: 1, replacesSessionId: 'old' }))).toEqual({ ok: true });
        expect(await store.liveLeases('alice', T0)).toBe(1);
        expect(await store.acquireLease(req('third', { maxSessions: 1 }))).toEqual({ ok: false, live: 1 });
      });

      it('racing acquisitions on separate connections never exceed maxSessions', async () => {
        const others = await Promise.all([open(), open(), open()]);
        const all = [store, ...others];
        const results = await Promise.all(Array.from({ length: 24 }, (_, i) => all[i % all.length]!.acquireLease(req(`s${i}`, { maxSessions: 1, relayId: `relay-${i % all.length}` }))));
        expect(results.filter((r) => r.ok)).toHaveLength(1);
        expect(await store.liveLeases('alice', T0)).toBe(1);
      });

      it('lists a user\'s live seats across relays oldest first; a renewal does not move a seat, an expired one is not listed', async () => {
        await store.acquireLease(req('second', { relayId: 'relay-b', now: T0 + 200, maxSessions: 5 }));
        await store.acquireLease(req('first', { maxSessions: 5 }));
        await store.acquireLease(req('third', { now: T0 + 300, maxSessions: 5 }));
        await store.acquireLease(req('gone', { relayId: 'relay-dead', now: T0 - 20_000, maxSessions: 5 }));
        await store.acquireLease(req('other', { userId: 'bob', maxSessions: 5 }));
        await store.renewLeases('relay-a', ['first', 'third'], T0 + 500, 10_000);
        await store.renewLeases('relay-b', ['second'], T0 + 500, 10_000);
        expect(await store.seatOrder('alice', T0 + 600)).toEqual([
          { sessionId: 'first', relayId: 'relay-a', acquiredAt: T0 },
          { sessionId: 'second', relayId: 'relay-b', acquiredAt: T0 + 200 },
          { sessionId: 'third', relayId: 'relay-a', acquiredAt: T0 + 300 },
        ]);
        expect(await store.seatOrder('nobody', T0)).toEqual([]);
      });

      it('removing a user drops their leases', async () => {
        await store.addUser({ id: 'alice' });
        await store.acquireLease(req('s1'));
        await store.removeUser('alice');
        expect(await store.liveLeases('alice', T0)).toBe(0);
      });
    });

    describe('retention', () => {
      const policy = (now: number, extra: Partial<RetentionPolicy> = {}): RetentionPolicy => ({
        now,
        usageRecordDays: 90,
        changesGraceMs: 600_000,
        changesMaxAgeMs: 7 * DAY_MS,
        readerTtlMs: 3_600_000,
        ...extra,
      });

      it('deletes raw usage records older than the kept days, in batches, and keeps every per-day total and the report', async () => {
        const old = Array.from({ length: 7 }, (_, i) => usage('alice', `old${i}`, T0 - 100 * DAY_MS + i, { inputAudioBytes: 1_000 }, { first: true, end: true }));
        const recent = [usage('alice', 'recent', T0 - 10 * DAY_MS, { inputAudioBytes: 500 }, { first: true }), usage('bob', 'today', T0, { textOutputTokens: 40 }, { first: true })];
        await store.appendUsage([...old, ...recent]);
        const before = await store.usageByDay();
        expect(await store.prune(policy(T0, { batchRows: 3 }))).toEqual({ usageRecords: 7, changes: 0, readers: 0 });
        expect(await store.usageByDay()).toEqual(before);
        expect((await store.quotaTotals(['bob'], T0)).get('bob')!.day.textOutputTokens).toBe(40);
        expect(await store.prune(policy(T0))).toMatchObject({ usageRecords: 0 });
        // 0 keeps raw records forever.
        expect(await store.prune(policy(T0 + 1_000 * DAY_MS, { usageRecordDays: 0 }))).toMatchObject({ usageRecords: 0 });
        expect(await store.prune(policy(T0 + 1_000 * DAY_MS))).toMatchObject({ usageRecords: 2 });
      });

      it('deletes feed rows every live relay has read once past the grace; a live relay behind holds newer rows back, a dead one does not', async () => {
        for (const id of ['a', 'b', 'c', 'd']) await store.addUser({ id });
        const ids = (await store.changesSince(0)).map((c) => c.id);
        expect(ids).toHaveLength(4);
        const now = Date.now();
        await store.markFeedRead('relay-ahead', ids[3]!, now);
        await store.markFeedRead('relay-behind', ids[1]!, now);
        await store.markFeedRead('relay-dead', 0, now - 2 * 3_600_000);
        // Within the grace nothing goes, however far every relay has read.
        expect(await store.prune(policy(now))).toEqual({ usageRecords: 0, changes: 0, readers: 1 });
        const later = now + 700_000;
        await store.markFeedRead('relay-ahead', ids[3]!, later);
        await store.markFeedRead('relay-behind', ids[1]!, later);
        expect(await store.prune(policy(later))).toMatchObject({ changes: 2 });
        expect((await store.changesSince(0)).map((c) => c.id)).toEqual(ids.slice(2));
        // Past the max age, even what a live relay has not read goes (it reloads its directory on any later change).
        expect(await store.prune(policy(now + 8 * DAY_MS))).toMatchObject({ changes: 2, readers: 2 });
        expect(await store.changesSince(0)).toEqual([]);
      });

      it('after the feed is pruned empty, a snapshot and a watcher still see every later change', async () => {
        await store.addUser({ id: 'alice' });
        await store.prune(policy(Date.now() + 8 * DAY_MS));
        const snap = await store.snapshot();
        expect(snap.users.map((u) => u.id)).toEqual(['alice']);
        const heard: StoreChange[] = [];
        const unwatch = store.watch(snap.changeId, (c) => heard.push(...c));
        const cli = await open();
        await cli.addUser({ id: 'bob' });
        await until('the change after the prune', () => heard.some((c) => c.kind === 'user_changed' && c.userId === 'bob'), 20_000);
        expect(heard.every((c) => c.id > snap.changeId)).toBe(true);
        unwatch();
      });
    });

    describe('concurrent writers', () => {
      it('8 connections writing at once all keep their writes (distinct users, and edits of one shared user)', async () => {
        await store.addUser({ id: 'shared' });
        const writers = await Promise.all(Array.from({ length: 8 }, () => open()));
        await Promise.all(
          writers.map(async (w, i) => {
            await w.addUser({ id: `user${i}`, maxSessions: i + 1 });
            await w.addToken({ id: `tok${i}`, userId: 'shared', createdAt: new Date(T0 + i).toISOString(), expiresAt: 1_900_000_000 });
            await w.appendUsage([usage('shared', `s${i}`, T0, { inputAudioBytes: 1000 }, { first: true })]);
          }),
        );
        const users = await store.listUsers();
        expect(users.map((u) => u.id)).toEqual(['shared', ...Array.from({ length: 8 }, (_, i) => `user${i}`)]);
        expect(users.find((u) => u.id === 'user7')?.maxSessions).toBe(8);
        expect((await store.listTokens()).map((t) => t.id).sort()).toEqual(Array.from({ length: 8 }, (_, i) => `tok${i}`));
        const totals = (await store.quotaTotals(['shared'], T0)).get('shared')!;
        expect(totals.day).toMatchObject({ inputAudioBytes: 8000, sessions: 8 });
      });
    });
  });
}
