// The one vocabulary of refusals and errors the Earshot server sends, before the upgrade (an HTTP status with
// `{"error":{"code","message"}}`) and after it (a Realtime-shaped `error` event, then maybe a close code).
// The relay words its answers from this table and the app shows these sentences, so a refusal reads the same
// everywhere. Sentences are for the person holding the phone: plain words, what happened and what to do, and
// "the Earshot server" (never "the relay"). A relay may add a detail after the sentence (the allowed models,
// a byte count) for SDK users; the app shows the sentence.
//
// Adding a code: add a row here. `relayErrorEvent` and the authenticator only accept codes in this table, so
// a code the relay emits but the table lacks is a type error (the compile-time check).
import { CloseCode } from './close-codes.ts';

/** HTTP statuses the relay refuses with. */
export type RefusalStatus = 400 | 401 | 403 | 404 | 405 | 426 | 429 | 500 | 503;

export interface RelayErrorSpec {
  /** The HTTP status when this refuses a request before any upgrade (absent: never sent before the upgrade). */
  readonly status?: RefusalStatus;
  /** The close code when this ends a live session (absent: an `error` event only, the session goes on). */
  readonly close?: CloseCode;
  /**
   * Fatal: retrying by itself cannot help, so the app stops and the person must act (a new link, the operator).
   * Not fatal: the app carries on, retries, or starts a new session on its own.
   */
  readonly fatal: boolean;
  /** What a person reads. */
  readonly sentence: string;
}

const ASK_FOR_LINK = 'Ask whoever runs your Earshot server for a new link.';

export const RELAY_ERRORS = {
  // ---- before the upgrade (also the answers of GET /api/session-check) ----
  token_missing: { status: 401, fatal: true, sentence: 'No access token was sent. Open the link you were given for this Earshot server, or paste your token.' },
  token_malformed: { status: 401, fatal: true, sentence: 'That access token is not valid. Check that you copied the whole link, or ask whoever runs your Earshot server for a new one.' },
  token_bad_signature: { status: 401, fatal: true, sentence: `That access token was not issued by this Earshot server. ${ASK_FOR_LINK}` },
  token_expired: { status: 401, close: CloseCode.Revoked, fatal: true, sentence: `Your access token has expired. ${ASK_FOR_LINK}` },
  token_revoked: { status: 401, close: CloseCode.Revoked, fatal: true, sentence: `Your access to this Earshot server was withdrawn. ${ASK_FOR_LINK}` },
  origin_not_allowed: { status: 403, fatal: true, sentence: 'This Earshot server does not accept connections from this web address. Open the app from the link you were given.' },
  user_disabled: { status: 403, close: CloseCode.Revoked, fatal: true, sentence: 'Your account on this Earshot server is switched off. Ask whoever runs it.' },
  model_not_allowed: { status: 400, fatal: true, sentence: 'The app asked for an AI model this Earshot server does not offer. Use one of the models it allows.' },
  too_many_sessions: { status: 429, close: CloseCode.TooManySessions, fatal: true, sentence: 'You already have as many conversations open as you may. Close one on another device or tab, then try again.' },
  too_many_failed_attempts: { status: 429, fatal: true, sentence: 'Too many failed sign-ins from your network. Wait a minute, then try again.' },
  quota_exhausted: { status: 429, close: CloseCode.QuotaExhausted, fatal: true, sentence: 'You have used all your speaking time or AI tokens for now. It renews at the start of the next day or month, or ask whoever runs your Earshot server for more.' },
  store_unavailable: { status: 503, fatal: false, sentence: 'The Earshot server cannot check your allowance right now. The app tries again by itself in a moment.' },
  shutting_down: { status: 503, close: CloseCode.GoingAway, fatal: false, sentence: 'The Earshot server is restarting. The app reconnects by itself in a moment.' },
  internal_error: { status: 500, close: CloseCode.InternalError, fatal: false, sentence: 'The Earshot server ran into a problem of its own. The app tries again by itself.' },
  upgrade_required: { status: 426, fatal: true, sentence: 'This address takes a WebSocket connection, not a web page. Open the app instead.' },
  metrics_unauthorized: { status: 401, fatal: true, sentence: 'The Earshot server’s metrics need the metrics token (Authorization: Bearer …).' },
  not_found: { status: 404, fatal: true, sentence: 'There is nothing at this address on the Earshot server.' },
  method_not_allowed: { status: 405, fatal: true, sentence: 'The Earshot server does not take that kind of request here.' },

  // ---- after the upgrade, ending the session ----
  frame_too_large: { close: CloseCode.MessageTooBig, fatal: false, sentence: 'The app sent a message too large for the Earshot server. It reconnects by itself.' },
  session_limit: { close: CloseCode.SessionLimit, fatal: false, sentence: 'This conversation reached the Earshot server’s time limit. A new one starts with what was said so far.' },
  session_token_budget: { close: CloseCode.SessionLimit, fatal: false, sentence: 'This conversation used all it may on the Earshot server. A new one starts with what was said so far.' },
  client_too_slow: { close: CloseCode.Backpressure, fatal: false, sentence: 'Your connection was too slow to keep up with the answer. The app reconnects by itself.' },
  upstream_backpressure: { close: CloseCode.Backpressure, fatal: false, sentence: 'The AI service could not keep up with your audio. The app reconnects by itself.' },
  upstream_unavailable: { close: CloseCode.UpstreamUnavailable, fatal: false, sentence: 'The Earshot server cannot reach the AI service right now. The app keeps trying.' },
  upstream_auth_failed: { close: CloseCode.UpstreamAuth, fatal: true, sentence: 'The AI service refused the Earshot server’s key. Tell whoever runs your Earshot server.' },
  model_not_available: { close: CloseCode.UpstreamRefused, fatal: true, sentence: 'The AI service does not offer the model this conversation asked for. Tell whoever runs your Earshot server.' },
  upstream_protocol_refused: { close: CloseCode.UpstreamRefused, fatal: true, sentence: 'The AI service refused how the Earshot server talks to it. Tell whoever runs your Earshot server.' },
  upstream_refused: { close: CloseCode.UpstreamRefused, fatal: true, sentence: 'The AI service refused to start this conversation. Tell whoever runs your Earshot server.' },
  rate_limited: { close: CloseCode.RateLimited, fatal: false, sentence: 'The app sent too much too fast and was disconnected. It reconnects by itself.' },
  session_expired: { close: CloseCode.SessionExpired, fatal: false, sentence: 'The conversation reached the AI service’s time limit. A new one starts with what was said so far.' },
  transcoder_failed: { close: CloseCode.InternalError, fatal: false, sentence: 'The Earshot server’s audio converter failed. The app starts a new conversation with what was said so far.' },

  // ---- after the upgrade, refusing one event (the session goes on) ----
  invalid_json: { fatal: false, sentence: 'The Earshot server could not read a message from the app, and skipped it.' },
  invalid_event: { fatal: false, sentence: 'The app sent a message the Earshot server does not understand, and it was skipped.' },
  invalid_value: { fatal: false, sentence: 'The app sent a setting with a value the Earshot server does not accept, and it was skipped.' },
  invalid_type: { fatal: false, sentence: 'The app sent a setting of the wrong kind, and it was skipped.' },
  missing_required_parameter: { fatal: false, sentence: 'The app sent a message with a part missing, and it was skipped.' },
  event_too_deep: { fatal: false, sentence: 'The app sent a message nested too deeply for the Earshot server, and it was skipped.' },
  unknown_parameter: { fatal: false, sentence: 'The app sent a setting the Earshot server does not know, and it was skipped.' },
  event_too_large: { fatal: false, sentence: 'The app sent a message too large for the Earshot server, and it was skipped.' },
  event_type_not_allowed: { fatal: false, sentence: 'The app asked for something this Earshot server does not allow, and it was skipped.' },
  session_field_locked: { fatal: false, sentence: 'This Earshot server does not let the app change that setting.' },
  voice_not_allowed: { fatal: false, sentence: 'This Earshot server does not offer that voice. Choose another one in Settings.' },
  // ---- the app link (earshot.v2) only ----
  invalid_audio_frame: { fatal: false, sentence: 'The app sent a binary message that is not audio, and it was skipped.' },
  invalid_audio: { fatal: false, sentence: 'The Earshot server could not decode a piece of your audio, and skipped it.' },
  audio_encode_failed: { fatal: false, sentence: 'The Earshot server could not convert a piece of the answer’s audio, and skipped it.' },
} as const satisfies Record<string, RelayErrorSpec>;

