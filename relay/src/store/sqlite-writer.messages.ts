// The messages between the relay's thread and the SQLite writer thread (sqlite-writer.ts ↔ sqlite-writer.worker.ts).
// One union per direction; every operation carries an id its reply echoes.
import type { LeaseRequest, LeaseResult, PruneResult, RetentionPolicy, StoreErrorReason, UsageRecord } from './store.ts';

/** The writes the relay makes while sessions run: each one BEGIN IMMEDIATE transaction in the writer thread. */
export type WriterOp =
  | { kind: 'appendUsage'; records: UsageRecord[] }
  | { kind: 'acquireLease'; request: LeaseRequest }
  | { kind: 'renewLeases'; relayId: string; sessionIds: string[]; now: number; ttlMs: number }
  | { kind: 'releaseLease'; sessionId: string }
  /** Retention: batches of deletes, other ops running between them (so it is the one op answered out of order). */
  | { kind: 'prune'; policy: RetentionPolicy };

/** What each operation resolves with. */
export interface WriterResults {
  appendUsage: null;
  acquireLease: LeaseResult;
  renewLeases: null;
  releaseLease: null;
  prune: PruneResult;
}

export type ToWriter = { kind: 'op'; id: number; op: WriterOp } | { kind: 'close' };

/** A failure as data (an Error does not keep its SQLite `code` across postMessage). */
export interface WireError {
  /** Set when the writer threw a StoreError of its own. */
  reason: StoreErrorReason | null;
  /** better-sqlite3's `SQLITE_…` code, when SQLite refused. */
  code: string | null;
  message: string;
}

export type FromWriter = { kind: 'done'; id: number; value: LeaseResult | PruneResult | null } | { kind: 'failed'; id: number; error: WireError };

/** workerData of the writer thread. */
export interface WriterConfig {
  path: string;
  busyTimeoutMs: number;
}
