// The fleet Store: one PostgreSQL database (`DATABASE_URL=postgres://…`) shared by several relays and every
// operator CLI, through `postgres` (porsager): a small pool per process plus one LISTEN connection.
//
// - Schema: migrated on open (postgres-schema.ts) inside one transaction holding an advisory lock, so relays
//   and CLIs starting at once against an empty database create it once; a newer schema is refused.
// - Read-modify-write: every write is one transaction. Writes to users and tokens (rare: CLIs, first run)
//   take FEED_LOCK first, which serialises them, so no edit is ever lost and — the reason for the lock —
//   `changes` ids become visible in id order: with concurrent inserts a bigserial can commit 6 before 5, and
//   a reader that saw 6 would skip 5 for ever.
// - Leases: acquiring takes a per-user advisory lock (pg_advisory_xact_lock(LEASE_LOCK_SPACE, hashtext(user)))
//   before counting the user's unexpired leases, so racing upgrades on any relays are decided one at a time.
//   A lease expires unless renewed (heartbeats), so a relay killed with -9 stops counting within its ttl.
// - Change feed: a write that appends to `changes` also runs `pg_notify(CHANGES_CHANNEL)` in its transaction
//   (delivered at commit). Watchers LISTEN and, on each notification, read `changes` after the last id they
//   saw; on every (re)connect of the LISTEN connection they catch up the same way. A slow fallback poll
//   (feedPollMs) re-reads too, in case a notification was lost, and is how `onError` hears the server gone.
// - Usage: appendUsage writes a whole batch in one transaction (records + per-day totals pre-summed per user
//   and day, in key order so two relays' batches cannot deadlock).
//
// THREADING: all I/O is async on the relay's event loop; nothing here blocks it. Errors that mean "cannot
// reach or write the database" (connection refused/closed, shutdown, disk full, too many connections)
// become StoreError `unavailable`, which the relay turns into "refuse new sessions, keep live ones".
import postgres from 'postgres';
import { CHANGES_CHANNEL, FEED_LOCK, LEASE_LOCK_SPACE, LOCK_SPACE, MIGRATION_LOCK, MIGRATIONS, POSTGRES_SCHEMA_VERSION } from './postgres-schema.ts';
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
import { changeFromRow, COUNTER_COLUMNS, periodFromRow, sumCounters, tokenFromRow, userFromRow, type ChangeRow, type CounterRow, type TokenRow, type UserRow } from './store-rows.ts';

/** The fallback re-read of the change feed; NOTIFY is the prompt path (milliseconds), this only covers a lost one. */
export const DEFAULT_FEED_POLL_MS = 5_000;

export interface PostgresStoreOptions {
  /** Pool size of this process (the LISTEN connection is one more). The relay needs few: batches, not frames. */
  maxConnections?: number;
  /** Seconds to wait for a connection before failing `unavailable`. */
  connectTimeoutSeconds?: number;
  feedPollMs?: number;
}

type Sql = postgres.Sql<{ bigint: number }>;
/** What both the pool and a transaction offer: tagged queries and `sql(values)` helpers. */
type Tx = postgres.TransactionSql<{ bigint: number }>;


/** SUM of bigint is numeric in PostgreSQL: cast back so it parses as a number. */
const SUM_COUNTERS = sumCounters((sum) => `COALESCE(${sum}, 0)::bigint`);

/** Connection-level failures (node errors and postgres.js's own codes) and server states that mean "not reachable now". */
const UNAVAILABLE_NODE_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ENOTFOUND', 'EAI_AGAIN', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'EPIPE', 'CONNECT_TIMEOUT', 'CONNECTION_CLOSED', 'CONNECTION_ENDED', 'CONNECTION_DESTROYED']);
/** SQLSTATE classes: 08 connection exception, 53 insufficient resources (disk full, too many connections), 57 operator intervention (shutdown), 25006 read-only transaction. */
const UNAVAILABLE_SQLSTATE = /^(08|53|57)|^25006$/;

/** The URL without its password, for sentences and logs. */
export function redactedUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return 'postgres://(unparseable URL)';
  }
}

