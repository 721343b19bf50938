// Retention for one relay process, on its event loop, off the frame path: on a slow timer (and once at start)
// it records how far this relay has read the change feed, then asks the store to prune what the policy no
// longer keeps (Store.prune: raw usage records past `usageRecordDays`, feed rows every live relay has read,
// feed rows past `changesMaxAgeDays`). Per-day totals are never pruned. Every relay of a fleet runs it; the
// deletes are idempotent, so two relays pruning at once only find less to do.
//
// Why the feed position is stored: a relay that has not yet applied change N would never hear it once N is
// deleted. A relay reports its position at start (before any prune could pass it, with a grace on top) and
// every run; a relay not heard from for `readerTtlMs` is dead and holds nothing back.
import type { Logger } from '../log.ts';
import { DAY_MS, type PruneResult, type RetentionPolicy, type Store } from './store.ts';

export interface RetentionConfig {
  /** Raw usage records (`usage_records`) are kept this many UTC days; 0 = forever. Per-day totals are always kept. */
  usageRecordDays: number;
  /** Feed rows (`changes`) are kept at most this many days, even if a live relay has not read them. */
  changesMaxAgeDays: number;
}

export const DEFAULT_RETENTION: RetentionConfig = { usageRecordDays: 90, changesMaxAgeDays: 7 };
/** How often retention runs: the tables grow by a batch per session per 500 ms, so hourly-ish is plenty. */
export const RETENTION_INTERVAL_MS = 10 * 60_000;
/** A feed row every relay has read is kept this long more: time for a relay that just took its snapshot to report. */
export const CHANGES_GRACE_MS = 10 * 60_000;
/** A relay that has not reported for this long (several runs) is dead. */
export const READER_TTL_MS = 6 * RETENTION_INTERVAL_MS;

export interface RetentionOptions extends RetentionConfig {
  store: Store;
  relayId: string;
  /** The change id this relay's directory is current to. */
  position: () => number;
  log: Logger;
  intervalMs?: number;
  now?: () => number;
}

export interface Retention {
  /** One run now (the timer's work): report the position, prune. Never rejects; a failure is logged and retried next run. */
  run(): Promise<PruneResult | null>;
  stop(): void;
}

export function retentionPolicy(config: RetentionConfig, now: number): RetentionPolicy {
  return { now, usageRecordDays: config.usageRecordDays, changesGraceMs: CHANGES_GRACE_MS, changesMaxAgeMs: config.changesMaxAgeDays * DAY_MS, readerTtlMs: READER_TTL_MS };
}

export function startRetention(options: RetentionOptions): Retention {
  const { store, relayId, log } = options;
  const now = options.now ?? Date.now;
  let running: Promise<PruneResult | null> | null = null;
  let stopped = false;

  const once = async (): Promise<PruneResult | null> => {
    try {
      const t = now();
      await store.markFeedRead(relayId, options.position(), t);
      if (stopped) return null;
      const result = await store.prune(retentionPolicy(options, t));
      if (result.usageRecords + result.changes + result.readers > 0) log.info({ ...result }, 'retention: pruned old usage records and feed rows');
      return result;
    } catch (err) {
      log.warn({ err: (err as Error).message }, 'retention: cannot prune the store now; trying again next run');
      return null;
    }
  };
  const run = (): Promise<PruneResult | null> => {
    running ??= once().finally(() => {
      running = null;
    });
    return running;
  };
  const timer = setInterval(() => void run(), options.intervalMs ?? RETENTION_INTERVAL_MS);
  timer.unref();
  void run(); // at start: report the position before any other relay's prune could pass it
  return {
    run,
    stop() {
      stopped = true;
      clearInterval(timer);
    },
  };
}
