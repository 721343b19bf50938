// The SQLite writer thread (sqlite-writer.ts + sqlite-writer.worker.ts) on a real database file, a real worker
// thread and a second real connection: what the relay's usage and lease writes promise once they leave its
// event loop — killed mid-batch nothing half-written and nothing lost, close() writes what was posted, a
// refused write comes back as the same StoreError as inline and is written once on retry.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { zeroCounters } from '../accounts/meter.ts';
import { SqliteStore, sqlitePath } from './sqlite-store.ts';
import { DAY_MS, StoreError, type UsageRecord } from './store.ts';
import { retentionPolicy } from './retention.ts';
import { BACKGROUND_THREAD_NICE } from './thread-priority.ts';
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';

/** Nice value of every thread of this process, by thread id (Linux /proc: field 19 of each task's stat). */
function niceByThread(): Map<string, number> {
  const out = new Map<string, number>();
  for (const tid of readdirSync('/proc/self/task')) {
    try {
      const stat = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8');
      out.set(tid, Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[16]));
    } catch {
      // the thread ended
    }
  }
  return out;
}

const dirs: string[] = [];
const stores: SqliteStore[] = [];
afterEach(async () => {
  for (const s of stores.splice(0)) await s.close();
  for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
});

async function open(options: { busyTimeoutMs?: number } = {}): Promise<{ store: SqliteStore; dir: string }> {
  const dir = await mkdtemp(join(tmpdir(), 'earshot-writer-'));
  dirs.push(dir);
  const store = await SqliteStore.open(dir, { writer: 'worker', ...options });
  stores.push(store);
  return { store, dir };
}

const T0 = Date.UTC(2026, 10, 20, 12);
function batch(sessionId: string, n: number): UsageRecord[] {
  return Array.from({ length: n }, (_, i) => ({ at: T0 + i, userId: 'alice', sessionId, first: i === 0, end: false, counters: { ...zeroCounters(), connectedMs: 500, inputAudioBytes: 480 } }));
}

/** Rows of `sessionId` in the file, read on a connection of our own. */
function rowsOf(dir: string, sessionId: string): number {
  const db = new Database(sqlitePath(dir), { readonly: true });
  try {
    return (db.prepare('SELECT count(*) AS n FROM usage_records WHERE session_id = ?').get(sessionId) as { n: number }).n;
  } finally {
    db.close();
  }
}

/** Resolves once some connection holds the write lock (BEGIN IMMEDIATE on ours fails SQLITE_BUSY at once). */
async function untilWriteLockTaken(dir: string): Promise<void> {
  const probe = new Database(sqlitePath(dir), { timeout: 0 });
  try {
    for (;;) {
      try {
        probe.exec('BEGIN IMMEDIATE');
        probe.exec('ROLLBACK');
      } catch (err) {
        if ((err as { code?: string }).code === 'SQLITE_BUSY') return;
        throw err;
      }
      await new Promise((r) => setImmediate(r));
    }
  } finally {
    probe.close();
  }
}

