// When the session worker tries the relay again after a link is lost, and how long one try may take. Pure: the
// runner passes the attempt number and a random draw in (livekit's ReconnectPolicy is the model).
//
// Why resuming is treated differently: while the relay holds a resume ticket (30 s grace), every second without a
// connection is a second of the reply the person does not hear, and the network may come back at any moment (an
// outage ends, a handover completes). The first SYN after the link is back decides when the reply resumes, so
// tries stay close together (a SYN is ~60 bytes). Without a ticket (relay down, token problems) the usual
// exponential backoff spares the relay a crowd of reconnecting phones.
import { backoffDelay } from '../backoff.ts';

/** Delay cap between tries while a resume ticket is held. */
export const RESUME_RETRY_MAX_MS = 500;

/**
 * How long a WebSocket may take to open before the try is abandoned and another one started. The kernel's own
 * SYN retries (1 s, 3 s, 7 s …) are too sparse once a connect has spent a while in an outage; a fresh try sends a
 * fresh SYN at once. Weak 3G (300 ± 100 ms, 3 % loss) opens in ~0.7 s, ~1.7 s with one lost SYN.
 */
export const SOCKET_OPEN_TIMEOUT_MS = 2_500;

/** How long the HTTP session check may take (it can sit on a keep-alive connection that died with the link). */
export const SESSION_CHECK_TIMEOUT_MS = 5_000;

export interface RetryContext {
  /** 1-based: the attempt about to be scheduled. */
  attempt: number;
  /** A resume ticket is held (earshot.v2): the provider session is waiting. */
  resuming: boolean;
  /** In [0, 1). */
  random: number;
}

/** The first try goes at once (a dropped link usually comes straight back); later ones back off. */
export function nextRetryDelayMs(ctx: RetryContext): number {
  if (ctx.attempt <= 1) return 0;
  const delay = backoffDelay(ctx.attempt - 1, ctx.random);
  return ctx.resuming ? Math.min(delay, RESUME_RETRY_MAX_MS) : delay;
}
