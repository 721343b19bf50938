// THREAD: the SQLite writer worker (started by sqlite-writer.ts, one per relay). It owns its own better-sqlite3
// connection to the relay's database file and runs the writes the relay makes while sessions run — usage
// batches, lease acquire/renew/release — each in one BEGIN IMMEDIATE transaction, one at a time, in the order
// they were posted; and retention's prune, whose delete batches let those run between them. Why a thread: better-sqlite3 is synchronous, and a commit (plus SQLite's WAL auto-checkpoint,
// which runs inside the commit that crosses 1000 pages) held the relay's event loop — and every frame of every
// session behind it — for milliseconds. Here it holds only this thread.
//
// Crash semantics are SQLite's: a transaction this thread had not committed when it (or the process) died is
// rolled back; one it replied `done` for is in the WAL and survives kill -9.
import { parentPort, workerData } from 'node:worker_threads';
import type Database from 'better-sqlite3';
import { acquireLeaseIn, insertUsage, openSqliteDatabase, pruneIn, releaseLeaseIn, renewLeasesIn } from './sqlite-store.ts';
import { StoreError, type LeaseResult, type PruneResult } from './store.ts';
import type { FromWriter, ToWriter, WireError, WriterConfig, WriterOp } from './sqlite-writer.messages.ts';
import { lowerThisThreadPriority } from './thread-priority.ts';

// Commits are due by the next tick, not within a frame: below the event loop's priority, so they never preempt it
// on a shared core (thread-priority.ts says why).
lowerThisThreadPriority();

const config = workerData as WriterConfig;
const port = parentPort!;
let db: Database.Database | null = null;
/** Prunes still deleting: close waits for them (their reply is owed too). */
const running = new Set<Promise<unknown>>();

function run(op: WriterOp): LeaseResult | PruneResult | null | Promise<PruneResult> {
  // Opened at the first write, and again after a failure to open (a full or locked disk comes back).
  db ??= openSqliteDatabase(config.path, { busyTimeoutMs: config.busyTimeoutMs });
  const conn = db;
  switch (op.kind) {
    case 'appendUsage':
      conn.transaction(() => insertUsage(conn, op.records)).immediate();
      return null;
    case 'acquireLease':
      return conn.transaction(() => acquireLeaseIn(conn, op.request)).immediate();
    case 'renewLeases':
      conn.transaction(() => renewLeasesIn(conn, op.relayId, op.sessionIds, op.now, op.ttlMs)).immediate();
      return null;
    case 'releaseLease':
      conn.transaction(() => releaseLeaseIn(conn, op.sessionId)).immediate();
      return null;
    case 'prune':
      // Between batches the thread goes back to its message queue: a usage batch waits one delete batch, not the whole prune.
      return pruneIn(conn, op.policy, () => new Promise((resolve) => setImmediate(resolve)));
    default: {
      const never: never = op;
      throw new Error(`unknown writer op ${JSON.stringify(never)}`);
    }
  }
}

function wire(err: unknown): WireError {
  const code = (err as { code?: unknown }).code;
  return { reason: err instanceof StoreError ? err.reason : null, code: typeof code === 'string' ? code : null, message: err instanceof Error ? err.message : String(err) };
}

port.on('message', (msg: ToWriter) => {
  if (msg.kind === 'close') {
    // Every op posted before `close` has been answered (messages arrive in order), a prune once it finishes:
    // then close the connection and let the thread end.
    void Promise.allSettled([...running]).then(() => {
      db?.close();
      db = null;
      port.close();
    });
    return;
  }
  const { id } = msg;
  let value: ReturnType<typeof run>;
  try {
    value = run(msg.op);
  } catch (err) {
    port.postMessage({ kind: 'failed', id, error: wire(err) } satisfies FromWriter);
    return;
  }
  if (value instanceof Promise) {
    running.add(value);
    void value.finally(() => running.delete(value)).catch(() => undefined);
    value.then(
      (v) => port.postMessage({ kind: 'done', id, value: v } satisfies FromWriter),
      (err: unknown) => port.postMessage({ kind: 'failed', id, error: wire(err) } satisfies FromWriter),
    );
    return;
  }
  port.postMessage({ kind: 'done', id, value } satisfies FromWriter);
});