/** A postgres.js / node error as a StoreError with a sentence; our own StoreErrors pass through. */
export function storeErrorFromPostgres(err: unknown, location: string): unknown {
  if (err instanceof StoreError) return err;
  const code = (err as { code?: unknown }).code;
  const message = (err as Error).message;
  const errno = (err as { errno?: unknown }).errno;
  const isAggregate = err instanceof AggregateError && err.errors.some((e) => UNAVAILABLE_NODE_CODES.has((e as { code?: string }).code ?? ''));
  if ((typeof code === 'string' && (UNAVAILABLE_NODE_CODES.has(code) || UNAVAILABLE_SQLSTATE.test(code))) || (typeof errno === 'string' && UNAVAILABLE_NODE_CODES.has(errno)) || isAggregate) {
    return new StoreError('unavailable', `the database ${location} cannot be reached or written right now (${typeof code === 'string' ? `${code}: ` : ''}${message || 'connection failed'}); check that PostgreSQL is running, reachable from this host, and not out of disk or connections.`, { cause: err });
  }
  if (typeof code === 'string' && code === '3D000') {
    return new StoreError('unavailable', `the database in ${location} does not exist (${message}); create it (createdb) or fix DATABASE_URL.`, { cause: err });
  }
  if (typeof code === 'string' && code.startsWith('28')) {
    return new StoreError('unavailable', `PostgreSQL refused the login for ${location} (${message}); check the user and password in DATABASE_URL.`, { cause: err });
  }
  return err;
}

interface Watcher {
  lastId: number;
  listener: (changes: StoreChange[]) => void;
  onError?: ((err: StoreError) => void) | undefined;
}

export class PostgresStore implements Store {
  readonly kind = 'postgres' as const;
  readonly location: string;
  private readonly watchers = new Set<Watcher>();
  private listening: Promise<unknown> | undefined;
  private unlisten: (() => Promise<void>) | undefined;
  private feedTimer: NodeJS.Timeout | undefined;
  private delivering = false;
  private deliverAgain = false;
  private closed = false;

  private constructor(
    private readonly sql: Sql,
    location: string,
    private readonly feedPollMs: number,
  ) {
    this.location = location;
  }

  /** Connects, migrates the schema if needed, and returns the store. StoreError `unavailable` / `unknown_format`. */
  static async open(url: string, options: PostgresStoreOptions = {}): Promise<PostgresStore> {
    const location = redactedUrl(url);
    const sql: Sql = postgres(url, {
      max: options.maxConnections ?? 4,
      connect_timeout: options.connectTimeoutSeconds ?? 5,
      // CREATE … IF NOT EXISTS and friends print notices: not for the relay's stdout.
      onnotice: () => {},
      // int8 (oid 20) as a JS number: counters and epoch values stay far below 2^53.
      types: { bigint: { to: 20, from: [20], serialize: (x: number) => String(x), parse: (x: string) => Number(x) } },
      connection: { application_name: 'earshot' },
    });
    try {
      await PostgresStore.migrate(sql, location);
    } catch (err) {
      await sql.end({ timeout: 0 }).catch(() => {});
      throw storeErrorFromPostgres(err, location);
    }
    return new PostgresStore(sql, location, options.feedPollMs ?? DEFAULT_FEED_POLL_MS);
  }

  private static async migrate(sql: Sql, location: string): Promise<void> {
    await sql.begin(async (tx: Tx) => {
      await tx`SELECT pg_advisory_xact_lock(${LOCK_SPACE}::int4, ${MIGRATION_LOCK}::int4)`;
      await tx`CREATE TABLE IF NOT EXISTS earshot_schema (version integer NOT NULL)`;
      const rows = await tx<Array<{ version: number }>>`SELECT version FROM earshot_schema`;
      let version = rows[0]?.version ?? 0;
      if (version > POSTGRES_SCHEMA_VERSION) {
        throw new StoreError('unknown_format', `the database ${location} was written by a newer Earshot (schema ${version}, this release reads ${POSTGRES_SCHEMA_VERSION}); nothing was changed. Upgrade this relay, or point DATABASE_URL at another database.`);
      }
      if (rows.length === 0) await tx`INSERT INTO earshot_schema (version) VALUES (0)`;
      for (const m of MIGRATIONS) {
        if (m.version <= version) continue;
        await tx.unsafe(m.sql);
        version = m.version;
        await tx`UPDATE earshot_schema SET version = ${version}`;
      }
    });
  }

  private assertOpen(): void {
    if (this.closed) throw new StoreError('unavailable', `the database ${this.location} is closed`);
  }

