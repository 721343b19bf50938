// Decides, before any upgrade, whether a request may open a session: origin, token (signature, expiry,
// revocation), user state, model, quota, concurrency — in that order, each refusal a code of the shared
// vocabulary (protocol/relay-errors.ts), whose table gives its status and sentence.
//
// The failed-sign-in throttle only ever answers for a request whose token does NOT verify: a stranger's bad
// tokens from the same network (or through the same proxy) must never lock out someone holding a good one.
import { refusalStatus, relayErrorMessage, type RefusalCode, type RefusalStatus } from '../../../protocol/relay-errors.ts';
import type { RejectBody } from '../../../protocol/relay-http.ts';
import { extractCredentials } from './extract.ts';
import type { FailedAttemptLimiter } from './limiter.ts';
import type { Directory } from '../store/directory.ts';
import { StoreError, type Store, type TokenRecord, type UserRecord } from '../store/store.ts';
import { verifyToken } from './tokens.ts';

export interface AuthRequest {
  authorization?: string;
  protocols?: string;
  origin?: string;
  /** The client's address as far as the relay can trust it (see http/client-address.ts), not always the socket peer. */
  remoteAddress: string;
  /** The user whose live session this request resumes (app link): that session is not counted against the limit. */
  resumesSessionOf?: string;
  /** The upstream model asked for (`?model=`); absent: the configured default. */
  model?: string;
}

export type Refusal = { ok: false; status: RefusalStatus; body: RejectBody };

export type AuthResult = { ok: true; user: UserRecord; tokenId: string; expiresAt: number; echoProtocol: string | undefined } | Refusal;

export interface AuthenticatorDeps {
  /** Read first, so a token a CLI minted a moment ago works at once. */
  store: Store;
  /** The change-fed copy, used when the store cannot answer (a locked or unreachable database). */
  directory: Directory;
  secret: Uint8Array;
  /** Allowed `Origin` values; empty allows any (requests without an Origin — SDKs, servers — always pass). */
  allowedOrigins: string[];
  /** Models a client may ask for; a request naming another is refused with `model_not_allowed`. */
  allowedModels: readonly string[];
  liveSessions: (userId: string) => number;
  /** May throw a StoreError `unavailable` when quotas cannot be checked: the request is refused (fail closed). */
  quotaExceeded?: (userId: string, user: UserRecord) => boolean | Promise<boolean>;
  limiter: FailedAttemptLimiter;
  now?: () => number;
}

/** A refusal with its status and sentence from the shared table; `detail` is appended for SDK users. */
export function reject(code: RefusalCode, detail?: string): Refusal {
  return { ok: false, status: refusalStatus(code), body: { error: { code, message: relayErrorMessage(code, detail) } } };
}

type TokenFailure = 'token_missing' | 'token_malformed' | 'token_bad_signature' | 'token_expired' | 'token_revoked';

export class Authenticator {
  constructor(private readonly deps: AuthenticatorDeps) {}

  async authenticate(req: AuthRequest): Promise<AuthResult> {
    const { limiter } = this.deps;
    const allowed = this.deps.allowedOrigins;
    if (req.origin && allowed.length > 0 && !allowed.includes(req.origin)) return reject('origin_not_allowed');

    // Only failures are throttled, and only after the token was checked: a blocked address still gets in with a
    // token that verifies. While blocked, a failure says only "too many attempts" (no hint which check failed).
    const fail = (reason: TokenFailure): Refusal => {
      const blocked = limiter.isBlocked(req.remoteAddress);
      limiter.recordFailure(req.remoteAddress);
      return blocked ? reject('too_many_failed_attempts') : reject(reason);
    };
    const creds = extractCredentials({
      ...(req.authorization !== undefined ? { authorization: req.authorization } : {}),
      ...(req.protocols !== undefined ? { protocols: req.protocols } : {}),
    });
    if (!creds.ok) return fail(creds.reason);
    const verified = await verifyToken(this.deps.secret, creds.token, this.deps.now?.());
    if (!verified.ok) return fail(verified.reason);

    const { record, user } = await this.lookup(verified.tokenId, verified.userId);
    // A token missing from the store was issued against a store that is gone: treat it as revoked.
    if (!record || record.revokedAt !== undefined || record.userId !== verified.userId) return fail('token_revoked');
    if (!user || !user.enabled) return reject('user_disabled');
    // Checked after the token, so only people with access learn which models this server offers.
    if (req.model !== undefined && !this.deps.allowedModels.includes(req.model)) {
      return reject('model_not_allowed', `Allowed: ${this.deps.allowedModels.join(', ')}.`);
    }
    try {
      if (await this.deps.quotaExceeded?.(user.id, user)) return reject('quota_exhausted');
    } catch (err) {
      // Fail closed: without the stored totals a quota cannot be checked, so no new session for this user.
      if (err instanceof StoreError) return reject('store_unavailable');
      throw err;
    }
    const live = this.deps.liveSessions(user.id) - (req.resumesSessionOf === user.id ? 1 : 0);
    if (live >= user.maxSessions) return reject('too_many_sessions');
    return { ok: true, user, tokenId: verified.tokenId, expiresAt: verified.expiresAt, echoProtocol: creds.echoProtocol };
  }

  /** The token and its user, from the store; from the directory's copy when the store cannot answer. */
  private async lookup(tokenId: string, userId: string): Promise<{ record: TokenRecord | undefined; user: UserRecord | undefined }> {
    const { store, directory } = this.deps;
    try {
      const [record, user] = await Promise.all([store.getToken(tokenId), store.getUser(userId)]);
      return { record, user };
    } catch (err) {
      if (!(err instanceof StoreError) || err.reason !== 'unavailable') throw err;
      return { record: directory.getToken(tokenId), user: directory.getUser(userId) };
    }
  }
}
