// The storage interface of the relay and its operator CLIs: users, tokens and revocations, usage records and
// quota totals, live-session leases, and a change feed. Two implementations, chosen in one place
// (open-store.ts): SQLite in the data dir, the embedded default (sqlite-store.ts), and PostgreSQL for a fleet of
// relays sharing users (`DATABASE_URL=postgres://…`). Every implementation passes store.conformance.ts.
//
// Async throughout, even where SQLite answers synchronously: PostgreSQL cannot. The relay never awaits the
// store per frame — the hot path only counts (accounts/meter.ts); usage reaches the store in batches
// (appendUsage, one transaction per batch) and users/tokens are read through a cache the change feed keeps
// current (store/directory.ts).
//
// Every read-modify-write runs inside one transaction of the implementation, so two writers (two CLIs, or a CLI
// and the relay, in any processes) never lose each other's edits.
import type { UsageCounters } from '../accounts/meter.ts';

export interface UserRecord {
  id: string;
  enabled: boolean;
  /** Concurrent sessions allowed (default 2). */
  maxSessions: number;
  /** Spoken minutes (input + output audio) per UTC day / month; null = unlimited. */
  dailyMinutes: number | null;
  monthlyMinutes: number | null;
  /** Billed tokens (text + audio, input + output, from the provider's `response.done` usage) per UTC day / month; null = unlimited. */
  dailyTokens: number | null;
  monthlyTokens: number | null;
  /** Per-user session policy overrides. */
  voice?: string;
  instructions?: string;
  /** ISO 8601. */
  createdAt: string;
}

export interface TokenRecord {
  id: string;
  userId: string;
  /** ISO 8601. */
  createdAt: string;
  /** Epoch seconds (the JWT's `exp`). */
  expiresAt: number;
  /** ISO 8601; absent while the token is valid. */
  revokedAt?: string;
}

/** The fields a `users add|set` may give; `id` is required, the rest keep their current (or default) values. */
export type UserPatch = Partial<Omit<UserRecord, 'id' | 'voice' | 'instructions'>> & {
  id: string;
  /** null clears the override. */
  voice?: string | null;
  instructions?: string | null;
};

/** One session's usage between two batches (a delta, not a running total), attributed to the UTC day of `at`. */
export interface UsageRecord {
  /** Epoch ms when the delta was taken. */
  at: number;
  userId: string;
  sessionId: string;
  /** The session's first record: counts sessions per period without a set of ids. */
  first: boolean;
  /** The session's last record. */
  end: boolean;
  counters: UsageCounters;
}

export interface PeriodUsage extends UsageCounters {
  /** Sessions that started in the period. */
  sessions: number;
}

/** A user's stored usage for the UTC day and the UTC month containing the instant asked about. */
export interface QuotaTotals {
  day: PeriodUsage;
  month: PeriodUsage;
}

/** One row of the usage report: a user's sums on one UTC day. */
export interface UsageDay extends PeriodUsage {
  userId: string;
  /** `YYYY-MM-DD` (UTC). */
  day: string;
}

export interface UsageFilter {
  userId?: string;
  /** Inclusive UTC days `YYYY-MM-DD`. */
  since?: string;
  until?: string;
}

/** A live session's claim on one of its user's `maxSessions` slots, kept alive by heartbeats. */
export interface LeaseRequest {
  sessionId: string;
  userId: string;
  /** Which relay process holds it (several relays may share one store). */
  relayId: string;
  /** The limit to hold it under (the user's `maxSessions` as the caller read it). */
  maxSessions: number;
  /** A lease not renewed for this long is someone else's dead session and no longer counts. */
  ttlMs: number;
  /** Epoch ms (injected so tests drive the clock). */
  now: number;
  /** A session this request resumes (app link): its own lease is not counted against the limit and is replaced. */
  replacesSessionId?: string;
}

export type LeaseResult = { ok: true } | { ok: false; live: number };

/** A live lease as the fleet-wide seat order lists it. */
export interface LeaseSeat {
  sessionId: string;
  relayId: string;
  /** Epoch ms the seat was taken (renewals do not move it). */
  acquiredAt: number;
}

