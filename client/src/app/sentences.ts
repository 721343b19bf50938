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

/**
 * Out of quota, with when it comes back in the person's own time: "until 01:00" today, or "until 1 Jan, 01:00".
 * `renewsAt` (epoch ms) comes from the server's refusal; without it the sentence says what the table says.
 */
export function quotaSentence(renewsAt: number | null, now: number, locale?: string, timeZone?: string): string {
  if (renewsAt === null || !Number.isFinite(renewsAt) || renewsAt <= now) return RELAY_ERRORS.quota_exhausted.sentence;
  const tz = timeZone ? { timeZone } : {};
  const day = (t: number) => new Date(t).toLocaleDateString('en-CA', tz);
  const time = new Date(renewsAt).toLocaleTimeString(locale, { hour: '2-digit', minute: '2-digit', ...tz });
  const when = day(renewsAt) === day(now) ? time : `${new Date(renewsAt).toLocaleDateString(locale, { day: 'numeric', month: 'short', ...tz })}, ${time}`;
  return `You are out of speaking time until ${when} (your time). Come back then, or ask whoever runs your Earshot server for more.`;
}
