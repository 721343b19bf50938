// Live enforcement of access, on the relay's event loop: what the upgrade checked once (token valid, not
// revoked, not expired; user present and enabled; fewer sessions than max-sessions) is re-checked for every
// live session whenever the store's change feed reports a change (a CLI in another process, another relay, or
// this one: store/directory.ts) and on a short tick, so a token's `exp` passing ends its session too. Accounting (../accounts/accounting.ts) ends sessions for quota
// and uses the same sentences when it finds a user gone.
import { CloseCode } from '../../../protocol/close-codes.ts';
import type { RelayErrorCode } from '../../../protocol/relay-errors.ts';
import type { Logger } from '../log.ts';
import type { SessionInfo } from '../session/hooks.ts';
import type { Directory } from '../store/directory.ts';

/** Why a live session must end, with the close code, the `error` event's code and the sentence a person reads. */
export const ACCESS_ENDED = {
  token_revoked: { close: CloseCode.Revoked, errorCode: 'token_revoked', message: 'Your access was revoked by the operator. Ask them for a new link.' },
  token_removed: { close: CloseCode.Revoked, errorCode: 'token_revoked', message: 'Your access token was removed by the operator. Ask them for a new link.' },
  user_disabled: { close: CloseCode.Revoked, errorCode: 'user_disabled', message: 'Your account was disabled by the operator. Contact them to get back in.' },
  user_removed: { close: CloseCode.Revoked, errorCode: 'user_disabled', message: 'Your account was removed by the operator. Contact them to get back in.' },
  token_expired: { close: CloseCode.Revoked, errorCode: 'token_expired', message: 'Your access token expired during this conversation. Ask your operator for a new link.' },
} as const satisfies Record<string, { close: CloseCode; errorCode: RelayErrorCode; message: string }>;
export type AccessEnd = keyof typeof ACCESS_ENDED;

/** The part of a relay session this module needs (RelaySession has it). */
export interface LiveSession {
  readonly info: SessionInfo;
  terminate(code: number, errorCode: RelayErrorCode, message: string): void;
}

/** Why this session may no longer run, or null when it may. Pure: store lookups and one clock read. */
export function accessVerdict(store: Pick<Directory, 'getUser' | 'getToken' | 'readSince'>, info: SessionInfo, nowMs: number): AccessEnd | null {
  // A record the upgrade read from the store may not be in this copy yet (minted a moment ago in another
  // process): only a copy read after the upgrade can say it was removed.
  const absenceCounts = info.directoryMark === undefined || store.readSince(info.directoryMark);
  // The user first: removing a user removes their tokens too, and the sentence should say the account went.
  const user = store.getUser(info.userId);
  if (!user) return absenceCounts ? 'user_removed' : null;
  if (!user.enabled) return 'user_disabled';
  const token = store.getToken(info.tokenId);
  if (!token) return absenceCounts ? 'token_removed' : null;
  if (token.revokedAt !== undefined) return 'token_revoked';
  // `exp` is in whole seconds (JWT); the token is valid up to but not including it, as jose checks at upgrade.
  if (token.expiresAt * 1000 <= nowMs) return 'token_expired';
  return null;
}

function tooManySessionsMessage(max: number): string {
  return max === 0
    ? 'The operator has set your account to allow no conversations for now. Contact them to get back in.'
    : `The operator lowered your limit to ${max} conversation${max === 1 ? '' : 's'} at a time; this one, the newest, was closed. Close one on another device to start it again.`;
}

export interface LiveAccessOptions {
  directory: Directory;
  /** The relay's live sessions (any iteration order). */
  sessions: () => Iterable<LiveSession>;
  now?: () => number;
  log: Logger;
  /** How often to re-check without a change (token expiry). */
  tickMs?: number;
  /**
   * The user's live sessions on EVERY relay sharing the store, oldest seat first (Store.seatOrder). When given,
   * a change to a user with sessions here also counts their seats fleet-wide, and this relay closes those of
   * its sessions that hold a seat beyond the limit — every relay hears the same change and does the same, so
   * the newest beyond the limit are closed across the fleet, not only where one relay has too many.
   */
  seatOrder?: (userId: string, now: number) => Promise<ReadonlyArray<{ sessionId: string }>>;
}