/**
 * What prune() deletes (store/retention.ts runs it). Per-day totals (`usage_daily`) are never pruned: they
 * are the usage report and the quotas. Each DELETE takes at most `batchRows` rows in its own transaction, so
 * no lock is held for long and the relay's event loop is yielded between batches.
 */
export interface RetentionPolicy {
  /** Epoch ms. */
  now: number;
  /** Raw usage records of UTC days before `now` minus this many days are deleted; 0 keeps them forever. */
  usageRecordDays: number;
  /** A `changes` row every live relay has read is deleted once it is this old (time for a starting relay to report its position). */
  changesGraceMs: number;
  /** A `changes` row this old is deleted whether every relay has read it or not. */
  changesMaxAgeMs: number;
  /** A feed reader not heard from for this long is a dead relay: it no longer holds rows back, and is forgotten. */
  readerTtlMs: number;
  batchRows?: number;
}

export interface PruneResult {
  usageRecords: number;
  changes: number;
  readers: number;
}

export const DEFAULT_PRUNE_BATCH_ROWS = 5_000;
export const DAY_MS = 86_400_000;

/** The first UTC day (`YYYY-MM-DD`) whose raw usage records the policy keeps, or null when it keeps them all. */
export function firstKeptUsageDay(policy: Pick<RetentionPolicy, 'now' | 'usageRecordDays'>): string | null {
  if (policy.usageRecordDays <= 0) return null;
  return new Date(policy.now - policy.usageRecordDays * DAY_MS).toISOString().slice(0, 10);
}

/**
 * What the change feed says. The relay re-reads what it caches on any of these; `id` orders them
 * (monotonically increasing per store), so a reader that saw change N asks for those after N.
 */
export type StoreChange =
  | { id: number; kind: 'user_changed'; userId: string }
  | { id: number; kind: 'user_removed'; userId: string }
  | { id: number; kind: 'token_added'; userId: string; tokenId: string }
  | { id: number; kind: 'token_revoked'; userId: string; tokenId: string }
  | { id: number; kind: 'token_removed'; userId: string; tokenId: string };

export type StoreChangeKind = StoreChange['kind'];

export type StoreErrorReason =
  /** The database file or server cannot be reached, is locked past the busy timeout, or is full/read-only. */
  | 'unavailable'
  /** The database is not one this release can read (damaged, or written by a newer schema). */
  | 'damaged'
  | 'unknown_format'
  | 'no_such_user'
  | 'user_exists'
  | 'invalid_user_id';

