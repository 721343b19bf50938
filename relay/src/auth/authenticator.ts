// Decides, before any upgrade, whether a request may open a session: address throttle, origin, token,
// revocation, user state, quota, concurrency — in that order, each with its own status and sentence.
import type { RejectBody, RejectReason } from '../../../protocol/relay-http.ts';
import { extractCredentials } from './extract.ts';
import type { FailedAttemptLimiter } from './limiter.ts';
import type { UserRecord, UserStore } from './store.ts';
import { verifyToken } from './tokens.ts';

export interface AuthRequest {
  authorization?: string;
  protocols?: string;
  origin?: string;
  remoteAddress: string;
  /** The user whose live session this request resumes (app link): that session is not counted against the limit. */
  resumesSessionOf?: string;
}

export type AuthResult =
  | { ok: true; user: UserRecord; tokenId: string; expiresAt: number; echoProtocol: string | undefined }
  | { ok: false; status: 401 | 403 | 429; body: RejectBody };

export interface AuthenticatorDeps {
  store: UserStore;
  secret: Uint8Array;
  /** Allowed `Origin` values; empty allows any (requests without an Origin — SDKs, servers — always pass). */
  allowedOrigins: string[];
  liveSessions: (userId: string) => number;
  quotaExceeded?: (userId: string) => boolean;
  limiter: FailedAttemptLimiter;
  now?: () => number;
}

export const REJECT_MESSAGES: Record<RejectReason, string> = {
  token_missing: 'No access token was sent. Open the link your operator gave you, or paste your token in the app.',
  token_malformed: 'That access token is not valid. Check that you copied the whole link, or ask your operator for a new one.',
  token_bad_signature: 'That access token was not issued by this server. Ask your operator for a new link.',
  token_expired: 'Your access token has expired. Ask your operator for a new link.',
  token_revoked: 'Your access token has been revoked. Ask your operator for a new link.',
  origin_not_allowed: 'This app is not allowed to connect from this address. Open it from the address your operator gave you.',
  user_disabled: 'Your account is disabled. Contact your operator.',
  too_many_sessions: 'You already have the maximum number of conversations open. Close one on another device and try again.',
  too_many_failed_attempts: 'Too many failed sign-in attempts from your network. Wait a minute and try again.',
  quota_exhausted: 'You have used all your speaking time for now. It renews at the start of the next day or month, or ask your operator for more.',
  shutting_down: 'The server is restarting. The app will reconnect by itself in a moment.',
};

export function reject(status: 401 | 403 | 429, reason: RejectReason): { ok: false; status: 401 | 403 | 429; body: RejectBody } {
  return { ok: false, status, body: { error: { code: reason, message: REJECT_MESSAGES[reason] } } };
}

export class Authenticator {
  constructor(private readonly deps: AuthenticatorDeps) {}

  async authenticate(req: AuthRequest): Promise<AuthResult> {
    const { store, limiter } = this.deps;
    if (limiter.isBlocked(req.remoteAddress)) return reject(429, 'too_many_failed_attempts');
    const allowed = this.deps.allowedOrigins;
    if (req.origin && allowed.length > 0 && !allowed.includes(req.origin)) return reject(403, 'origin_not_allowed');

    const fail = (reason: 'token_missing' | 'token_malformed' | 'token_bad_signature' | 'token_expired' | 'token_revoked') => {
      limiter.recordFailure(req.remoteAddress);
      return reject(401, reason);
    };
    const creds = extractCredentials({
      ...(req.authorization !== undefined ? { authorization: req.authorization } : {}),
      ...(req.protocols !== undefined ? { protocols: req.protocols } : {}),
    });
    if (!creds.ok) return fail(creds.reason);
    const verified = await verifyToken(this.deps.secret, creds.token, this.deps.now?.());
    if (!verified.ok) return fail(verified.reason);

    store.refresh();
    const record = store.getToken(verified.tokenId);
    // A token missing from the store was issued against a store that is gone: treat it as revoked.
    if (!record || record.revokedAt !== undefined || record.userId !== verified.userId) return fail('token_revoked');
    const user = store.getUser(verified.userId);
    if (!user || !user.enabled) return reject(403, 'user_disabled');
    if (this.deps.quotaExceeded?.(user.id)) return reject(429, 'quota_exhausted');
    const live = this.deps.liveSessions(user.id) - (req.resumesSessionOf === user.id ? 1 : 0);
    if (live >= user.maxSessions) return reject(429, 'too_many_sessions');
    return { ok: true, user, tokenId: verified.tokenId, expiresAt: verified.expiresAt, echoProtocol: creds.echoProtocol };
  }
}
