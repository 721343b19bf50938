// Every failure the engine can report, as a human sentence that says what to do. Pure so the wording is tested.
import { CloseCode } from '../../../protocol/close-codes.ts';
import type { RejectReason } from '../../../protocol/relay-http.ts';
import type { ErrorBody } from '../../../protocol/realtime.ts';
import type { EngineError } from './engine-api.ts';

const REJECT_MESSAGES: Record<RejectReason, { message: string; fatal: boolean }> = {
  token_missing: { message: 'No access token. Open the link your relay operator gave you, or paste the token in Settings.', fatal: true },
  token_malformed: { message: 'That access token is not valid. Copy the whole link from your relay operator again.', fatal: true },
  token_bad_signature: { message: 'This relay does not recognise the access token. Ask your operator for a new link.', fatal: true },
  token_expired: { message: 'Your access token has expired. Ask your relay operator for a new link.', fatal: true },
  token_revoked: { message: 'Your access token was revoked. Ask your relay operator for a new link.', fatal: true },
  origin_not_allowed: { message: 'This relay does not accept connections from this web address. Open the app from the relay’s own address.', fatal: true },
  user_disabled: { message: 'Your account on this relay is disabled. Ask your relay operator.', fatal: true },
  too_many_sessions: { message: 'You already have the maximum number of conversations open. Close the app on your other devices or tabs and try again.', fatal: true },
  too_many_failed_attempts: { message: 'Too many failed sign-in attempts from here. Wait a few minutes, then try again.', fatal: true },
  quota_exhausted: { message: 'You have used up your speaking time on this relay. Ask your operator for more, or try again after the quota resets.', fatal: true },
  shutting_down: { message: 'The relay is restarting. Reconnecting shortly…', fatal: false },
};

export function rejectError(reason: RejectReason): EngineError {
  const entry = REJECT_MESSAGES[reason] ?? { message: `The relay refused the connection (${String(reason)}).`, fatal: true };
  return { reason, ...entry };
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
  return { reason: 'relay_unreachable', message: `Cannot reach the relay${detail ? ` (${detail})` : ''}. Check your connection; retrying automatically.`, fatal: false };
}

/** What to do after the socket closed with `code`. */
export type CloseAction =
  | { kind: 'stop'; error: EngineError }
  | { kind: 'reconnect'; error: EngineError }
  | { kind: 'new-session' };

export function closeAction(code: number): CloseAction {
  switch (code) {
    case CloseCode.Revoked:
      return { kind: 'stop', error: { reason: 'token_revoked', message: 'Your access was revoked while you were talking. Ask your relay operator for a new link.', fatal: true } };
    case CloseCode.QuotaExhausted:
      return { kind: 'stop', error: { reason: 'quota_exhausted', message: 'You have used up your speaking time on this relay. Ask your operator for more.', fatal: true } };
    case CloseCode.UpstreamAuth:
      return { kind: 'stop', error: { reason: 'upstream_error', message: 'The relay’s AI provider key was refused. Tell your relay operator.', fatal: true } };
    case CloseCode.SessionExpired:
    case CloseCode.SessionLimit:
      return { kind: 'new-session' };
    case CloseCode.GoingAway:
      return { kind: 'reconnect', error: { reason: 'relay_unreachable', message: 'The relay is restarting. Reconnecting…', fatal: false } };
    case CloseCode.UpstreamUnavailable:
      return { kind: 'reconnect', error: { reason: 'upstream_error', message: 'The AI provider cannot be reached right now. Retrying…', fatal: false } };
    case CloseCode.Backpressure:
      return { kind: 'reconnect', error: { reason: 'relay_unreachable', message: 'The connection was too slow to keep up. Reconnecting…', fatal: false } };
    case CloseCode.RateLimited:
      return { kind: 'reconnect', error: { reason: 'protocol_error', message: 'The app sent too much too fast and was disconnected. Reconnecting…', fatal: false } };
    case CloseCode.MessageTooBig:
      return { kind: 'reconnect', error: { reason: 'protocol_error', message: 'A message was too large for the relay. Reconnecting…', fatal: false } };
    case CloseCode.InternalError:
      return { kind: 'reconnect', error: { reason: 'upstream_error', message: 'The relay hit an internal error. Reconnecting…', fatal: false } };
    default:
      return { kind: 'reconnect', error: unreachableError('connection lost') };
  }
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
  switch (error.code) {
    case 'session_expired':
      return 'The conversation reached its time limit; starting a fresh one with what was said so far.';
    case 'input_audio_buffer_commit_empty':
      return 'Nothing was heard — hold the talk button a little longer while you speak.';
    case 'conversation_already_has_active_response':
      return 'The assistant is still answering; wait for it or interrupt it first.';
    case 'session_field_locked':
    case 'voice_not_allowed':
      return `This relay does not allow that setting: ${error.message}`;
    case 'rate_limit_exceeded':
      return 'The AI provider is rate limiting this relay. Wait a moment and try again.';
    case 'insufficient_quota':
      return 'The relay’s AI provider account is out of credit. Tell your relay operator.';
    case 'invalid_api_key':
      return 'The relay’s AI provider key was refused. Tell your relay operator.';
    default:
      break;
  }
  switch (error.type) {
    case 'server_error':
      return 'The AI provider had a problem answering. Try again.';
    case 'rate_limit_error':
      return 'The AI provider is busy. Wait a moment and try again.';
    default:
      return error.message ? `The assistant could not do that: ${error.message}` : 'Something went wrong talking to the assistant. Try again.';
  }
}

export function providerError(error: ErrorBody): EngineError {
  return { reason: error.type === 'invalid_request_error' ? 'protocol_error' : 'upstream_error', message: providerErrorMessage(error), fatal: false };
}