/** A storage problem a person can act on; `message` is the sentence to show. */
export class StoreError extends Error {
  override readonly name = 'StoreError';
  constructor(
    readonly reason: StoreErrorReason,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

const USER_ID = /^[A-Za-z0-9_.@-]{1,64}$/;

export function validUserId(id: string): boolean {
  return USER_ID.test(id);
}

export function checkUserId(id: string): void {
  if (!validUserId(id)) throw new StoreError('invalid_user_id', `invalid user id "${id}": use 1-64 letters, digits, _ . @ -`);
}

export function newUser(id: string, now = new Date()): UserRecord {
  return { id, enabled: true, maxSessions: 2, dailyMinutes: null, monthlyMinutes: null, dailyTokens: null, monthlyTokens: null, createdAt: now.toISOString() };
}

/** `patch` applied over `current`: undefined keeps a field, null clears an optional override. */
export function applyPatch(current: UserRecord, patch: UserPatch): UserRecord {
  const next: UserRecord = { ...current };
  for (const [key, value] of Object.entries(patch) as Array<[keyof UserPatch, unknown]>) {
    if (value === undefined) continue;
    if ((key === 'voice' || key === 'instructions') && value === null) delete next[key];
    else (next as unknown as Record<string, unknown>)[key] = value;
  }
  return next;
}

/** Everything the relay caches, read in one consistent snapshot, with the feed position it is current to. */
export interface DirectorySnapshot {
  users: UserRecord[];
  tokens: TokenRecord[];
  /** The id of the last change included: watch from here. */
  changeId: number;
}

export interface Store {
  /** `sqlite` or `postgres`: for logs, `doctor` and backup. */
  readonly kind: 'sqlite' | 'postgres';
  /** Where it lives, for sentences (a file path, or the URL without its password). */
  readonly location: string;

  // --- users -------------------------------------------------------------------------------------------------
  getUser(id: string): Promise<UserRecord | undefined>;
  /** Sorted by id. */
  listUsers(): Promise<UserRecord[]>;
  /** Creates a user; StoreError `user_exists` if one has this id (checked in the same transaction). */
  addUser(patch: UserPatch): Promise<UserRecord>;
  /** Changes an existing user; StoreError `no_such_user` if there is none. */
  updateUser(patch: UserPatch): Promise<UserRecord>;
  /** Creates or changes a user. */
  upsertUser(patch: UserPatch): Promise<UserRecord>;
  /** Deletes a user and all their tokens and leases (their usage stays, for the report). Returns the token ids removed; `no_such_user` if absent. */
  removeUser(userId: string): Promise<string[]>;

  // --- tokens ------------------------------------------------------------------------------------------------
  /** Stores a token; creates its user with defaults if absent. */
  addToken(record: TokenRecord): Promise<void>;
  getToken(id: string): Promise<TokenRecord | undefined>;
  /** Oldest first. */
  listTokens(): Promise<TokenRecord[]>;
  /** Revokes one token by id, or every token of a user by user id. Returns the ids revoked now (already revoked ones are not repeated). */
  revoke(tokenOrUserId: string, now?: Date): Promise<string[]>;

  /** Users and tokens in one consistent read, and the change id they are current to (the relay's cache). */
  snapshot(): Promise<DirectorySnapshot>;

  // --- usage -------------------------------------------------------------------------------------------------
  /** Writes a batch of records in ONE transaction (all or none), updating the per-day totals with them. */
  appendUsage(records: readonly UsageRecord[]): Promise<void>;
  /** Stored totals for each user for the UTC day and month containing `at` (zeros for a user with none). */
  quotaTotals(userIds: readonly string[], at: number): Promise<Map<string, QuotaTotals>>;
  /** Per user per UTC day, sorted by day then user. */
  usageByDay(filter?: UsageFilter): Promise<UsageDay[]>;

  // --- live-session leases -----------------------------------------------------------------------------------
  /**
   * Takes a slot for a new session if the user's live leases (unexpired at `now`, any relay, not
   * `replacesSessionId`) are fewer than `maxSessions` — atomically, so racing upgrades on any relays cannot
   * both pass. Replaces `replacesSessionId`'s lease when given.
   */
  acquireLease(request: LeaseRequest): Promise<LeaseResult>;
  /** Heartbeat: pushes the expiry of these sessions' leases (held by `relayId`) to `now + ttlMs`. */
  renewLeases(relayId: string, sessionIds: readonly string[], now: number, ttlMs: number): Promise<void>;
  releaseLease(sessionId: string): Promise<void>;
  /** Unexpired leases of a user at `now`, across all relays. */
  liveLeases(userId: string, now: number): Promise<number>;
  /** A user's unexpired leases at `now`, across all relays, oldest seat first (ties by session id): who keeps a seat when the limit is lowered. */
  seatOrder(userId: string, now: number): Promise<LeaseSeat[]>;

  // --- change feed -------------------------------------------------------------------------------------------
  /** Changes after `afterId`, oldest first (the catch-up read; also what watch() delivers). */
  changesSince(afterId: number): Promise<StoreChange[]>;
  /**
   * Calls `listener` with every change made after `afterId` by any process (CLI, other relay, this one),
   * promptly: SQLite within one `PRAGMA data_version` poll (feedPollMs), PostgreSQL on LISTEN/NOTIFY.
   * `onError` hears a feed that cannot be read (the store unreachable); it keeps trying. Returns unwatch.
   */
  watch(afterId: number, listener: (changes: StoreChange[]) => void, onError?: (err: StoreError) => void): () => void;
  /** Records that relay `relayId` has applied every change up to `changeId` (what prune() may delete depends on every live relay's). */
  markFeedRead(relayId: string, changeId: number, now: number): Promise<void>;

  // --- retention ---------------------------------------------------------------------------------------------
  /** Deletes raw usage records and feed rows the policy no longer keeps; returns how many rows went. */
  prune(policy: RetentionPolicy): Promise<PruneResult>;

  // --- lifecycle ---------------------------------------------------------------------------------------------
  /** Stops watchers and closes the connection(s). Idempotent. */
  close(): Promise<void>;
}
