// The embedded default Store: one SQLite file in the data dir (`earshot.db`, better-sqlite3), shared by the
// relay and every operator CLI, each with its own connection.
//
// - WAL mode: readers never block the writer or each other; a writer holds the lock for the milliseconds of
//   its transaction. `busy_timeout` makes a writer that finds the lock taken wait for it instead of failing.
// - Every read-modify-write is one `BEGIN IMMEDIATE` transaction (it takes the write lock before reading), so
//   two CLIs editing the same user can neither lose an edit nor deadlock upgrading a read lock.
// - Change feed: every write that changes users or tokens also inserts rows into `changes` (monotonic id) in
//   the same transaction — by triggers (sqlite-schema.ts), so an operator's hand-written SQL counts too. A watcher polls `PRAGMA data_version` — it reads the WAL index in shared memory, no
//   disk I/O, and changes only when ANOTHER connection committed — every FEED_POLL_MS, and reads the new
//   `changes` rows only then. Why not sqlite3_update_hook: it fires only for the connection that made the
//   write, so the relay would never hear a CLI. Why not the file's mtime: WAL writes do not touch the main
//   file until a checkpoint, and an mtime cannot say what changed. Writes through this connection notify its
//   watchers directly (data_version does not move for one's own commits).
//
// THREADING: better-sqlite3 is synchronous and runs on the caller's thread. Reads are point lookups or small
// batches. The relay opens it with `writer: 'worker'`: the writes sessions cause (a usage batch every 500 ms,
// lease heartbeats, a lease per upgrade) run on a writer thread with its own connection (sqlite-writer.ts), because
// a commit — and the WAL auto-checkpoint SQLite runs inside one — held the event loop every session's frames
// share (bench:event-loop). Operator edits (users, tokens) stay on this connection; they are rare.
import Database from 'better-sqlite3';
import { closeSync, mkdirSync, openSync } from 'node:fs';
import { join } from 'node:path';
import { SQLITE_FILE, SQLITE_MIGRATIONS, SQLITE_SCHEMA_VERSION } from './sqlite-schema.ts';
import {
  applyPatch,
  checkUserId,
  DEFAULT_PRUNE_BATCH_ROWS,
  firstKeptUsageDay,
  newUser,
  StoreError,
  type DirectorySnapshot,
  type LeaseRequest,
  type LeaseResult,
  type LeaseSeat,
  type PruneResult,
  type RetentionPolicy,
  type QuotaTotals,
  type Store,
  type StoreChange,
  type TokenRecord,
  type UsageDay,
  type UsageFilter,
  type UsageRecord,
  type UserPatch,
  type UserRecord,
} from './store.ts';
import { SqliteWriter } from './sqlite-writer.ts';
import { changeFromRow, periodFromRow, sumCounters, tokenFromRow, userFromRow, type ChangeRow, type CounterRow, type TokenRow, type UserRow } from './store-rows.ts';

/** How often a watcher checks `PRAGMA data_version`: the bound on how late a CLI's change reaches the relay. */
export const FEED_POLL_MS = 100;
export const DEFAULT_BUSY_TIMEOUT_MS = 10_000;

export interface SqliteStoreOptions {
  /** How long a write waits for another connection's write lock before failing `unavailable`. */
  busyTimeoutMs?: number;
  feedPollMs?: number;
  /** Open an existing database read-only (doctor, usage report); never creates or migrates. */
  readonly?: boolean;
  /**
   * Where the writes made while sessions run (usage batches, leases) happen: 'inline' on the caller's thread
   * (CLIs, tests), or 'worker' on a writer thread with its own connection (the relay: sqlite-writer.ts), so a
   * commit never blocks the event loop the sessions' frames run on. Other writes (users, tokens) stay inline.
   */
  writer?: 'inline' | 'worker';
}


const SUM_COUNTERS = sumCounters();

const UNAVAILABLE_CODES = /^SQLITE_(BUSY|LOCKED|FULL|READONLY|CANTOPEN|IOERR|PERM|AUTH|PROTOCOL)/;
const DAMAGED_CODES = /^SQLITE_(CORRUPT|NOTADB)/;