export interface LiveAccess {
  /** Re-checks every live session now; ends those no longer allowed. */
  sweep(): void;
  stop(): void;
}

export function watchLiveAccess(options: LiveAccessOptions): LiveAccess {
  const { directory: store, log } = options;
  const now = options.now ?? Date.now;
  const sweep = (): void => {
    try {
      const t = now();
      const allowed = new Map<string, LiveSession[]>();
      for (const session of [...options.sessions()]) {
        const end = accessVerdict(store, session.info, t);
        if (end === null) {
          const list = allowed.get(session.info.userId);
          if (list) list.push(session);
          else allowed.set(session.info.userId, [session]);
          continue;
        }
        const { close, errorCode, message } = ACCESS_ENDED[end];
        log.info({ session: session.info.sessionId, user: session.info.userId, reason: end }, 'access ended mid-session');
        session.terminate(close, errorCode, message);
      }
      // max-sessions lowered below the live count: keep the oldest, close the newest beyond the limit.
      for (const [userId, list] of allowed) {
        // Not in the copy yet (see accessVerdict): its limit is not known here, and the upgrade just checked it.
        const max = store.getUser(userId)?.maxSessions;
        if (max === undefined || list.length <= max) continue;
        list.sort((a, b) => a.info.startedAt - b.info.startedAt);
        for (const session of list.slice(max)) {
          log.info({ session: session.info.sessionId, user: userId, maxSessions: max, live: list.length }, 'max-sessions lowered below the live count: closing the newest');
          session.terminate(CloseCode.TooManySessions, 'too_many_sessions', tooManySessionsMessage(max));
        }
      }
    } catch (err) {
      log.error({ err: (err as Error).message }, 'live access check failed');
    }
  };
  const { seatOrder } = options;
  /** The fleet-wide count, on a change to these users (a store read each: not on the tick). */
  const sweepFleet = async (userIds: Set<string>): Promise<void> => {
    if (!seatOrder) return;
    for (const userId of userIds) {
      const user = store.getUser(userId);
      if (!user || ![...options.sessions()].some((s) => s.info.userId === userId)) continue;
      let seats: ReadonlyArray<{ sessionId: string }>;
      try {
        seats = await seatOrder(userId, now());
      } catch (err) {
        // The store cannot answer: this relay's own count (sweep) still applies.
        log.warn({ err: (err as Error).message, user: userId }, 'cannot count the user\'s sessions across the fleet; checked on this relay only');
        continue;
      }
      const max = store.getUser(userId)?.maxSessions ?? 0;
      if (seats.length <= max) continue;
      const beyond = new Set(seats.slice(max).map((s) => s.sessionId));
      // Read again after the await: a session that ended meanwhile is gone from the map.
      for (const session of [...options.sessions()]) {
        if (session.info.userId !== userId || !beyond.has(session.info.sessionId)) continue;
        log.info({ session: session.info.sessionId, user: userId, maxSessions: max, live: seats.length }, 'max-sessions lowered below the fleet-wide count: closing the newest');
        session.terminate(CloseCode.TooManySessions, 'too_many_sessions', tooManySessionsMessage(max));
      }
    }
  };
  const unwatch = store.onChange((changes) => {
    sweep();
    const users = new Set(changes.filter((c) => c.kind === 'user_changed').map((c) => c.userId));
    void sweepFleet(users);
  });
  // The feed only calls back on a change; expiry needs the clock checked even when nothing changed.
  const timer = setInterval(sweep, options.tickMs ?? 500);
  timer.unref();
  return {
    sweep,
    stop() {
      clearInterval(timer);
      unwatch();
    },
  };
}