  /** One transaction; failures become StoreErrors. */
  private async tx<T>(fn: (tx: Tx) => Promise<T>): Promise<T> {
    this.assertOpen();
    try {
      return (await this.sql.begin(fn)) as T;
    } catch (err) {
      throw storeErrorFromPostgres(err, this.location);
    }
  }

  /** A transaction that edits users/tokens: serialised with every other such write, and announced at commit. */
  private directoryWrite<T>(fn: (tx: Tx) => Promise<T>): Promise<T> {
    return this.tx(async (tx) => {
      await tx`SELECT pg_advisory_xact_lock(${LOCK_SPACE}::int4, ${FEED_LOCK}::int4)`;
      return fn(tx);
    });
  }

  private async read<T>(fn: (sql: Sql) => Promise<T>): Promise<T> {
    this.assertOpen();
    try {
      return await fn(this.sql);
    } catch (err) {
      throw storeErrorFromPostgres(err, this.location);
    }
  }

  private async recordChange(tx: Tx, kind: StoreChange['kind'], userId: string, tokenId: string | null = null): Promise<void> {
    await tx`INSERT INTO changes (kind, user_id, token_id) VALUES (${kind}, ${userId}, ${tokenId})`;
    // Delivered once, at commit, however many changes the transaction made (PostgreSQL folds identical ones).
    await tx`SELECT pg_notify(${CHANGES_CHANNEL}, '')`;
  }

  private async userRow(tx: Tx | Sql, id: string): Promise<UserRecord | undefined> {
    const rows = await tx<UserRow[]>`SELECT * FROM users WHERE id = ${id}`;
    return rows[0] ? userFromRow(rows[0]) : undefined;
  }

  private async saveUser(tx: Tx, u: UserRecord): Promise<void> {
    await tx`
      INSERT INTO users (id, enabled, max_sessions, daily_minutes, monthly_minutes, daily_tokens, monthly_tokens, voice, instructions, created_at)
      VALUES (${u.id}, ${u.enabled}, ${u.maxSessions}, ${u.dailyMinutes}, ${u.monthlyMinutes}, ${u.dailyTokens}, ${u.monthlyTokens}, ${u.voice ?? null}, ${u.instructions ?? null}, ${u.createdAt}::timestamptz)
      ON CONFLICT (id) DO UPDATE SET enabled = excluded.enabled, max_sessions = excluded.max_sessions, daily_minutes = excluded.daily_minutes,
        monthly_minutes = excluded.monthly_minutes, daily_tokens = excluded.daily_tokens, monthly_tokens = excluded.monthly_tokens,
        voice = excluded.voice, instructions = excluded.instructions`;
    await this.recordChange(tx, 'user_changed', u.id);
  }

  // --- users -------------------------------------------------------------------------------------------------

  getUser(id: string): Promise<UserRecord | undefined> {
    return this.read((sql) => this.userRow(sql, id));
  }

  listUsers(): Promise<UserRecord[]> {
    return this.read(async (sql) => (await sql<UserRow[]>`SELECT * FROM users ORDER BY id`).map(userFromRow));
  }

  async addUser(patch: UserPatch): Promise<UserRecord> {
    checkUserId(patch.id);
    return this.directoryWrite(async (tx) => {
      if (await this.userRow(tx, patch.id)) throw new StoreError('user_exists', `user "${patch.id}" exists; use \`users set\``);
      const user = applyPatch(newUser(patch.id), patch);
      await this.saveUser(tx, user);
      return user;
    });
  }

  async updateUser(patch: UserPatch): Promise<UserRecord> {
    return this.directoryWrite(async (tx) => {
      const current = await this.userRow(tx, patch.id);
      if (!current) throw new StoreError('no_such_user', `no such user "${patch.id}"; use \`users add\``);
      const user = applyPatch(current, patch);
      await this.saveUser(tx, user);
      return user;
    });
  }

  async upsertUser(patch: UserPatch): Promise<UserRecord> {
    checkUserId(patch.id);
    return this.directoryWrite(async (tx) => {
      const user = applyPatch((await this.userRow(tx, patch.id)) ?? newUser(patch.id), patch);
      await this.saveUser(tx, user);
      return user;
    });
  }