/** A better-sqlite3 error as a StoreError with a sentence; other errors (our own StoreErrors) pass through. */
export function storeErrorFrom(err: unknown, path: string): unknown {
  if (err instanceof StoreError) return err;
  const code = (err as { code?: unknown }).code;
  const message = (err as Error).message;
  if (typeof code === 'string' && UNAVAILABLE_CODES.test(code)) {
    return new StoreError('unavailable', `the database ${path} cannot be written or read right now (${code}: ${message}); check the disk (full? read-only?) and that no other program holds it locked.`, { cause: err });
  }
  if (typeof code === 'string' && DAMAGED_CODES.test(code)) {
    return new StoreError('damaged', `the database ${path} is damaged (${code}: ${message}); nothing was changed. Restore it from your backup (docs/operators.md, section 5).`, { cause: err });
  }
  return err;
}

export function sqlitePath(dataDir: string): string {
  return join(dataDir, SQLITE_FILE);
}

/**
 * Opens (creating it and its schema unless readonly) the SQLite database at `path`, synchronously: the data
 * dir's migration (migrate-v1.ts) runs inside the synchronous openDataDir(). StoreError on a file that is not
 * ours, damaged, or written by a newer schema.
 */
export function openSqliteDatabase(path: string, options: SqliteStoreOptions = {}, dataDir?: string): Database.Database {
  let db: Database.Database;
  try {
    if (!options.readonly) {
      if (dataDir) mkdirSync(dataDir, { recursive: true, mode: 0o700 });
      // Created 0600 before SQLite opens it: the -wal and -shm files copy the main file's permissions.
      closeSync(openSync(path, 'a', 0o600));
    }
    db = new Database(path, { readonly: options.readonly ?? false, fileMustExist: options.readonly ?? false, timeout: options.busyTimeoutMs ?? DEFAULT_BUSY_TIMEOUT_MS });
  } catch (err) {
    throw storeErrorFrom(err, path);
  }
  try {
    if (!options.readonly) {
      db.pragma('journal_mode = WAL');
      // NORMAL in WAL: a commit is durable against a process crash (kill -9) at once and against power loss
      // at the next checkpoint; FULL would fsync every usage batch for little gain on a relay.
      db.pragma('synchronous = NORMAL');
    }
    db.pragma('foreign_keys = OFF');
    const version = db.pragma('user_version', { simple: true }) as number;
    if (version > SQLITE_SCHEMA_VERSION) {
      throw new StoreError('unknown_format', `the database ${path} was written by a newer Earshot (schema ${version}, this release reads ${SQLITE_SCHEMA_VERSION}); nothing was changed. Upgrade this installation, or restore a backup made by this release.`);
    }
    if (version < SQLITE_SCHEMA_VERSION && !options.readonly) {
      db.transaction(() => {
        // Re-read under the write lock: two processes opening a brand-new (or older) file at once migrate it once.
        const current = db.pragma('user_version', { simple: true }) as number;
        if (current === 0) {
          const tables = db.prepare("SELECT count(*) AS n FROM sqlite_master WHERE type = 'table'").get() as { n: number };
          if (tables.n > 0) throw new StoreError('unknown_format', `${path} is an SQLite database but not an Earshot one; nothing was changed. Move it aside.`);
        }
        for (const m of SQLITE_MIGRATIONS) if (m.version > current) db.exec(m.sql);
        db.pragma(`user_version = ${SQLITE_SCHEMA_VERSION}`);
      }).immediate();
    }
  } catch (err) {
    db.close();
    throw storeErrorFrom(err, path);
  }
  return db;
}

