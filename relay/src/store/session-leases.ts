// Live-session leases for one relay process, on its event loop: the seat a session takes under its user's
// `maxSessions` in the STORE, so the limit holds across every relay sharing it (PostgreSQL) as well as on one
// (SQLite). The upgrade acquires a lease before upgrading (atomic in the store: racing upgrades on any relays
// are decided one at a time); the session's end releases it; a heartbeat renews every lease this relay holds.
//
// A relay that dies (kill -9, power cut) stops renewing: its leases stop counting after LEASE_TTL_MS, so its
// users can connect again elsewhere within seconds. A store that cannot be reached: acquire() rejects (the
// upgrade is refused, fail closed), heartbeats fail and are logged, live sessions go on. If the outage lasts
// longer than the ttl, their leases may have expired meanwhile and the heartbeat puts them back when the
// store returns (renewLeases then re-acquires what it no longer finds), so the limit holds again from then on.
import type { Logger } from '../log.ts';
import { StoreError, type LeaseResult, type Store } from './store.ts';

/** A lease not renewed for this long is a dead relay's session. Short enough that a user of a crashed relay is back within seconds. */
export const LEASE_TTL_MS = 10_000;
/** Three heartbeats per ttl: one slow or failed round does not let a live session's lease lapse. */
export const LEASE_HEARTBEAT_MS = 3_000;

export interface SessionLeasesOptions {
  store: Store;
  /** This process in the leases table (which relay holds which session). */
  relayId: string;
  log: Logger;
  ttlMs?: number;
  heartbeatMs?: number;
  now?: () => number;
}

export interface LeaseAsk {
  sessionId: string;
  userId: string;
  maxSessions: number;
  /** The upgrade resumes one of this user's live sessions (app link): that session's own lease is not counted. */
  resumingOwnSession?: boolean;
}

export interface SessionLeases {
  /** Takes a seat; `{ ok: false, live }` when the user has `maxSessions` live elsewhere. Rejects (StoreError) when the store cannot answer. */
  acquire(ask: LeaseAsk): Promise<LeaseResult>;
  /** Gives the seat back (the session ended, or the upgrade did not happen). Never throws; a failure is logged and expiry frees it. */
  release(sessionId: string): void;
  /** How many leases this relay holds, and whether it holds one session's. */
  heldCount(): number;
  isHeld(sessionId: string): boolean;
  /** One heartbeat now (the timer's work). */
  heartbeat(): Promise<void>;
  /** Stops the heartbeat and releases every lease held. */
  stop(): Promise<void>;
}

export function createSessionLeases(options: SessionLeasesOptions): SessionLeases {
  const { store, relayId, log } = options;
  const ttlMs = options.ttlMs ?? LEASE_TTL_MS;
  const now = options.now ?? Date.now;
  /** sessionId → what it asked with, to re-acquire after an outage longer than the ttl. */
  const held = new Map<string, LeaseAsk>();
  let failing = false;
  let beating: Promise<void> | null = null;

  const beat = async (): Promise<void> => {
    if (held.size === 0) return;
    const t = now();
    try {
      await store.renewLeases(relayId, [...held.keys()], t, ttlMs);
      if (failing) {
        // Back after an outage: a lease that lapsed meanwhile (another relay's heartbeat tidied it away) is put
        // back, without a limit check — the session is live and was admitted under the limit.
        for (const [sessionId, ask] of held) {
          await store.acquireLease({ sessionId, userId: ask.userId, relayId, maxSessions: Number.MAX_SAFE_INTEGER, ttlMs, now: t });
        }
        log.info({ leases: held.size }, 'session leases: the store answers again');
      }
      failing = false;
    } catch (err) {
      if (!failing) log.error({ err: (err as Error).message, leases: held.size }, 'session leases: cannot renew in the store; live sessions go on, retrying');
      failing = true;
    }
  };
  const heartbeat = (): Promise<void> => {
    beating ??= beat().finally(() => {
      beating = null;
    });
    return beating;
  };
  const timer = setInterval(() => void heartbeat(), options.heartbeatMs ?? LEASE_HEARTBEAT_MS);
  timer.unref();

  return {
    heldCount: () => held.size,
    isHeld: (sessionId) => held.has(sessionId),
    async acquire(ask) {
      // Resuming its own live session: the user's limit counts that session's lease already.
      const maxSessions = ask.maxSessions + (ask.resumingOwnSession ? 1 : 0);
      let result: LeaseResult;
      try {
        result = await store.acquireLease({ sessionId: ask.sessionId, userId: ask.userId, relayId, maxSessions, ttlMs, now: now() });
      } catch (err) {
        // A SQLite file serves exactly one relay, so the relay's own count (checked before this) is the whole count:
        // an unwritable file (disk full, locked) must not refuse sessions it can still count. The seat is held
        // locally and written by the heartbeat once the file takes writes again. A shared store (PostgreSQL) is the
        // only place a fleet's count lives: there the upgrade is refused (fail closed).
        if (store.kind !== 'sqlite' || !(err instanceof StoreError)) throw err;
        log.warn({ err: err.message, session: ask.sessionId }, 'session leases: the database refuses writes; admitted on this relay\'s own count');
        failing = true;
        result = { ok: true };
      }
      if (result.ok) held.set(ask.sessionId, ask);
      return result;
    },
    release(sessionId) {
      if (!held.delete(sessionId)) return;
      store.releaseLease(sessionId).catch((err: unknown) => {
        log.warn({ err: (err as Error).message, session: sessionId }, 'session leases: cannot release in the store; it expires by itself');
      });
    },
    heartbeat,
    async stop() {
      clearInterval(timer);
      const ids = [...held.keys()];
      held.clear();
      await Promise.all(ids.map((id) => store.releaseLease(id).catch(() => undefined)));
    },
  };
}
