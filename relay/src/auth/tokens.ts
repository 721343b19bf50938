// Per-user access tokens: compact JWS (HS256) carrying user id (sub), token id (jti) and expiry (exp).
import { randomUUID } from 'node:crypto';
import { SignJWT, jwtVerify, errors } from 'jose';

export const ISSUER = 'earshot';

export interface IssuedToken {
  token: string;
  tokenId: string;
  expiresAt: number; // epoch seconds
}

export type VerifiedToken =
  | { ok: true; userId: string; tokenId: string; expiresAt: number }
  | { ok: false; reason: 'token_malformed' | 'token_bad_signature' | 'token_expired' };

export async function issueToken(secret: Uint8Array, options: { userId: string; days: number; now?: number }): Promise<IssuedToken> {
  const now = Math.floor((options.now ?? Date.now()) / 1000);
  const tokenId = randomUUID();
  const expiresAt = now + Math.round(options.days * 86_400);
  const token = await new SignJWT({})
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setIssuer(ISSUER)
    .setSubject(options.userId)
    .setJti(tokenId)
    .setIssuedAt(now)
    .setExpirationTime(expiresAt)
    .sign(secret);
  return { token, tokenId, expiresAt };
}

/** Tokens are three base64url segments; anything else is rejected before any crypto runs. */
const SHAPE = /^[A-Za-z0-9_-]{1,2048}\.[A-Za-z0-9_-]{1,4096}\.[A-Za-z0-9_-]{0,1024}$/;

export async function verifyToken(secret: Uint8Array, token: string, now?: number): Promise<VerifiedToken> {
  if (!SHAPE.test(token)) return { ok: false, reason: 'token_malformed' };
  try {
    const { payload } = await jwtVerify(token, secret, {
      algorithms: ['HS256'],
      issuer: ISSUER,
      ...(now !== undefined ? { currentDate: new Date(now) } : {}),
    });
    if (typeof payload.sub !== 'string' || typeof payload.jti !== 'string' || typeof payload.exp !== 'number') {
      return { ok: false, reason: 'token_malformed' };
    }
    return { ok: true, userId: payload.sub, tokenId: payload.jti, expiresAt: payload.exp };
  } catch (err) {
    if (err instanceof errors.JWTExpired) return { ok: false, reason: 'token_expired' };
    if (err instanceof errors.JWSSignatureVerificationFailed) return { ok: false, reason: 'token_bad_signature' };
    // `alg: none`, another algorithm, a wrong issuer or garbage all land here.
    if (err instanceof errors.JOSEAlgNotAllowed || err instanceof errors.JWTClaimValidationFailed) return { ok: false, reason: 'token_bad_signature' };
    return { ok: false, reason: 'token_malformed' };
  }
}