  async removeUser(userId: string): Promise<string[]> {
    return this.directoryWrite(async (tx) => {
      if (!(await this.userRow(tx, userId))) throw new StoreError('no_such_user', `no such user "${userId}"`);
      const tokens = (await tx<Array<{ id: string }>>`SELECT id FROM tokens WHERE user_id = ${userId} ORDER BY created_at, id`).map((t) => t.id);
      await tx`DELETE FROM tokens WHERE user_id = ${userId}`;
      await tx`DELETE FROM leases WHERE user_id = ${userId}`;
      await tx`DELETE FROM users WHERE id = ${userId}`;
      for (const id of tokens) await this.recordChange(tx, 'token_removed', userId, id);
      await this.recordChange(tx, 'user_removed', userId);
      return tokens;
    });
  }

  // --- tokens ------------------------------------------------------------------------------------------------

  async addToken(record: TokenRecord): Promise<void> {
    checkUserId(record.userId);
    await this.directoryWrite(async (tx) => {
      if (!(await this.userRow(tx, record.userId))) await this.saveUser(tx, newUser(record.userId));
      await tx`INSERT INTO tokens (id, user_id, created_at, expires_at, revoked_at)
               VALUES (${record.id}, ${record.userId}, ${record.createdAt}::timestamptz, ${record.expiresAt}, ${record.revokedAt ?? null}::timestamptz)`;
      await this.recordChange(tx, 'token_added', record.userId, record.id);
    });
  }

  getToken(id: string): Promise<TokenRecord | undefined> {
    return this.read(async (sql) => {
      const rows = await sql<TokenRow[]>`SELECT * FROM tokens WHERE id = ${id}`;
      return rows[0] ? tokenFromRow(rows[0]) : undefined;
    });
  }

  listTokens(): Promise<TokenRecord[]> {
    return this.read(async (sql) => (await sql<TokenRow[]>`SELECT * FROM tokens ORDER BY created_at, id`).map(tokenFromRow));
  }

