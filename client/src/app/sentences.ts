// What the app says for each refusal of the Earshot server: the shared vocabulary's sentence
// (protocol/relay-errors.ts), so the onboarding screen, the conversation screen and the server say the same.
import { isRelayErrorCode, RELAY_ERRORS } from '../../../protocol/relay-errors.ts';
import type { RejectReason } from '../../../protocol/relay-http.ts';

/** The sentence for a refusal; a code this app does not know yet (a newer server) falls back to `serverMessage`. */
export function rejectSentence(code: string, serverMessage: string): string {
  return isRelayErrorCode(code) ? RELAY_ERRORS[code].sentence : serverMessage;
}

const NEEDS_NEW_TOKEN: ReadonlySet<RejectReason> = new Set(['token_missing', 'token_malformed', 'token_bad_signature', 'token_expired', 'token_revoked', 'user_disabled']);

/** Rejections that a new token fixes (the onboarding screen), versus ones that pass with time. */
export function needsNewToken(code: string): boolean {
  return NEEDS_NEW_TOKEN.has(code as RejectReason);
}
