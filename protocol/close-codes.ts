// WebSocket close codes the relay uses toward clients. 1000-1011 are RFC 6455; 4000-4999 are Earshot's own.
// The client maps each to a human sentence; keep this the single list.
export const CloseCode = {
  Normal: 1000,
  /** Relay shutting down (SIGTERM) — reconnect later. */
  GoingAway: 1001,
  /** Message too large for the relay's frame limit. */
  MessageTooBig: 1009,
  /** Upstream failed in a way the relay could not map to anything more specific. */
  InternalError: 1011,
  /** The user's token was revoked, removed or expired, or the user disabled or removed, while connected. */
  Revoked: 4001,
  /** The user ran out of quota (spoken minutes or tokens, daily or monthly) mid-session. */
  QuotaExhausted: 4002,
  /** The relay's own maximum session length (or token budget) was reached. */
  SessionLimit: 4003,
  /** The client read too slowly and the relay's per-session buffer hit its hard limit. */
  Backpressure: 4004,
  /** The upstream provider could not be reached or dropped the connection. */
  UpstreamUnavailable: 4005,
  /** The upstream provider refused the relay's API key. */
  UpstreamAuth: 4006,
  /** The client sent messages faster than the session's rate limit. */
  RateLimited: 4007,
  /** The provider ended the session (its 60-minute cap) — start a new one. */
  SessionExpired: 4008,
  /** The provider refused to open the session as asked: unknown or missing model, or a refused protocol. */
  UpstreamRefused: 4009,
  /** The operator lowered the user's concurrent-session limit below the live count: the newest sessions close. */
  TooManySessions: 4010,
  /** The operator ended this one session from the console (access stays: the person may start a new one). */
  EndedByOperator: 4011,
} as const;
export type CloseCode = (typeof CloseCode)[keyof typeof CloseCode];