  async revoke(tokenOrUserId: string, now = new Date()): Promise<string[]> {
    return this.directoryWrite(async (tx) => {
      const rows = await tx<Array<{ id: string; user_id: string; created_at: Date }>>`
        UPDATE tokens SET revoked_at = ${now.toISOString()}::timestamptz
        WHERE (id = ${tokenOrUserId} OR user_id = ${tokenOrUserId}) AND revoked_at IS NULL
        RETURNING id, user_id, created_at`;
      const sorted = [...rows].sort((a, b) => a.created_at.getTime() - b.created_at.getTime() || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
      for (const r of sorted) await this.recordChange(tx, 'token_revoked', r.user_id, r.id);
      return sorted.map((r) => r.id);
    });
  }

  async snapshot(): Promise<DirectorySnapshot> {
    this.assertOpen();
    try {
      // One REPEATABLE READ transaction: users, tokens and the change id from the same instant.
      return await this.sql.begin('ISOLATION LEVEL REPEATABLE READ READ ONLY', async (tx: Tx) => {
        const users = (await tx<UserRow[]>`SELECT * FROM users ORDER BY id`).map(userFromRow);
        const tokens = (await tx<TokenRow[]>`SELECT * FROM tokens ORDER BY created_at, id`).map(tokenFromRow);
        const [last] = await tx<Array<{ id: number }>>`SELECT COALESCE(MAX(id), 0)::bigint AS id FROM changes`;
        return { users, tokens, changeId: last?.id ?? 0 };
      });
    } catch (err) {
      throw storeErrorFromPostgres(err, this.location);
    }
  }

  // --- usage -------------------------------------------------------------------------------------------------

  async appendUsage(records: readonly UsageRecord[]): Promise<void> {
    if (records.length === 0) return;
    const rows = records.map((r) => {
      const c = r.counters;
      return {
        at_ms: r.at,
        day: new Date(r.at).toISOString().slice(0, 10),
        user_id: r.userId,
        session_id: r.sessionId,
        first: r.first,
        last: r.end,
        connected_ms: c.connectedMs,
        input_audio_bytes: c.inputAudioBytes,
        output_audio_bytes: c.outputAudioBytes,
        text_input_tokens: c.textInputTokens,
        text_output_tokens: c.textOutputTokens,
        audio_input_tokens: c.audioInputTokens,
        audio_output_tokens: c.audioOutputTokens,
      };
    });
    // One row per (user, day), in key order: two relays' batches lock usage_daily rows in the same order.
    const daily = new Map<string, Record<string, string | number>>();
    for (const r of rows) {
      const key = `${r.user_id}\u0000${r.day}`;
      let d = daily.get(key);
      if (!d) {
        d = { user_id: r.user_id, day: r.day, sessions: 0, ...Object.fromEntries(COUNTER_COLUMNS.map((c) => [c, 0])) };
        daily.set(key, d);
      }
      d.sessions = (d.sessions as number) + (r.first ? 1 : 0);
      for (const c of COUNTER_COLUMNS) d[c] = (d[c] as number) + r[c];
    }
    const dailyRows = [...daily.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, d]) => d);
    await this.tx(async (tx) => {
      await tx`INSERT INTO usage_records ${tx(rows)}`;
      await tx`
        INSERT INTO usage_daily ${tx(dailyRows)}
        ON CONFLICT (user_id, day) DO UPDATE SET sessions = usage_daily.sessions + excluded.sessions,
          connected_ms = usage_daily.connected_ms + excluded.connected_ms,
          input_audio_bytes = usage_daily.input_audio_bytes + excluded.input_audio_bytes,
          output_audio_bytes = usage_daily.output_audio_bytes + excluded.output_audio_bytes,
          text_input_tokens = usage_daily.text_input_tokens + excluded.text_input_tokens,
          text_output_tokens = usage_daily.text_output_tokens + excluded.text_output_tokens,
          audio_input_tokens = usage_daily.audio_input_tokens + excluded.audio_input_tokens,
          audio_output_tokens = usage_daily.audio_output_tokens + excluded.audio_output_tokens`;
    });
  }

  async quotaTotals(userIds: readonly string[], at: number): Promise<Map<string, QuotaTotals>> {
    const out = new Map<string, QuotaTotals>();
    for (const id of userIds) out.set(id, { day: periodFromRow(undefined), month: periodFromRow(undefined) });
    if (userIds.length === 0) return out;
    const iso = new Date(at).toISOString();
    const day = iso.slice(0, 10);
    const monthStart = `${iso.slice(0, 7)}-01`;
    const ids = [...userIds];
    return this.read(async (sql) => {
      const today = await sql<Array<CounterRow & { user_id: string }>>`
        SELECT * FROM usage_daily WHERE user_id = ANY(${ids}::text[]) AND day = ${day}::date`;
      // The month's rows are a range on the primary key (user_id, day).
      const month = await sql<Array<CounterRow & { user_id: string }>>`
        SELECT user_id, ${sql.unsafe(SUM_COUNTERS)} FROM usage_daily
        WHERE user_id = ANY(${ids}::text[]) AND day >= ${monthStart}::date AND day < (${monthStart}::date + interval '1 month')
        GROUP BY user_id`;
      for (const r of today) out.get(r.user_id)!.day = periodFromRow(r);
      for (const r of month) out.get(r.user_id)!.month = periodFromRow(r);
      return out;
    });
  }

  usageByDay(filter: UsageFilter = {}): Promise<UsageDay[]> {
    return this.read(async (sql) => {
      const rows = await sql<Array<CounterRow & { user_id: string; day: string }>>`
        SELECT user_id, day::text AS day, sessions, ${sql.unsafe(COUNTER_COLUMNS.join(', '))}
        FROM usage_daily
        WHERE true
          ${filter.userId !== undefined ? sql`AND user_id = ${filter.userId}` : sql``}
          ${filter.since !== undefined ? sql`AND day >= ${filter.since}::date` : sql``}
          ${filter.until !== undefined ? sql`AND day <= ${filter.until}::date` : sql``}
        ORDER BY day, user_id`;
      return rows.map((r) => ({ userId: r.user_id, day: r.day, ...periodFromRow(r) }));
    });
  }

  // --- leases ------------------------------------------------------------------------------------------------

  async acquireLease(request: LeaseRequest): Promise<LeaseResult> {
    return this.tx(async (tx) => {
      // Racing upgrades for one user, on any relays, queue here; other users are not held up.
      await tx`SELECT pg_advisory_xact_lock(${LEASE_LOCK_SPACE}::int4, hashtext(${request.userId}))`;
      const [row] = await tx<Array<{ n: number }>>`
        SELECT count(*)::bigint AS n FROM leases
        WHERE user_id = ${request.userId} AND expires_at_ms > ${request.now} AND session_id <> ${request.replacesSessionId ?? ''}`;
      const n = row?.n ?? 0;
      if (n >= request.maxSessions) return { ok: false, live: n };
      if (request.replacesSessionId !== undefined) await tx`DELETE FROM leases WHERE session_id = ${request.replacesSessionId}`;
      await tx`
        INSERT INTO leases (session_id, user_id, relay_id, expires_at_ms, acquired_at_ms)
        VALUES (${request.sessionId}, ${request.userId}, ${request.relayId}, ${request.now + request.ttlMs}, ${request.now})
        ON CONFLICT (session_id) DO UPDATE SET relay_id = excluded.relay_id, expires_at_ms = excluded.expires_at_ms`;
      return { ok: true } as const;
    });
  }

  async renewLeases(relayId: string, sessionIds: readonly string[], now: number, ttlMs: number): Promise<void> {
    if (sessionIds.length === 0) return;
    await this.tx(async (tx) => {
      await tx`UPDATE leases SET expires_at_ms = ${now + ttlMs} WHERE relay_id = ${relayId} AND session_id = ANY(${[...sessionIds]}::text[])`;
      // Expired leases are dead relays' sessions: tidy them while here (they no longer count either way).
      await tx`DELETE FROM leases WHERE expires_at_ms <= ${now}`;
    });
  }

  async releaseLease(sessionId: string): Promise<void> {
    await this.read((sql) => sql`DELETE FROM leases WHERE session_id = ${sessionId}`);
  }

  liveLeases(userId: string, now: number): Promise<number> {
    return this.read(async (sql) => {
      const [row] = await sql<Array<{ n: number }>>`SELECT count(*)::bigint AS n FROM leases WHERE user_id = ${userId} AND expires_at_ms > ${now}`;
      return row?.n ?? 0;
    });
  }

  seatOrder(userId: string, now: number): Promise<LeaseSeat[]> {
    return this.read(async (sql) => {
      const rows = await sql<Array<{ session_id: string; relay_id: string; acquired_at_ms: number }>>`
        SELECT session_id, relay_id, acquired_at_ms FROM leases WHERE user_id = ${userId} AND expires_at_ms > ${now} ORDER BY acquired_at_ms, session_id`;
      return rows.map((r) => ({ sessionId: r.session_id, relayId: r.relay_id, acquiredAt: r.acquired_at_ms }));
    });
  }

  // --- change feed -------------------------------------------------------------------------------------------

  async markFeedRead(relayId: string, changeId: number, now: number): Promise<void> {
    await this.read(
      (sql) => sql`
        INSERT INTO feed_readers (relay_id, change_id, seen_at_ms) VALUES (${relayId}, ${changeId}, ${now})
        ON CONFLICT (relay_id) DO UPDATE SET change_id = excluded.change_id, seen_at_ms = excluded.seen_at_ms`,
    );
  }

  // --- retention ---------------------------------------------------------------------------------------------

  async prune(policy: RetentionPolicy): Promise<PruneResult> {
    const batch = policy.batchRows ?? DEFAULT_PRUNE_BATCH_ROWS;
    /** Runs a DELETE … LIMIT-batched statement until it deletes fewer than a batch; each batch is its own short transaction. */
    const deleteInBatches = async (run: (sql: Sql) => Promise<{ count: number }>): Promise<number> => {
      let total = 0;
      for (;;) {
        const { count } = await this.read(run);
        total += count;
        if (count < batch) return total;
      }
    };
    const firstDay = firstKeptUsageDay(policy);
    const usageRecords =
      firstDay === null ? 0 : await deleteInBatches((sql) => sql`DELETE FROM usage_records WHERE id IN (SELECT id FROM usage_records WHERE day < ${firstDay}::date LIMIT ${batch})`);
    const liveSince = policy.now - policy.readerTtlMs;
    const [row] = await this.read((sql) => sql<Array<{ id: number | null }>>`SELECT MIN(change_id)::bigint AS id FROM feed_readers WHERE seen_at_ms > ${liveSince}`);
    const horizon = row?.id ?? Number.MAX_SAFE_INTEGER;
    const graceAt = new Date(policy.now - policy.changesGraceMs);
    const maxAgeAt = new Date(policy.now - policy.changesMaxAgeMs);
    const changes = await deleteInBatches(
      (sql) => sql`
        DELETE FROM changes WHERE id IN (
          SELECT id FROM changes WHERE (id <= ${horizon} AND at < ${graceAt}) OR at < ${maxAgeAt} LIMIT ${batch})`,
    );
    const readers = (await this.read((sql) => sql`DELETE FROM feed_readers WHERE seen_at_ms <= ${liveSince}`)).count;
    return { usageRecords, changes, readers };
  }

  changesSince(afterId: number): Promise<StoreChange[]> {
    return this.read((sql) => this.readChanges(sql, afterId));
  }

  private async readChanges(sql: Sql, afterId: number): Promise<StoreChange[]> {
    return (await sql<ChangeRow[]>`SELECT id, kind, user_id, token_id FROM changes WHERE id > ${afterId} ORDER BY id`).map(changeFromRow);
  }

  watch(afterId: number, listener: (changes: StoreChange[]) => void, onError?: (err: StoreError) => void): () => void {
    const watcher: Watcher = { lastId: afterId, listener, onError };
    this.watchers.add(watcher);
    if (!this.closed) {
      this.startListening();
      if (!this.feedTimer) {
        this.feedTimer = setInterval(() => {
          this.startListening(); // again, if the first LISTEN failed (server down at start)
          void this.deliver();
        }, this.feedPollMs);
        this.feedTimer.unref();
      }
    }
    void this.deliver(); // changes between afterId and now
    return () => {
      this.watchers.delete(watcher);
      if (this.watchers.size === 0) this.stopListening();
    };
  }

  /** LISTEN on a dedicated connection; postgres.js re-establishes it after a drop and calls onlisten again. */
  private startListening(): void {
    if (this.listening || this.closed || this.watchers.size === 0) return;
    this.listening = this.sql
      .listen(
        CHANGES_CHANNEL,
        () => void this.deliver(),
        () => void this.deliver(), // (re)connected: catch up on what was committed meanwhile
      )
      .then(
        (request) => {
          this.unlisten = () => request.unlisten();
          if (this.closed || this.watchers.size === 0) void this.stopListening();
        },
        (err: unknown) => {
          this.listening = undefined; // the fallback timer tries again
          this.feedFailed(err);
        },
      );
  }

  private stopListening(): void {
    clearInterval(this.feedTimer);
    this.feedTimer = undefined;
    const unlisten = this.unlisten;
    this.unlisten = undefined;
    this.listening = undefined;
    if (unlisten) void unlisten().catch(() => {});
  }

  /** Reads `changes` after the lowest id any watcher saw and hands each watcher its new ones. One read at a time. */
  private async deliver(): Promise<void> {
    if (this.closed || this.watchers.size === 0) return;
    if (this.delivering) {
      this.deliverAgain = true;
      return;
    }
    this.delivering = true;
    try {
      do {
        this.deliverAgain = false;
        const from = Math.min(...[...this.watchers].map((w) => w.lastId));
        const changes = await this.readChanges(this.sql, from);
        for (const w of [...this.watchers]) {
          const mine = changes.filter((c) => c.id > w.lastId);
          if (mine.length === 0) continue;
          w.lastId = mine.at(-1)!.id;
          try {
            w.listener(mine);
          } catch {
            // A listener's bug must not stop the feed for the others; the listener logs its own failures.
          }
        }
      } while (this.deliverAgain && !this.closed);
    } catch (err) {
      if (!this.closed) this.feedFailed(err);
    } finally {
      this.delivering = false;
    }
  }

  private feedFailed(err: unknown): void {
    const error = storeErrorFromPostgres(err, this.location);
    const storeError = error instanceof StoreError ? error : new StoreError('unavailable', `cannot read the change feed of ${this.location}: ${(err as Error).message}`, { cause: err });
    for (const w of this.watchers) w.onError?.(storeError);
  }

  // --- PostgreSQL only ---------------------------------------------------------------------------------------

  /** Rows per table, for doctor and the migration's report. */
  async counts(): Promise<Record<'users' | 'tokens' | 'usage_records' | 'leases' | 'changes', number>> {
    return this.read(async (sql) => {
      const [row] = await sql<Array<Record<'users' | 'tokens' | 'usage_records' | 'leases' | 'changes', number>>>`
        SELECT (SELECT count(*) FROM users)::bigint AS users, (SELECT count(*) FROM tokens)::bigint AS tokens,
               (SELECT count(*) FROM usage_records)::bigint AS usage_records, (SELECT count(*) FROM leases)::bigint AS leases,
               (SELECT count(*) FROM changes)::bigint AS changes`;
      return row!;
    });
  }

  /** The pool, for the one-shot migration's bulk copy (store/migrate-to-postgres.ts) and tests. */
  get client(): Sql {
    return this.sql;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.watchers.clear();
    this.stopListening();
    await this.sql.end({ timeout: 1 }).catch(() => {});
  }
}
