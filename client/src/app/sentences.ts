// What the app says for each relay rejection: what happened and what to do.
import type { RejectReason } from '../../../protocol/relay-http.ts';

export const REJECT_SENTENCES: Record<RejectReason, string> = {
  token_missing: 'No access token yet. Open the link your operator sent you, or paste the token below.',
  token_malformed: 'That token is not valid. Copy the whole link again, or ask your operator for a new one.',
  token_bad_signature: 'That token was not issued by this server. Ask your operator for a new link.',
  token_expired: 'Your access has expired. Ask your operator for a new link.',
  token_revoked: 'Your access was revoked. Ask your operator for a new link.',
  origin_not_allowed: 'This server does not accept connections from this address. Open the app from the link your operator gave you.',
  user_disabled: 'Your account is disabled. Contact your operator.',
  too_many_sessions: 'You already have a conversation open on another device. Close it there, then try again.',
  too_many_failed_attempts: 'Too many failed sign-ins from your network. Wait a minute, then try again.',
  quota_exhausted: 'You have used all your speaking time for now. It renews tomorrow or next month — or ask your operator for more.',
  shutting_down: 'The server is restarting. The app reconnects by itself in a moment.',
};

/** Rejections that a new token fixes (the onboarding screen), versus ones that pass with time. */
export function needsNewToken(code: string): boolean {
  return ['token_missing', 'token_malformed', 'token_bad_signature', 'token_expired', 'token_revoked', 'user_disabled'].includes(code);
}
