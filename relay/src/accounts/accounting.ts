// Usage accounting and live quota enforcement, plugged into the relay through session hooks (../session/hooks.ts).
//
// Per frame (hot path): SessionMeter counts — a type compare and, for audio frames, a few native indexOf
// calls and integer adds. Nothing is allocated or written per frame.
// Per tick (every `flushIntervalMs`, default 500 ms): each live session's delta becomes one record; all records
// go to disk in one write + one fdatasync (group commit, usage-log.ts); the totals are updated; every user
// with a live session is checked against their quota (spoken minutes and billed tokens, quota.ts), and cut
// off with CloseCode.QuotaExhausted if past it; so is a user again right after each `response.done` (tokens
// arrive in lumps), and a user no longer in users.json is cut off too (nothing left to enforce).
// A session's end queues its last record and asks for a flush at once (coalesced with others).
// Startup: the current month's totals come from its checkpoint plus the log after it (checkpoint.ts).
// Crash bound: records reach the page cache every tick, so `kill -9` loses at most one tick of usage
// (a power cut: one tick plus the fdatasync in flight). The tick is 500 ms so that bound stays under a second
// even when the write itself is slow.
import { CloseCode } from '../../../protocol/close-codes.ts';
import type { UserRecord, UserStore } from '../auth/store.ts';
import type { Metrics } from '../http/metrics.ts';
import { log as defaultLog, type Logger } from '../log.ts';
import type { SessionControl, SessionHooks, SessionHooksFactory, SessionInfo } from '../session/hooks.ts';
import { addCounters, audioSeconds, isZero, SessionMeter, zeroCounters, type UsageCounters } from './meter.ts';
import { evaluateQuota, hasQuota, quotaMessage, quotaRenewsAt, type QuotaVerdict } from './quota.ts';
import { ACCESS_ENDED } from '../auth/live-access.ts';
import { UsageTotals, type PeriodUsage } from './totals.ts';
import { readCheckpoint, writeCheckpoint } from './checkpoint.ts';
import { monthKey, readMonth, readMonthFrom, recordFromCounters, UsageLog } from './usage-log.ts';

export const DEFAULT_FLUSH_INTERVAL_MS = 500;
/** Checkpoint the month's totals this often (and at shutdown), so a restart replays at most this much log. */
const CHECKPOINT_EVERY_MS = 10 * 60_000;
/** Write a checkpoint at startup when the rebuild had to replay at least this many records. */
const CHECKPOINT_AFTER_RECORDS = 10_000;

export interface AccountingOptions {
  dataDir: string;
  /** Where user policy (quotas) is read. May instead be given later with attach() (the relay opens it). */
  store?: UserStore;
  /** Relay metrics: per-user audio counters are added when `metrics.perUser` is on. */
  metrics?: Metrics;
  log?: Logger;
  now?: () => number;
  flushIntervalMs?: number;
}

export interface UserUsage {
  /** Stored usage for the UTC day / month containing `at`, plus what live sessions counted since. */
  today: PeriodUsage;
  month: PeriodUsage;
  liveSessions: number;
  quota: QuotaVerdict | null;
}

export interface Accounting {
  hooksFactory: SessionHooksFactory;
  /** For the Authenticator: true when a new session must be refused with 429 quota_exhausted. */
  quotaExceeded(userId: string, user?: UserRecord): boolean;
  /** When the user's exhausted allowance comes back (epoch ms), or null when none is exhausted. */
  quotaRenewsAt(userId: string, user?: UserRecord): number | null;
  /** Give the store and metrics the relay created (when they did not exist yet at createAccounting). */
  attach(deps: { store?: UserStore; metrics?: Metrics }): void;
  /** @deprecated use attach({ store }) */
  attachStore(store: UserStore): void;
  totals(userId: string, at?: number): UserUsage;
  /** What the timer does, now: take every live session's delta, enforce quotas, persist (rejects if the write fails). */
  flush(): Promise<void>;
  /** Final records for sessions still open, flush, close the log. Hooks made after this are inert. */
  close(): Promise<void>;
}

interface Live {
  info: SessionInfo;
  meter: SessionMeter;
  control: SessionControl;
  /** Its first record (carrying the session-start flag) has been written. */
  started: boolean;
  terminated: boolean;
}

const inertHooks: SessionHooks = { onClientFrame() {}, onServerFrame() {}, onEnd() {} };

