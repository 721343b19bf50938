// Every failure the engine can report, as a human sentence that says what to do. Pure so the wording is tested.
// The Earshot server's own refusals and errors read from the shared vocabulary (protocol/relay-errors.ts), so
// the app says what the server's table says; only the provider's errors and the device's are worded here.
import { CloseCode } from '../../../protocol/close-codes.ts';
import { CLOSE_CODE_ERRORS, isRelayErrorCode, RELAY_ERRORS, relayErrorSpec, type RelayErrorCode } from '../../../protocol/relay-errors.ts';
import type { RejectReason } from '../../../protocol/relay-http.ts';
import type { ErrorBody } from '../../../protocol/realtime.ts';
import type { EngineError } from './engine-api.ts';

/** A refusal of the session check or the upgrade (an unknown code from a newer server is still shown, fatal). */
export function rejectError(reason: RejectReason): EngineError {
  if (!isRelayErrorCode(reason)) return { reason, message: `The Earshot server refused the connection (${String(reason)}).`, fatal: true };
  const { sentence, fatal } = RELAY_ERRORS[reason];
  return { reason, message: sentence, fatal };
}

/** Where the microphone permission lives in the browser in use (pure: pass navigator.userAgent). */
export function micDeniedInstructions(userAgent: string): string {
  const ua = userAgent;
  if (/iPhone|iPad|iPod/.test(ua)) {
    return 'Tap “aA” in the address bar › Website Settings › Microphone › Allow (or iOS Settings › Safari › Microphone), then start again.';
  }
  if (/Firefox\//.test(ua)) return 'Click the crossed-out microphone icon in the address bar, remove the block, then start again.';
  if (/Android/.test(ua)) return 'Tap the icon left of the address › Permissions › Microphone › Allow, then start again.';
  if (/Safari\//.test(ua) && !/Chrome\/|Chromium\//.test(ua)) return 'Open Safari › Settings for this website › Microphone › Allow, then start again.';
  return 'Click the icon left of the address › Site settings › Microphone › Allow, then start again.';
}

export function micDenied(userAgent = ''): EngineError {
  return { reason: 'mic_denied', message: `Microphone access is blocked. ${micDeniedInstructions(userAgent)}`, fatal: true };
}

export const MIC_DENIED: EngineError = micDenied();

export const MIC_MISSING: EngineError = {
  reason: 'mic_missing',
  message: 'No microphone was found. Plug in a headset or choose another microphone in Settings.',
  fatal: true,
};

export function micError(name: string, userAgent = ''): EngineError {
  if (name === 'NotAllowedError' || name === 'SecurityError') return micDenied(userAgent);
  if (name === 'NotFoundError' || name === 'OverconstrainedError') return MIC_MISSING;
  return { reason: 'audio_failed', message: `The microphone could not be started (${name}). Close other apps using it and try again.`, fatal: true };
}

export function unreachableError(detail?: string): EngineError {
  return { reason: 'relay_unreachable', message: `Cannot reach the Earshot server${detail ? ` (${detail})` : ''}. Check your connection; retrying automatically.`, fatal: false };
}

/** earshot.v2: the link died while the person was speaking; the relay dropped that fragment so it is never answered. */
export const INPUT_CUT_NOTICE: EngineError = {
  reason: 'relay_unreachable',
  message: 'The connection dropped while you were speaking, so that part was not heard. Please say it again.',
  fatal: false,
};

/** What to do after the socket closed with `code`. */
export type CloseAction =
  | { kind: 'stop'; error: EngineError }
  | { kind: 'reconnect'; error: EngineError }
  | { kind: 'new-session' };

/** The engine's reason for a server error code: refusals keep their code, the rest are grouped. */
function engineReason(code: RelayErrorCode): EngineError['reason'] {
  // A restarting server keeps its own code: the state line says "restarting", not "connection lost".
  if (code === 'token_revoked' || code === 'token_expired' || code === 'user_disabled' || code === 'quota_exhausted' || code === 'shutting_down') return code;
  if (code === 'client_too_slow') return 'relay_unreachable';
  if (code.startsWith('upstream') || code === 'internal_error' || code === 'session_expired') return 'upstream_error';
  return 'protocol_error';
}

/**
 * What to do after the socket closed with `code`. `lastErrorCode` is the `error` event's code the server sent
 * just before closing, when there was one: it tells apart the codes that share a close code (4001: revoked,
 * expired or disabled).
 */
export function closeAction(code: number, lastErrorCode?: string | null): CloseAction {
  const said = isRelayErrorCode(lastErrorCode) && relayErrorSpec(lastErrorCode).close === code ? lastErrorCode : undefined;
  const errorCode = said ?? CLOSE_CODE_ERRORS[code as CloseCode];
  if (code === CloseCode.SessionExpired || code === CloseCode.SessionLimit) return { kind: 'new-session' };
  if (errorCode === undefined) return { kind: 'reconnect', error: unreachableError('connection lost') };
  const { sentence, fatal } = RELAY_ERRORS[errorCode];
  const error: EngineError = { reason: engineReason(errorCode), message: sentence, fatal };
  return fatal ? { kind: 'stop', error } : { kind: 'reconnect', error };
}

/** Error codes that are expected races, not problems worth showing (e.g. cancelling a response that just ended). */
const BENIGN_CODES = new Set(['response_cancel_not_active']);

export function isBenignProviderError(error: ErrorBody): boolean {
  return error.code != null && BENIGN_CODES.has(error.code);
}

export function isSessionExpired(error: ErrorBody): boolean {
  return error.code === 'session_expired';
}

/** Maps a provider/relay `error` event body to a sentence for a person. */
export function providerErrorMessage(error: ErrorBody): string {
  // The Earshot server's own codes read as its table says (the event's message is for SDK users).
  if (isRelayErrorCode(error.code)) return RELAY_ERRORS[error.code].sentence;
  switch (error.code) {
    case 'input_audio_buffer_commit_empty':
      return 'Nothing was heard — hold the talk button a little longer while you speak.';
    case 'conversation_already_has_active_response':
      return 'The assistant is still answering; wait for it or interrupt it first.';
    case 'rate_limit_exceeded':
      return 'The AI service is rate limiting this Earshot server. Wait a moment and try again.';
    case 'insufficient_quota':
      return 'The AI service account behind this Earshot server is out of credit. Tell whoever runs it.';
    case 'invalid_api_key':
      return RELAY_ERRORS.upstream_auth_failed.sentence;
    default:
      break;
  }
  switch (error.type) {
    case 'server_error':
      return 'The AI service had a problem answering. Try again.';
    case 'rate_limit_error':
      return 'The AI service is busy. Wait a moment and try again.';
    default:
      return error.message ? `The assistant could not do that: ${error.message}` : 'Something went wrong talking to the assistant. Try again.';
  }
}

export function providerError(error: ErrorBody): EngineError {
  return { reason: error.type === 'invalid_request_error' ? 'protocol_error' : 'upstream_error', message: providerErrorMessage(error), fatal: false };
}