describe('SQLite writer thread', () => {
  it('writes usage on its own connection; the relay connection reads the totals back as soon as the write resolves', async () => {
    const { store, dir } = await open();
    await store.appendUsage(batch('s1', 3));
    expect(rowsOf(dir, 's1')).toBe(3);
    const totals = await store.quotaTotals(['alice'], T0);
    expect(totals.get('alice')!.day.connectedMs).toBe(1500);
    expect(store.writer).not.toBeNull();
  });

  it.runIf(process.platform === 'linux')("runs below the event loop's priority (nice 10) and leaves the relay's own thread as it was", async () => {
    const self = readlinkSync('/proc/thread-self').split('/').pop()!;
    const before = niceByThread();
    const { store } = await open();
    await store.appendUsage(batch('s-nice', 1));
    const after = niceByThread();
    const started = [...after].filter(([tid]) => !before.has(tid)).map(([, nice]) => nice);
    expect(started).toContain(BACKGROUND_THREAD_NICE);
    expect(after.get(self)).toBe(before.get(self));
  });

  it('killed mid-batch: the batch is rolled back, rejected `unavailable`, and written exactly once by the retry on a new thread', async () => {
    const { store, dir } = await open();
    await store.appendUsage(batch('warm-up', 1)); // the thread is up
    const big = batch('big', 100_000);
    const write = store.appendUsage(big);
    const outcome = write.then(
      () => 'committed',
      (err: unknown) => err,
    );
    await untilWriteLockTaken(dir); // the writer is inside the batch's transaction
    await store.writer!.terminate();
    const err = await outcome;
    expect(err).toBeInstanceOf(StoreError);
    expect((err as StoreError).reason).toBe('unavailable');
    expect((err as StoreError).message).toMatch(/writer thread .* stopped/);
    expect(rowsOf(dir, 'big')).toBe(0); // nothing half-written
    // What accounting does with a failed batch: the same records again, next tick.
    await store.appendUsage(big);
    expect(rowsOf(dir, 'big')).toBe(100_000);
    expect((await store.quotaTotals(['alice'], T0)).get('alice')!.day.connectedMs).toBe(500 * 100_001);
  });

  it('close() commits every write posted before it (a draining relay\'s last batch), then ends the thread', async () => {
    const { store, dir } = await open();
    const pending = store.appendUsage(batch('last', 20_000)); // not awaited, as a shutdown racing a tick
    const lease = store.acquireLease({ sessionId: 'x', userId: 'alice', relayId: 'r', maxSessions: 1, ttlMs: 10_000, now: T0 });
    await store.close();
    await pending;
    expect(await lease).toEqual({ ok: true });
    expect(rowsOf(dir, 'last')).toBe(20_000);
    expect(store.writer!.inFlight).toBe(0);
    await expect(store.appendUsage(batch('after', 1))).rejects.toThrow(/closed/);
  });

  it('a write SQLite refuses (locked past the busy timeout) is the same StoreError as inline, loses nothing, and is written once on retry', async () => {
    const { store, dir } = await open({ busyTimeoutMs: 50 });
    await store.appendUsage(batch('warm-up', 1));
    const holder = new Database(sqlitePath(dir));
    holder.exec('BEGIN IMMEDIATE'); // another process (a CLI) holds the write lock
    const records = batch('refused', 50);
    const err = await store.appendUsage(records).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StoreError);
    expect((err as StoreError).reason).toBe('unavailable');
    expect((err as StoreError).message).toMatch(/SQLITE_BUSY/);
    holder.exec('ROLLBACK');
    holder.close();
    expect(rowsOf(dir, 'refused')).toBe(0);
    await store.appendUsage(records);
    expect(rowsOf(dir, 'refused')).toBe(50);
  });

  it('keeps leases in the order posted: a release then an acquire of the last seat succeeds', async () => {
    const { store } = await open();
    const req = (sessionId: string) => ({ sessionId, userId: 'alice', relayId: 'r', maxSessions: 1, ttlMs: 10_000, now: T0 });
    expect(await store.acquireLease(req('a'))).toEqual({ ok: true });
    const released = store.releaseLease('a');
    const next = store.acquireLease(req('b')); // posted before the release is answered
    await released;
    expect(await next).toEqual({ ok: true });
    expect(await store.liveLeases('alice', T0)).toBe(1);
  });

  it('prunes in batches on the writer thread, and a usage batch posted meanwhile commits before the prune ends', async () => {
    const { store, dir } = await open();
    const old = batch('old', 20_000).map((r) => ({ ...r, at: T0 - 200 * DAY_MS }));
    await store.appendUsage(old);
    const order: string[] = [];
    const pruned = store.prune({ ...retentionPolicy({ usageRecordDays: 90, changesMaxAgeDays: 7 }, T0), batchRows: 500 }).then((r) => (order.push('prune'), r));
    const usage = store.appendUsage(batch('live', 1)).then(() => order.push('usage'));
    expect((await pruned).usageRecords).toBe(20_000);
    await usage;
    expect(order).toEqual(['usage', 'prune']);
    expect(rowsOf(dir, 'old')).toBe(0);
    expect(rowsOf(dir, 'live')).toBe(1);
  });
});
