// Usage accounting and live quota enforcement, plugged into the relay through session hooks (../session/hooks.ts).
//
// Per frame (hot path): SessionMeter counts — a type compare and, for audio frames, a few native indexOf
// calls and integer adds. Nothing is allocated, awaited or written per frame.
// Per tick (every `flushIntervalMs`, default 500 ms: the BATCH WINDOW): each live session's delta becomes one
// record (taken TAKE_SLICE sessions per turn of the event loop, so no frame waits for all of them); the tick's records go to the store in ONE transaction (Store.appendUsage, which also adds them to
// the per-day totals); then the stored totals of every user with a live session are read back and each is
// checked against their quota (spoken minutes and billed tokens, quota.ts) and cut off with
// CloseCode.QuotaExhausted if past it — so is a user again right after each `response.done` or input
// transcription bill (tokens arrive in lumps), and a user no longer in the store is cut off too (nothing left to enforce).
// A session's end queues its last record and asks for a write at once (coalesced with others).
// The store may commit on another thread or connection (SQLite's writer thread, a PostgreSQL pool) before the
// relay hears so: a totals read from outside the batch waits for the batch in flight and is redone if one
// started under it, so cached totals plus the records in flight count each record once.
// Crash bound: a committed batch survives `kill -9` (SQLite WAL; PostgreSQL commit), so a crash loses at most
// the records of one batch window — the current tick's deltas, plus the batch in flight.
// The store failing (locked, full, unreachable): the batch stays queued (bounded, MAX_PENDING) and is retried
// next tick; live sessions go on, judged on the last totals read plus what is queued; a NEW session of a user
// with a quota is refused (quotaExceeded throws, the upgrade answers 503 store_unavailable: fail closed).
import { CloseCode } from '../../../protocol/close-codes.ts';
import type { Metrics } from '../http/metrics.ts';
import { log as defaultLog, type Logger } from '../log.ts';
import type { SessionControl, SessionHooks, SessionHooksFactory, SessionInfo } from '../session/hooks.ts';
import type { PeriodUsage, QuotaTotals, Store, UsageRecord, UserRecord } from '../store/store.ts';
import { addCounters, audioSeconds, INPUT_TRANSCRIPTION_COMPLETED, isZero, SessionMeter, zeroCounters, type UsageCounters } from './meter.ts';
import { evaluateQuota, hasQuota, quotaMessage, quotaRenewsAt, type QuotaVerdict } from './quota.ts';
import { ACCESS_ENDED } from '../auth/live-access.ts';

export const DEFAULT_FLUSH_INTERVAL_MS = 500;
/** ~40 MB of queued records: hours of a busy relay's usage while its database refuses writes. */
const MAX_PENDING = 200_000;
/** Sessions whose delta the timer's tick takes per turn of the event loop (takeSliced). */
export const TAKE_SLICE = 64;

export interface AccountingOptions {
  /** Where usage is written and user policy (quotas) read. May instead be given later with attach() (the relay opens it). */
  store?: Store;
  /** Relay metrics: per-user audio counters are added when `metrics.perUser` is on. */
  metrics?: Metrics;
  log?: Logger;
  now?: () => number;
  flushIntervalMs?: number;
}

export interface UserUsage {
  /** Stored usage for the UTC day / month containing `at`, plus what is queued and what live sessions counted since. */
  today: PeriodUsage;
  month: PeriodUsage;
  liveSessions: number;
  quota: QuotaVerdict | null;
}

export interface Accounting {
  hooksFactory: SessionHooksFactory;
  /**
   * For the Authenticator: true when a new session must be refused with 429 quota_exhausted. Reads the stored
   * totals; throws a StoreError when they cannot be read and the user has a quota (fail closed).
   */
  quotaExceeded(userId: string, user?: UserRecord): Promise<boolean>;
  /** When the user's exhausted allowance comes back (epoch ms), or null when none is exhausted (same store read as quotaExceeded). */
  quotaRenewsAt(userId: string, user?: UserRecord): Promise<number | null>;
  /** Give the store and metrics the relay created (when they did not exist yet at createAccounting). */
  attach(deps: { store?: Store; metrics?: Metrics }): void;
  totals(userId: string, at?: number): Promise<UserUsage>;
  /** What the timer does, now: take every live session's delta, persist the batch, enforce quotas (rejects if the write fails). */
  flush(): Promise<void>;
  /** Records queued for the store and not yet committed (nonzero while the store refuses writes). */
  readonly pendingRecords: number;
  /** Final records for sessions still open, write them. Hooks made after this are inert. Does not close the store. */
  close(): Promise<void>;
}

interface Live {
  info: SessionInfo;
  meter: SessionMeter;
  control: SessionControl;
  /** Its first record (carrying the session-start flag) has been taken. */
  started: boolean;
  terminated: boolean;
}