export type RelayErrorCode = keyof typeof RELAY_ERRORS;

/** Codes that refuse a request before the upgrade (they have an HTTP status). */
export type RefusalCode = { [K in RelayErrorCode]: (typeof RELAY_ERRORS)[K] extends { status: RefusalStatus } ? K : never }[RelayErrorCode];

/** Codes that end a live session (they have a close code). */
export type SessionEndCode = { [K in RelayErrorCode]: (typeof RELAY_ERRORS)[K] extends { close: CloseCode } ? K : never }[RelayErrorCode];

export function isRelayErrorCode(code: unknown): code is RelayErrorCode {
  return typeof code === 'string' && Object.hasOwn(RELAY_ERRORS, code);
}

export function relayErrorSpec(code: RelayErrorCode): RelayErrorSpec {
  return RELAY_ERRORS[code];
}

export function refusalStatus(code: RefusalCode): RefusalStatus {
  return RELAY_ERRORS[code].status;
}

/** The sentence, then an optional detail for SDK users (e.g. the allowed models). */
export function relayErrorMessage(code: RelayErrorCode, detail?: string): string {
  const sentence = RELAY_ERRORS[code].sentence;
  return detail ? `${sentence} ${detail}` : sentence;
}

/**
 * The code a close code stands for when the app saw no `error` event before it (several codes share 4001, 4003
 * and 4004; the first listed is the usual one).
 */
export const CLOSE_CODE_ERRORS: Partial<Record<CloseCode, SessionEndCode>> = {
  [CloseCode.GoingAway]: 'shutting_down',
  [CloseCode.MessageTooBig]: 'frame_too_large',
  [CloseCode.InternalError]: 'internal_error',
  [CloseCode.Revoked]: 'token_revoked',
  [CloseCode.QuotaExhausted]: 'quota_exhausted',
  [CloseCode.SessionLimit]: 'session_limit',
  [CloseCode.Backpressure]: 'client_too_slow',
  [CloseCode.UpstreamUnavailable]: 'upstream_unavailable',
  [CloseCode.UpstreamAuth]: 'upstream_auth_failed',
  [CloseCode.RateLimited]: 'rate_limited',
  [CloseCode.SessionExpired]: 'session_expired',
  [CloseCode.UpstreamRefused]: 'upstream_refused',
  [CloseCode.TooManySessions]: 'too_many_sessions',
};