/** Adds usage records and their per-day totals; the caller holds the transaction. */
export function insertUsage(db: Database.Database, records: readonly UsageRecord[]): void {
  const insert = db.prepare(
    `INSERT INTO usage_records (at_ms, day, user_id, session_id, first, last, connected_ms, input_audio_bytes, output_audio_bytes, text_input_tokens, text_output_tokens, audio_input_tokens, audio_output_tokens)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  );
  const daily = db.prepare(
    `INSERT INTO usage_daily (user_id, day, sessions, connected_ms, input_audio_bytes, output_audio_bytes, text_input_tokens, text_output_tokens, audio_input_tokens, audio_output_tokens)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
     ON CONFLICT (user_id, day) DO UPDATE SET sessions = sessions + excluded.sessions, connected_ms = connected_ms + excluded.connected_ms,
       input_audio_bytes = input_audio_bytes + excluded.input_audio_bytes, output_audio_bytes = output_audio_bytes + excluded.output_audio_bytes,
       text_input_tokens = text_input_tokens + excluded.text_input_tokens, text_output_tokens = text_output_tokens + excluded.text_output_tokens,
       audio_input_tokens = audio_input_tokens + excluded.audio_input_tokens, audio_output_tokens = audio_output_tokens + excluded.audio_output_tokens`,
  );
  for (const r of records) {
    const day = new Date(r.at).toISOString().slice(0, 10);
    const c = r.counters;
    const values = [c.connectedMs, c.inputAudioBytes, c.outputAudioBytes, c.textInputTokens, c.textOutputTokens, c.audioInputTokens, c.audioOutputTokens];
    insert.run(r.at, day, r.userId, r.sessionId, r.first ? 1 : 0, r.end ? 1 : 0, ...values);
    daily.run(r.userId, day, r.first ? 1 : 0, ...values);
  }
}

/** Takes a lease seat under the user's limit; the caller holds the (IMMEDIATE) transaction. */
export function acquireLeaseIn(db: Database.Database, request: LeaseRequest): LeaseResult {
  const { n } = db.prepare('SELECT count(*) AS n FROM leases WHERE user_id = ? AND expires_at_ms > ? AND session_id != ?').get(request.userId, request.now, request.replacesSessionId ?? '') as { n: number };
  if (n >= request.maxSessions) return { ok: false, live: n };
  if (request.replacesSessionId !== undefined) db.prepare('DELETE FROM leases WHERE session_id = ?').run(request.replacesSessionId);
  db.prepare(
    'INSERT INTO leases (session_id, user_id, relay_id, expires_at_ms, acquired_at_ms) VALUES (?, ?, ?, ?, ?) ON CONFLICT (session_id) DO UPDATE SET relay_id = excluded.relay_id, expires_at_ms = excluded.expires_at_ms',
  ).run(request.sessionId, request.userId, request.relayId, request.now + request.ttlMs, request.now);
  return { ok: true };
}

/** Renews this relay's leases and drops expired ones (dead relays' sessions); the caller holds the transaction. */
export function renewLeasesIn(db: Database.Database, relayId: string, sessionIds: readonly string[], now: number, ttlMs: number): void {
  const stmt = db.prepare('UPDATE leases SET expires_at_ms = ? WHERE session_id = ? AND relay_id = ?');
  for (const id of sessionIds) stmt.run(now + ttlMs, id, relayId);
  // Expired leases are dead relays' sessions: drop them while holding the lock anyway.
  db.prepare('DELETE FROM leases WHERE expires_at_ms <= ?').run(now);
}

export function releaseLeaseIn(db: Database.Database, sessionId: string): void {
  db.prepare('DELETE FROM leases WHERE session_id = ?').run(sessionId);
}

/**
 * Retention's deletes (Store.prune): the rows the policy no longer keeps, a batch per BEGIN IMMEDIATE
 * transaction, awaiting `between` after each full batch so other work runs in the gaps (the event loop inline;
 * usage and lease writes on the writer thread). A year of a busy relay's raw records is millions of rows.
 */
export async function pruneIn(db: Database.Database, policy: RetentionPolicy, between: () => Promise<unknown>): Promise<PruneResult> {
  const batch = policy.batchRows ?? DEFAULT_PRUNE_BATCH_ROWS;
  const write = <T>(fn: () => T): T => db.transaction(fn).immediate();
  /** Deletes the rows `select` picks (an id subquery ending in LIMIT ?), a batch per transaction. */
  const deleteInBatches = async (table: string, select: string, params: Array<string | number>): Promise<number> => {
    const stmt = db.prepare(`DELETE FROM ${table} WHERE id IN (${select})`);
    let total = 0;
    for (;;) {
      const n = write(() => stmt.run(...params, batch).changes);
      total += n;
      if (n < batch) return total;
      await between();
    }
  };
  const firstDay = firstKeptUsageDay(policy);
  const usageRecords = firstDay === null ? 0 : await deleteInBatches('usage_records', 'SELECT id FROM usage_records WHERE day < ? LIMIT ?', [firstDay]);
  const liveSince = policy.now - policy.readerTtlMs;
  const horizon = (db.prepare('SELECT MIN(change_id) AS id FROM feed_readers WHERE seen_at_ms > ?').get(liveSince) as { id: number | null }).id;
  const iso = (ms: number) => new Date(ms).toISOString();
  const changes = await deleteInBatches('changes', 'SELECT id FROM changes WHERE (id <= ? AND at < ?) OR at < ? LIMIT ?', [
    horizon ?? Number.MAX_SAFE_INTEGER,
    iso(policy.now - policy.changesGraceMs),
    iso(policy.now - policy.changesMaxAgeMs),
  ]);
  const readers = write(() => db.prepare('DELETE FROM feed_readers WHERE seen_at_ms <= ?').run(liveSince).changes);
  return { usageRecords, changes, readers };
}

export class SqliteStore implements Store {
  readonly kind = 'sqlite' as const;
  readonly location: string;
  private readonly db: Database.Database;
  private readonly watchers = new Set<{ lastId: number; listener: (changes: StoreChange[]) => void; onError?: ((err: StoreError) => void) | undefined }>();
  private feedTimer: NodeJS.Timeout | undefined;
  private dataVersion = -1;
  private notifyQueued = false;
  private dataVersionStmt: Database.Statement | undefined;
  private closed = false;
  private readonly feedPollMs: number;
  /** The writer thread, when opened with `writer: 'worker'` (tests reach it to kill it mid-batch). */
  readonly writer: SqliteWriter | null;

  private constructor(path: string, db: Database.Database, feedPollMs: number, writer: SqliteWriter | null) {
    this.location = path;
    this.db = db;
    this.feedPollMs = feedPollMs;
    this.writer = writer;
  }

  /** Opens (creating if needed, unless readonly) `<dataDir>/earshot.db`. StoreError on a file that is not ours or newer. */
  static async open(dataDir: string, options: SqliteStoreOptions = {}): Promise<SqliteStore> {
    const path = sqlitePath(dataDir);
    return SqliteStore.openFile(path, options, dataDir);
  }

  /** Opens a database at an explicit path (backup files, restore checks). */
  static async openFile(path: string, options: SqliteStoreOptions = {}, dataDir?: string): Promise<SqliteStore> {
    const db = openSqliteDatabase(path, options, dataDir);
    const writer = options.writer === 'worker' && !options.readonly ? new SqliteWriter({ path, busyTimeoutMs: options.busyTimeoutMs ?? DEFAULT_BUSY_TIMEOUT_MS }) : null;
    return new SqliteStore(path, db, options.feedPollMs ?? FEED_POLL_MS, writer);
  }

  /** Runs `fn` in one BEGIN IMMEDIATE transaction, mapping SQLite failures to StoreErrors; wakes this connection's watchers after a commit. */
  private write<T>(fn: () => T): T {
    this.assertOpen();
    try {
      const result = this.db.transaction(fn).immediate();
      this.queueNotify();
      return result;
    } catch (err) {
      throw storeErrorFrom(err, this.location);
    }
  }

  private read<T>(fn: () => T): T {
    this.assertOpen();
    try {
      return fn();
    } catch (err) {
      throw storeErrorFrom(err, this.location);
    }
  }

  private assertOpen(): void {
    if (this.closed) throw new StoreError('unavailable', `the database ${this.location} is closed`);
  }

  private userRow(id: string): UserRecord | undefined {
    const row = this.db.prepare('SELECT * FROM users WHERE id = ?').get(id) as UserRow | undefined;
    return row ? userFromRow(row) : undefined;
  }

  private saveUser(u: UserRecord): void {
    this.db
      .prepare(
        `INSERT INTO users (id, enabled, max_sessions, daily_minutes, monthly_minutes, daily_tokens, monthly_tokens, voice, instructions, created_at)
         VALUES (@id, @enabled, @maxSessions, @dailyMinutes, @monthlyMinutes, @dailyTokens, @monthlyTokens, @voice, @instructions, @createdAt)
         ON CONFLICT (id) DO UPDATE SET enabled = excluded.enabled, max_sessions = excluded.max_sessions, daily_minutes = excluded.daily_minutes,
           monthly_minutes = excluded.monthly_minutes, daily_tokens = excluded.daily_tokens, monthly_tokens = excluded.monthly_tokens,
           voice = excluded.voice, instructions = excluded.instructions`,
      )
      .run({ ...u, enabled: u.enabled ? 1 : 0, voice: u.voice ?? null, instructions: u.instructions ?? null });
  }

  // --- users -------------------------------------------------------------------------------------------------

  async getUser(id: string): Promise<UserRecord | undefined> {
    return this.read(() => this.userRow(id));
  }

  async listUsers(): Promise<UserRecord[]> {
    return this.read(() => (this.db.prepare('SELECT * FROM users ORDER BY id').all() as UserRow[]).map(userFromRow));
  }

  async addUser(patch: UserPatch): Promise<UserRecord> {
    checkUserId(patch.id);
    return this.write(() => {
      if (this.userRow(patch.id)) throw new StoreError('user_exists', `user "${patch.id}" exists; use \`users set\``);
      const user = applyPatch(newUser(patch.id), patch);
      this.saveUser(user);
      return user;
    });
  }

  async updateUser(patch: UserPatch): Promise<UserRecord> {
    return this.write(() => {
      const current = this.userRow(patch.id);
      if (!current) throw new StoreError('no_such_user', `no such user "${patch.id}"; use \`users add\``);
      const user = applyPatch(current, patch);
      this.saveUser(user);
      return user;
    });
  }

  async upsertUser(patch: UserPatch): Promise<UserRecord> {
    checkUserId(patch.id);
    return this.write(() => {
      const user = applyPatch(this.userRow(patch.id) ?? newUser(patch.id), patch);
      this.saveUser(user);
      return user;
    });
  }

  async removeUser(userId: string): Promise<string[]> {
    return this.write(() => {
      if (!this.userRow(userId)) throw new StoreError('no_such_user', `no such user "${userId}"`);
      const tokens = (this.db.prepare('SELECT id FROM tokens WHERE user_id = ? ORDER BY created_at').all(userId) as Array<{ id: string }>).map((t) => t.id);
      this.db.prepare('DELETE FROM tokens WHERE user_id = ?').run(userId);
      this.db.prepare('DELETE FROM leases WHERE user_id = ?').run(userId);
      this.db.prepare('DELETE FROM users WHERE id = ?').run(userId);
      return tokens;
    });
  }

  // --- tokens ------------------------------------------------------------------------------------------------

  async addToken(record: TokenRecord): Promise<void> {
    checkUserId(record.userId);
    this.write(() => {
      if (!this.userRow(record.userId)) this.saveUser(newUser(record.userId));
      this.db
        .prepare('INSERT INTO tokens (id, user_id, created_at, expires_at, revoked_at) VALUES (?, ?, ?, ?, ?)')
        .run(record.id, record.userId, record.createdAt, record.expiresAt, record.revokedAt ?? null);
    });
  }

  async getToken(id: string): Promise<TokenRecord | undefined> {
    return this.read(() => {
      const row = this.db.prepare('SELECT * FROM tokens WHERE id = ?').get(id) as TokenRow | undefined;
      return row ? tokenFromRow(row) : undefined;
    });
  }

  async listTokens(): Promise<TokenRecord[]> {
    return this.read(() => (this.db.prepare('SELECT * FROM tokens ORDER BY created_at, id').all() as TokenRow[]).map(tokenFromRow));
  }

  async revoke(tokenOrUserId: string, now = new Date()): Promise<string[]> {
    return this.write(() => {
      const rows = this.db.prepare('SELECT id, user_id FROM tokens WHERE (id = ? OR user_id = ?) AND revoked_at IS NULL ORDER BY created_at, id').all(tokenOrUserId, tokenOrUserId) as Array<{ id: string; user_id: string }>;
      const stmt = this.db.prepare('UPDATE tokens SET revoked_at = ? WHERE id = ?');
      for (const r of rows) {
        stmt.run(now.toISOString(), r.id);
      }
      return rows.map((r) => r.id);
    });
  }

  async snapshot(): Promise<DirectorySnapshot> {
    // One read transaction: users, tokens and the change id from the same instant.
    return this.read(() =>
      this.db.transaction(() => ({
        users: (this.db.prepare('SELECT * FROM users ORDER BY id').all() as UserRow[]).map(userFromRow),
        tokens: (this.db.prepare('SELECT * FROM tokens ORDER BY created_at, id').all() as TokenRow[]).map(tokenFromRow),
        changeId: (this.db.prepare('SELECT COALESCE(MAX(id), 0) AS id FROM changes').get() as { id: number }).id,
      }))(),
    );
  }

  // --- usage -------------------------------------------------------------------------------------------------

  async appendUsage(records: readonly UsageRecord[]): Promise<void> {
    if (records.length === 0) return;
    if (this.writer) return void (await this.writer.request({ kind: 'appendUsage', records: [...records] }));
    this.write(() => insertUsage(this.db, records));
  }

  async quotaTotals(userIds: readonly string[], at: number): Promise<Map<string, QuotaTotals>> {
    const iso = new Date(at).toISOString();
    const day = iso.slice(0, 10);
    const month = iso.slice(0, 7);
    return this.read(() => {
      const dayStmt = this.db.prepare('SELECT * FROM usage_daily WHERE user_id = ? AND day = ?');
      // `day` is `YYYY-MM-DD`, so the month's rows are a range on the primary key.
      const monthStmt = this.db.prepare(`SELECT ${SUM_COUNTERS} FROM usage_daily WHERE user_id = ? AND day >= ? AND day < ?`);
      const out = new Map<string, QuotaTotals>();
      for (const id of userIds) {
        const m = monthStmt.get(id, `${month}-00`, `${month}-99`) as CounterRow | undefined;
        out.set(id, { day: periodFromRow(dayStmt.get(id, day) as CounterRow | undefined), month: periodFromRow(m) });
      }
      return out;
    });
  }

  async usageByDay(filter: UsageFilter = {}): Promise<UsageDay[]> {
    const where: string[] = [];
    const params: string[] = [];
    if (filter.userId !== undefined) (where.push('user_id = ?'), params.push(filter.userId));
    if (filter.since !== undefined) (where.push('day >= ?'), params.push(filter.since));
    if (filter.until !== undefined) (where.push('day <= ?'), params.push(filter.until));
    return this.read(() =>
      (this.db.prepare(`SELECT * FROM usage_daily ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY day, user_id`).all(...params) as Array<CounterRow & { user_id: string; day: string }>).map((r) => ({
        userId: r.user_id,
        day: r.day,
        ...periodFromRow(r),
      })),
    );
  }

  // --- leases ------------------------------------------------------------------------------------------------

  async acquireLease(request: LeaseRequest): Promise<LeaseResult> {
    if (this.writer) return this.writer.request({ kind: 'acquireLease', request }) as Promise<LeaseResult>;
    return this.write(() => acquireLeaseIn(this.db, request));
  }

  async renewLeases(relayId: string, sessionIds: readonly string[], now: number, ttlMs: number): Promise<void> {
    if (sessionIds.length === 0) return;
    if (this.writer) return void (await this.writer.request({ kind: 'renewLeases', relayId, sessionIds: [...sessionIds], now, ttlMs }));
    this.write(() => renewLeasesIn(this.db, relayId, sessionIds, now, ttlMs));
  }

  async releaseLease(sessionId: string): Promise<void> {
    if (this.writer) return void (await this.writer.request({ kind: 'releaseLease', sessionId }));
    this.write(() => releaseLeaseIn(this.db, sessionId));
  }

  async liveLeases(userId: string, now: number): Promise<number> {
    return this.read(() => (this.db.prepare('SELECT count(*) AS n FROM leases WHERE user_id = ? AND expires_at_ms > ?').get(userId, now) as { n: number }).n);
  }

  async seatOrder(userId: string, now: number): Promise<LeaseSeat[]> {
    return this.read(() =>
      (
        this.db
          .prepare('SELECT session_id, relay_id, acquired_at_ms FROM leases WHERE user_id = ? AND expires_at_ms > ? ORDER BY acquired_at_ms, session_id')
          .all(userId, now) as Array<{ session_id: string; relay_id: string; acquired_at_ms: number }>
      ).map((r) => ({ sessionId: r.session_id, relayId: r.relay_id, acquiredAt: r.acquired_at_ms })),
    );
  }

  // --- change feed -------------------------------------------------------------------------------------------

  async markFeedRead(relayId: string, changeId: number, now: number): Promise<void> {
    this.write(() =>
      this.db
        .prepare('INSERT INTO feed_readers (relay_id, change_id, seen_at_ms) VALUES (?, ?, ?) ON CONFLICT (relay_id) DO UPDATE SET change_id = excluded.change_id, seen_at_ms = excluded.seen_at_ms')
        .run(relayId, changeId, now),
    );
  }

  // --- retention ---------------------------------------------------------------------------------------------

  async prune(policy: RetentionPolicy): Promise<PruneResult> {
    if (this.writer) return this.writer.request({ kind: 'prune', policy });
    this.assertOpen();
    try {
      const result = await pruneIn(this.db, policy, () => new Promise((resolve) => setImmediate(resolve)));
      this.queueNotify();
      return result;
    } catch (err) {
      throw storeErrorFrom(err, this.location);
    }
  }

  async changesSince(afterId: number): Promise<StoreChange[]> {
    return this.read(() => this.readChanges(afterId));
  }

  private readChanges(afterId: number): StoreChange[] {
    return (this.db.prepare('SELECT id, kind, user_id, token_id FROM changes WHERE id > ? ORDER BY id').all(afterId) as ChangeRow[]).map(changeFromRow);
  }

  watch(afterId: number, listener: (changes: StoreChange[]) => void, onError?: (err: StoreError) => void): () => void {
    const watcher = { lastId: afterId, listener, onError };
    this.watchers.add(watcher);
    if (!this.feedTimer && !this.closed) {
      this.feedTimer = setInterval(() => this.pollFeed(), this.feedPollMs);
      this.feedTimer.unref();
    }
    this.queueNotify(); // changes between afterId and now
    return () => {
      this.watchers.delete(watcher);
      if (this.watchers.size === 0) {
        clearInterval(this.feedTimer);
        this.feedTimer = undefined;
      }
    };
  }

  /** The timer: a change by another connection moves data_version; only then are `changes` rows read. */
  private pollFeed(): void {
    if (this.closed) return;
    let version: number;
    try {
      // Prepared once: db.pragma() compiles the statement on every call, ten times a second.
      this.dataVersionStmt ??= this.db.prepare('PRAGMA data_version').pluck();
      version = this.dataVersionStmt.get() as number;
    } catch (err) {
      this.feedFailed(err);
      return;
    }
    if (version === this.dataVersion) return;
    this.dataVersion = version;
    this.deliver();
  }

  private queueNotify(): void {
    if (this.notifyQueued || this.watchers.size === 0) return;
    this.notifyQueued = true;
    setImmediate(() => {
      this.notifyQueued = false;
      this.deliver();
    });
  }

  private deliver(): void {
    if (this.closed) return;
    for (const w of [...this.watchers]) {
      let changes: StoreChange[];
      try {
        changes = this.readChanges(w.lastId);
      } catch (err) {
        this.feedFailed(err);
        return;
      }
      if (changes.length === 0) continue;
      w.lastId = changes.at(-1)!.id;
      try {
        w.listener(changes);
      } catch {
        // A listener's bug must not stop the feed for the others; the listener logs its own failures.
      }
    }
  }

  private feedFailed(err: unknown): void {
    this.dataVersion = -1; // read again once it recovers
    const error = storeErrorFrom(err, this.location);
    const storeError = error instanceof StoreError ? error : new StoreError('unavailable', `cannot read the change feed of ${this.location}: ${(err as Error).message}`, { cause: err });
    for (const w of this.watchers) w.onError?.(storeError);
  }

  // --- SQLite only -------------------------------------------------------------------------------------------

  /** A consistent copy of the live database at `toPath` (SQLite's online backup API: safe while others write). */
  async backupTo(toPath: string): Promise<void> {
    this.assertOpen();
    try {
      await this.db.backup(toPath);
    } catch (err) {
      throw storeErrorFrom(err, this.location);
    }
  }

  /** `PRAGMA integrity_check`: 'ok' or the problems SQLite found. */
  integrityCheck(): string {
    return this.read(() => (this.db.pragma('integrity_check') as Array<{ integrity_check: string }>).map((r) => r.integrity_check).join('; '));
  }

  /** Rows per table, for doctor and the migration's report. */
  counts(): Record<'users' | 'tokens' | 'usage_records' | 'leases' | 'changes', number> {
    return this.read(() => {
      const n = (table: string): number => (this.db.prepare(`SELECT count(*) AS n FROM ${table}`).get() as { n: number }).n;
      return { users: n('users'), tokens: n('tokens'), usage_records: n('usage_records'), leases: n('leases'), changes: n('changes') };
    });
  }

  /** Raw access for the migration's bulk import (one transaction) and tests. */
  get database(): Database.Database {
    return this.db;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.feedTimer);
    this.feedTimer = undefined;
    this.watchers.clear();
    // Writes already posted to the writer thread are committed first (a graceful shutdown's last usage batch).
    await this.writer?.close();
    this.db.close();
  }
}
