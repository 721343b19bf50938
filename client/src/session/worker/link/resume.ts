// Resume decisions on the earshot.v2 link: what to offer when (re)connecting, how to count relay messages for
// `ack`, and what a relay's `earshot.session` means for the conversation — continue, or start fresh carrying its
// text, with words that say honestly what happened. Pure, so every branch is a unit test.
import { APP_SUBPROTOCOL, RESUME_SUBPROTOCOL_PREFIX, type LinkSession } from '../../../../../protocol/app-link.ts';
import { SUBPROTOCOL, TOKEN_SUBPROTOCOL_PREFIX } from '../../../../../protocol/relay-http.ts';

export type LinkVersion = 'v2' | 'v1';

export interface ResumeTicket {
  resumeToken: string;
  /** Relay messages received on this session so far. */
  received: number;
}

/**
 * Subprotocols to offer: the link version, the token, and on v2 the session to resume if there is one. v2 also
 * offers earshot.v1 *last*, so a relay that predates earshot.v2 still gets a working (verbatim) link instead of a
 * refused handshake; a relay that speaks v2 chooses it first.
 */
export function offeredProtocols(version: LinkVersion, token: string, resume: ResumeTicket | null): string[] {
  if (version === 'v1') return [SUBPROTOCOL, `${TOKEN_SUBPROTOCOL_PREFIX}${token}`];
  const protocols = [APP_SUBPROTOCOL, `${TOKEN_SUBPROTOCOL_PREFIX}${token}`];
  if (resume) protocols.push(`${RESUME_SUBPROTOCOL_PREFIX}${resume.resumeToken}.${resume.received}`);
  protocols.push(SUBPROTOCOL);
  return protocols;
}

/**
 * Whether a text frame from the relay counts toward `ack` (protocol/app-link.ts, "Sequence numbers", as the relay
 * implements it): every frame except the heartbeat, and except the `earshot.session {resumed: true}` that opens a
 * resumed link (the replayed messages keep their numbers). Binary frames always count.
 */
export function countsTowardAck(event: { type: string; resumed?: unknown }): boolean {
  if (event.type === 'earshot.ping' || event.type === 'earshot.pong') return false;
  return !(event.type === 'earshot.session' && event.resumed === true);
}

/** Why the conversation's text is carried into a new provider session (decides the system message's words). */
export type CarryReason = 'time_limit' | 'link_lost';

export type SessionOutcome =
  /** The same provider session goes on; keep playing, keep the transcript, keep the send queue. */
  | { kind: 'resumed' }
  /**
   * A new provider session. `carry`: carry the conversation's text, and why. `notice`: a sentence for the person
   * (null when nothing worth saying happened, e.g. the very first session).
   */
  | { kind: 'fresh'; carry: CarryReason | null; notice: string | null };

export function sessionOutcome(session: Pick<LinkSession, 'resumed' | 'resume_failed'>, askedToResume: boolean, renewing: CarryReason | null): SessionOutcome {
  if (session.resumed) return { kind: 'resumed' };
  if (askedToResume) {
    // We had a session and lost the link: the relay could not continue it.
    const why =
      session.resume_failed === 'buffer_overflow'
        ? 'too much of the reply arrived while the connection was down'
        : session.resume_failed === 'unknown'
          ? 'the relay no longer knew the conversation (it may have restarted)'
          : 'the connection was down for too long';
    return { kind: 'fresh', carry: 'link_lost', notice: `The connection dropped and the conversation could not continue where it was (${why}). A new one started with what was said so far.` };
  }
  return { kind: 'fresh', carry: renewing, notice: null };
}

/** Opening words of the system message that carries the conversation into a new session. */
export function carryPreamble(reason: CarryReason): string {
  return reason === 'time_limit'
    ? 'The previous session reached its time limit. This is the conversation so far; continue it naturally without mentioning the restart.'
    : 'The connection to the user dropped and the previous session was lost; the last reply may not have been heard in full. This is the conversation so far; continue it naturally.';
}