export async function createAccounting(options: AccountingOptions): Promise<Accounting> {
  const now = options.now ?? Date.now;
  const log = options.log ?? defaultLog;
  let store = options.store;
  let metrics = options.metrics;
  const usageLog = await UsageLog.open(options.dataDir);

  // Rebuild the current UTC month's totals: quotas only look at today and this month (the CLI reads every
  // month). From the month's checkpoint plus the log written after it when there is one that fits, else the
  // whole month: one sequential read and a JSON.parse per record, ~4.5 µs a record (bench/accounts.ts).
  const totals = new UsageTotals();
  const month = monthKey(now());
  const checkpoint = readCheckpoint(usageLog.dir, month);
  const tail = checkpoint ? readMonthFrom(usageLog.dir, month, checkpoint.offset) : null;
  if (checkpoint && tail) totals.load(checkpoint.days);
  const parsed = tail ?? readMonth(usageLog.dir, month);
  for (const r of parsed.records) totals.add(r);
  if (parsed.corruptLines > 0 || parsed.tornBytes > 0) {
    log.warn({ month, corruptLines: parsed.corruptLines, tornBytes: parsed.tornBytes }, 'usage log: skipped damaged records (a crash mid-write?)');
  }
  log.debug({ month, fromCheckpoint: tail !== null, replayed: parsed.records.length }, 'usage totals rebuilt');
  let lastCheckpointAt = now();
  const saveCheckpoint = (m: string, offset: number): void => {
    try {
      writeCheckpoint(usageLog.dir, { version: 1, month: m, offset, days: totals.daysOf(m) });
    } catch (err) {
      log.warn({ err: (err as Error).message }, 'usage log: cannot write checkpoint (the next start reads the whole month)');
    }
  };
  // Nothing has been appended yet, so the totals are exactly the log up to validLength.
  if (parsed.records.length >= CHECKPOINT_AFTER_RECORDS) saveCheckpoint(month, parsed.validLength);

  /** When every appended record is on disk, totals match the file byte for byte: a consistent checkpoint. */
  const maybeCheckpoint = (force: boolean): void => {
    const t = now();
    if (!force && t - lastCheckpointAt < CHECKPOINT_EVERY_MS) return;
    const m = monthKey(t);
    const size = usageLog.sizeOf(m);
    if (size === undefined || !usageLog.isIdle() || usageLog.dropped > 0) return;
    lastCheckpointAt = t;
    saveCheckpoint(m, size);
  };

  const live = new Map<string, Live>();
  let closed = false;

  const record = (l: Live, t: number, end: boolean): void => {
    const delta = l.meter.take(t);
    if (l.started && !end && isZero(delta)) return;
    const r = recordFromCounters(t, l.info.userId, l.info.sessionId, delta, { first: !l.started, end });
    l.started = true;
    usageLog.append(r);
    totals.add(r);
    if (metrics?.perUser) {
      if (delta.inputAudioBytes > 0) metrics.userSeconds.inc({ user: l.info.userId, direction: 'input' }, audioSeconds(delta.inputAudioBytes));
      if (delta.outputAudioBytes > 0) metrics.userSeconds.inc({ user: l.info.userId, direction: 'output' }, audioSeconds(delta.outputAudioBytes));
    }
  };

  const persist = async (): Promise<void> => {
    try {
      await usageLog.flush();
      maybeCheckpoint(false);
    } catch (err) {
      // Disk full or read-only: the records stay queued in the log and are retried next tick; sessions go on.
      log.error({ err: (err as Error).message, queued: usageLog.pendingCount, dropped: usageLog.dropped }, 'usage log: write failed; will retry');
    }
  };

  let flushQueued = false;
  const requestFlush = (): void => {
    if (flushQueued) return;
    flushQueued = true;
    setImmediate(() => {
      flushQueued = false;
      void persist();
    });
  };

  const liveUsage = (userId: string, t: number): { pending: UsageCounters; count: number } => {
    const pending = zeroCounters();
    let count = 0;
    for (const l of live.values()) {
      if (l.info.userId !== userId) continue;
      addCounters(pending, l.meter.pending(t));
      count++;
    }
    return { pending, count };
  };

  const verdictFor = (user: UserRecord, t: number): QuotaVerdict => {
    if (!hasQuota(user)) return { ok: true, remainingSeconds: null, remainingTokens: null };
    return evaluateQuota(user, totals.day(user.id, t), totals.month(user.id, t), liveUsage(user.id, t).pending);
  };

  const enforce = (t: number): void => {
    if (!store) return;
    store.refresh(); // one stat: quota changes from `npm run users` reach live sessions too
    const users = new Set<string>();
    for (const l of live.values()) users.add(l.info.userId);
    for (const userId of users) {
      const user = store.getUser(userId);
      // Collect first: terminate() ends the session synchronously, and its onEnd edits `live`.
      const victims = [...live.values()].filter((l) => l.info.userId === userId && !l.terminated);
      if (!user) {
        // Removed from users.json: there is no quota left to enforce, so the session must not go on unmetered.
        const { close, errorCode, message } = ACCESS_ENDED.user_removed;
        for (const l of victims) {
          l.terminated = true;
          log.info({ session: l.info.sessionId, user: userId }, 'user no longer in users.json: ending the session');
          l.control.terminate(close, errorCode, message);
        }
        continue;
      }
      const verdict = verdictFor(user, t);
      if (verdict.ok) continue;
      for (const l of victims) {
        l.terminated = true;
        log.info({ session: l.info.sessionId, user: userId, period: verdict.period, unit: verdict.unit, limit: verdict.limit, used: verdict.used }, 'quota exhausted');
        l.control.terminate(CloseCode.QuotaExhausted, 'quota_exhausted', quotaMessage(verdict, t));
      }
    }
  };

  /**
   * Tokens arrive in lumps, with each `response.done`: check quotas as soon as one lands rather than at the
   * next tick, so a text-only user crossing a token limit is cut within the same turn. Coalesced; after the
   * bridge has finished handling the frame (terminate() must not run inside its frame handler).
   */
  let checkQueued = false;
  const checkSoon = (): void => {
    if (checkQueued) return;
    checkQueued = true;
    setImmediate(() => {
      checkQueued = false;
      if (closed) return;
      try {
        enforce(now());
      } catch (err) {
        log.error({ err: (err as Error).message }, 'accounting quota check failed');
      }
    });
  };

  /** Deltas of every live session into the log queue and the totals, then quota enforcement. */
  const tick = (): void => {
    try {
      const t = now();
      for (const l of live.values()) record(l, t, false);
      enforce(t);
    } catch (err) {
      log.error({ err: (err as Error).message }, 'accounting tick failed');
    }
  };
  const timer = setInterval(() => {
    tick();
    void persist();
  }, options.flushIntervalMs ?? DEFAULT_FLUSH_INTERVAL_MS);
  timer.unref();

  const hooksFactory: SessionHooksFactory = (info, control) => {
    if (closed) return inertHooks;
    const l: Live = { info, meter: new SessionMeter(info.startedAt), control, started: false, terminated: false };
    live.set(info.sessionId, l);
    const { meter } = l;
    return {
      onClientFrame: (type, frame) => meter.onClientFrame(type, frame),
      onServerFrame(type, frame) {
        meter.onServerFrame(type, frame);
        if (type === 'response.done') checkSoon();
      },
      onEnd() {
        if (!live.delete(info.sessionId) || closed) return;
        record(l, now(), true);
        requestFlush();
      },
    };
  };

  return {
    hooksFactory,
    quotaExceeded(userId, user) {
      const u = user ?? store?.getUser(userId);
      return u ? !verdictFor(u, now()).ok : false;
    },
    quotaRenewsAt(userId, user) {
      const u = user ?? store?.getUser(userId);
      if (!u) return null;
      const t = now();
      const verdict = verdictFor(u, t);
      return verdict.ok ? null : quotaRenewsAt(verdict, t);
    },
    attach(deps) {
      if (deps.store) store = deps.store;
      if (deps.metrics) metrics = deps.metrics;
    },
    attachStore(s) {
      store = s;
    },
    totals(userId, at = now()) {
      const today = totals.day(userId, at);
      const month = totals.month(userId, at);
      const { pending, count } = liveUsage(userId, at);
      addCounters(today, pending);
      addCounters(month, pending);
      const user = store?.getUser(userId);
      return { today, month, liveSessions: count, quota: user ? verdictFor(user, at) : null };
    },
    async flush() {
      if (closed) return;
      tick();
      await usageLog.flush();
    },
    async close() {
      if (closed) return;
      clearInterval(timer);
      const t = now();
      for (const l of live.values()) record(l, t, false);
      live.clear();
      closed = true;
      try {
        await usageLog.close();
        maybeCheckpoint(true);
      } catch (err) {
        // Shutdown must go on (main.ts exits after this); the operator learns which usage did not make it.
        log.error({ err: (err as Error).message, records: usageLog.pendingCount }, 'usage log: final write failed; these records are lost');
      }
    },
  };
}