const inertHooks: SessionHooks = { onClientFrame() {}, onServerFrame() {}, onEnd() {} };

const utcDay = (ms: number): string => new Date(ms).toISOString().slice(0, 10);

function emptyPeriod(): PeriodUsage {
  return { ...zeroCounters(), sessions: 0 };
}

/** Adds `r` to the totals of the UTC `day` (YYYY-MM-DD) being judged and of its month. */
function addRecord(into: QuotaTotals, r: UsageRecord, day: string): void {
  const recordDay = utcDay(r.at);
  if (recordDay.slice(0, 7) !== day.slice(0, 7)) return;
  addCounters(into.month, r.counters);
  if (r.first) into.month.sessions++;
  if (recordDay !== day) return;
  addCounters(into.day, r.counters);
  if (r.first) into.day.sessions++;
}

/** `items` by user id, in their order: one pass, so a tick judging U users costs O(U + S), not O(U × S). */
function byUser<T>(items: Iterable<T>, userOf: (item: T) => string): Map<string, T[]> {
  const groups = new Map<string, T[]>();
  for (const item of items) {
    const id = userOf(item);
    const group = groups.get(id);
    if (group) group.push(item);
    else groups.set(id, [item]);
  }
  return groups;
}

export async function createAccounting(options: AccountingOptions): Promise<Accounting> {
  const now = options.now ?? Date.now;
  const log = options.log ?? defaultLog;
  let store = options.store;
  let metrics = options.metrics;

  const live = new Map<string, Live>();
  let closed = false;
  /** Taken from meters, not yet committed: the next batch (or the one in flight, at its front). */
  let pending: UsageRecord[] = [];
  let inFlight: UsageRecord[] = [];
  let writing: Promise<void> | null = null;
  let dropped = 0;
  let failing = false;
  /** Stored totals as last read, per user, for the UTC day they were read for. */
  const stored = new Map<string, { day: string; totals: QuotaTotals }>();

  const take = (l: Live, t: number, end: boolean): void => {
    const delta = l.meter.take(t);
    if (l.started && !end && isZero(delta)) return;
    pending.push({ at: t, userId: l.info.userId, sessionId: l.info.sessionId, first: !l.started, end, counters: delta });
    l.started = true;
    if (metrics?.perUser) {
      if (delta.inputAudioBytes > 0) metrics.userSeconds.inc({ user: l.info.userId, direction: 'input' }, audioSeconds(delta.inputAudioBytes));
      if (delta.outputAudioBytes > 0) metrics.userSeconds.inc({ user: l.info.userId, direction: 'output' }, audioSeconds(delta.outputAudioBytes));
    }
  };

  const liveUsers = (): string[] => [...new Set([...live.values()].map((l) => l.info.userId))];

  /** Batch writes started so far: a read that saw this change under it may or may not include that batch. */
  let batchesStarted = 0;

  /** Stored totals of `userIds` into the cache. Throws a StoreError when the store cannot answer. */
  const readTotals = async (userIds: string[], t: number): Promise<void> => {
    if (!store || userIds.length === 0) return;
    const totals = await store.quotaTotals(userIds, t);
    for (const [id, value] of totals) stored.set(id, { day: utcDay(t), totals: value });
  };

  /**
   * readTotals for callers outside the batch (an upgrade's quota check, `totals`): read only while no batch is
   * being written. The cache plus `inFlight` must count each record once, and a read overlapping a commit may
   * already see the batch that `inFlight` still holds — the store commits on another thread or connection
   * (the SQLite writer thread, a PostgreSQL pool) before the relay hears so. Such a read is done again.
   */
  const readTotalsBetweenBatches = async (userIds: string[], t: number): Promise<void> => {
    for (;;) {
      await writing?.catch(() => undefined);
      const seen = batchesStarted;
      if (!store || userIds.length === 0) return;
      const totals = await store.quotaTotals(userIds, t);
      if (writing || batchesStarted !== seen) continue;
      for (const [id, value] of totals) stored.set(id, { day: utcDay(t), totals: value });
      return;
    }
  };

  /** One batch to the store (all or nothing); the totals of live users are re-read in the same turn. */
  const writeBatch = async (): Promise<void> => {
    if (!store || pending.length === 0) return;
    const batch = pending;
    pending = [];
    inFlight = batch;
    batchesStarted++;
    try {
      await store.appendUsage(batch);
    } catch (err) {
      inFlight = [];
      // Keep the records for the next attempt (a locked or full database for a moment) rather than dropping
      // usage — up to a bound, so a store that stays broken cannot grow the relay's memory without limit.
      pending = batch.concat(pending);
      if (pending.length > MAX_PENDING) {
        dropped += pending.length - MAX_PENDING;
        pending = pending.slice(-MAX_PENDING);
      }
      if (!failing) log.error({ err: (err as Error).message, queued: pending.length, dropped }, 'usage: cannot write to the store; keeping the records and retrying every tick');
      failing = true;
      throw err;
    }
    if (failing) log.info({ queued: pending.length, dropped }, 'usage: the store accepts writes again');
    failing = false;
    try {
      await readTotals(liveUsers(), now());
    } finally {
      inFlight = [];
    }
  };

  const persist = (): Promise<void> => {
    // Never two batches at once: a tick that finds one in flight leaves its records for the next.
    writing ??= writeBatch().finally(() => {
      writing = null;
    });
    return writing;
  };

  let flushQueued = false;
  const requestFlush = (): void => {
    if (flushQueued) return;
    flushQueued = true;
    setImmediate(() => {
      flushQueued = false;
      persist().catch(() => undefined); // logged in writeBatch
    });
  };

  /**
   * Stored totals (as last read) + queued records + what live meters counted since: the usage quotas judge.
   * `records` and `sessions` are the user's own (byUser) when the caller judges many users at once; by default
   * every queued record and live session is scanned for this user.
   */
  const usageOf = (
    userId: string,
    t: number,
    records: Iterable<UsageRecord> = [...inFlight, ...pending].filter((r) => r.userId === userId),
    sessions: Iterable<Live> = [...live.values()].filter((l) => l.info.userId === userId),
  ): { totals: QuotaTotals; live: UsageCounters; count: number } => {
    const day = utcDay(t);
    const cached = stored.get(userId);
    const totals: QuotaTotals = cached && cached.day === day ? { day: { ...cached.totals.day }, month: { ...cached.totals.month } } : { day: emptyPeriod(), month: emptyPeriod() };
    for (const r of records) addRecord(totals, r, day);
    const pendingLive = zeroCounters();
    let count = 0;
    for (const l of sessions) {
      addCounters(pendingLive, l.meter.pending(t));
      count++;
    }
    return { totals, live: pendingLive, count };
  };

  const verdictFor = (user: UserRecord, t: number, records?: Iterable<UsageRecord>, sessions?: Iterable<Live>): QuotaVerdict => {
    if (!hasQuota(user)) return { ok: true, remainingSeconds: null, remainingTokens: null };
    const { totals, live: l } = usageOf(user.id, t, records, sessions);
    return evaluateQuota(user, totals.day, totals.month, l);
  };

  /** Ends the sessions the store no longer allows (quota, user gone). `users` from the store, read this turn. */
  const enforce = (t: number, users: Map<string, UserRecord | undefined>): void => {
    // Grouped once per tick (issue 17): scanning every live session and queued record once per user made the
    // tick quadratic in users. Ending one user's sessions only adds that user's final records, so the groups
    // stay right for every other user.
    const sessionsOf = byUser(live.values(), (l) => l.info.userId);
    let recordsOf: Map<string, UsageRecord[]> | null = null;
    for (const [userId, user] of users) {
      const sessions = sessionsOf.get(userId) ?? [];
      // Collect first: terminate() ends the session synchronously, and its onEnd edits `live`.
      const victims = sessions.filter((l) => !l.terminated);
      if (!user) {
        // Removed from the store: there is no quota left to enforce, so the session must not go on unmetered.
        const { close, errorCode, message } = ACCESS_ENDED.user_removed;
        for (const l of victims) {
          l.terminated = true;
          log.info({ session: l.info.sessionId, user: userId }, 'user no longer in the store: ending the session');
          l.control.terminate(close, errorCode, message);
        }
        continue;
      }
      if (!hasQuota(user)) continue;
      recordsOf ??= byUser([...inFlight, ...pending], (r) => r.userId);
      const verdict = verdictFor(user, t, recordsOf.get(userId) ?? [], sessions);
      if (verdict.ok) continue;
      for (const l of victims) {
        l.terminated = true;
        log.info({ session: l.info.sessionId, user: userId, period: verdict.period, unit: verdict.unit, limit: verdict.limit, used: verdict.used }, 'quota exhausted');
        l.control.terminate(CloseCode.QuotaExhausted, 'quota_exhausted', quotaMessage(verdict, t));
      }
    }
  };

  /** Reads live users' policy from the store (quota changes from `earshot users` apply at once) and enforces. */
  const check = async (): Promise<void> => {
    if (!store || closed) return;
    const ids = liveUsers();
    const users = new Map<string, UserRecord | undefined>();
    for (const id of ids) users.set(id, await store.getUser(id));
    enforce(now(), users);
  };

  /**
   * Tokens arrive in lumps, with each `response.done` (and each input transcription's bill): check quotas as soon as one lands rather than at the
   * next tick, so a text-only user crossing a token limit is cut within the same turn. Coalesced; after the
   * bridge has finished handling the frame (terminate() must not run inside its frame handler).
   */
  let checkQueued = false;
  const checkSoon = (): void => {
    if (checkQueued) return;
    checkQueued = true;
    setImmediate(() => {
      checkQueued = false;
      check().catch((err: unknown) => log.error({ err: (err as Error).message }, 'accounting quota check failed (store unreadable?); live sessions go on'));
    });
  };

  /**
   * The timer's take: TAKE_SLICE sessions per turn of the event loop, so frames waiting behind the tick wait for
   * one slice, not for every session's take (issue 17: ~1.8 ms in one block at 300 sessions under load). A
   * session that ended between slices is skipped: its end took its last delta. The batch is still one write,
   * after the last slice.
   */
  const takeSliced = async (t: number): Promise<void> => {
    const all = [...live.values()];
    for (let i = 0; i < all.length; i += TAKE_SLICE) {
      if (i > 0) await new Promise<void>((resolve) => setImmediate(resolve));
      if (closed) return; // close() took every session still live
      for (let k = i; k < Math.min(all.length, i + TAKE_SLICE); k++) {
        const l = all[k]!;
        if (live.get(l.info.sessionId) === l) take(l, t, false);
      }
    }
  };

  /** Deltas of every live session into the queue, then one batch to the store, then quota enforcement. */
  const tick = async (sliced = false): Promise<void> => {
    const t = now();
    // flush() takes every session in the caller's turn, and its write is posted before flush() returns.
    if (sliced && live.size > TAKE_SLICE) await takeSliced(t);
    else for (const l of live.values()) take(l, t, false);
    try {
      await persist();
    } finally {
      // Even when the write failed: judge live sessions on the last totals read plus what is queued.
      await check().catch((err: unknown) => log.error({ err: (err as Error).message }, 'accounting quota check failed (store unreadable?); live sessions go on'));
    }
  };
  const timer = setInterval(() => {
    tick(true).catch(() => undefined); // write failures are logged once per streak in writeBatch
  }, options.flushIntervalMs ?? DEFAULT_FLUSH_INTERVAL_MS);
  timer.unref();

  const hooksFactory: SessionHooksFactory = (info, control) => {
    if (closed) return inertHooks;
    const l: Live = { info, meter: new SessionMeter(info.startedAt), control, started: false, terminated: false };
    live.set(info.sessionId, l);
    const { meter } = l;
    return {
      onClientFrame: (type, frame, audioBytes) => meter.onClientFrame(type, frame, audioBytes),
      onServerFrame(type, frame) {
        meter.onServerFrame(type, frame);
        if (type === 'response.done' || type === INPUT_TRANSCRIPTION_COMPLETED) checkSoon();
      },
      onEnd() {
        if (!live.delete(info.sessionId) || closed) return;
        take(l, now(), true);
        requestFlush();
      },
    };
  };

  return {
    hooksFactory,
    async quotaExceeded(userId, user) {
      const u = user ?? (await store?.getUser(userId));
      if (!u || !hasQuota(u)) return false;
      const t = now();
      await readTotalsBetweenBatches([userId], t); // throws StoreError when unreadable: the caller refuses (fail closed)
      return !verdictFor(u, t).ok;
    },
    async quotaRenewsAt(userId, user) {
      const u = user ?? (await store?.getUser(userId));
      if (!u || !hasQuota(u)) return null;
      const t = now();
      await readTotalsBetweenBatches([userId], t);
      const verdict = verdictFor(u, t);
      return verdict.ok ? null : quotaRenewsAt(verdict, t);
    },
    attach(deps) {
      if (deps.store) store = deps.store;
      if (deps.metrics) metrics = deps.metrics;
    },
    async totals(userId, at = now()) {
      await readTotalsBetweenBatches([userId], at).catch(() => undefined);
      const { totals: t, live: l, count } = usageOf(userId, at);
      addCounters(t.day, l);
      addCounters(t.month, l);
      const user = await store?.getUser(userId);
      return { today: t.day, month: t.month, liveSessions: count, quota: user ? verdictFor(user, at) : null };
    },
    get pendingRecords() {
      return pending.length + inFlight.length;
    },
    async flush() {
      if (closed) return;
      await tick();
      // A batch already in flight when tick() ran left this tick's records queued: write them too.
      if (pending.length > 0) await persist();
    },
    async close() {
      if (closed) return;
      clearInterval(timer);
      const t = now();
      for (const l of live.values()) take(l, t, false);
      live.clear();
      closed = true;
      try {
        await writing?.catch(() => undefined);
        await persist();
      } catch (err) {
        // Shutdown must go on (main.ts exits after this); the operator learns which usage did not make it.
        log.error({ err: (err as Error).message, records: pending.length }, 'usage: final write failed; these records are lost');
      }
    },
  };
}
