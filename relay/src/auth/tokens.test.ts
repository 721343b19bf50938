import { describe, expect, it } from 'vitest';
import { SignJWT } from 'jose';
import { issueToken, verifyToken } from './tokens.ts';

const secret = new Uint8Array(32).fill(1);

describe('tokens', () => {
  it('round-trips user id, token id and expiry', async () => {
    const t = await issueToken(secret, { userId: 'alice', days: 2, now: 1_800_000_000_000 });
    expect(t.expiresAt).toBe(1_800_000_000 + 2 * 86_400);
    const v = await verifyToken(secret, t.token, 1_800_000_000_000);
    expect(v).toEqual({ ok: true, userId: 'alice', tokenId: t.tokenId, expiresAt: t.expiresAt });
  });

  it('rejects expiry, another secret, alg none, another algorithm and garbage', async () => {
    const t = await issueToken(secret, { userId: 'alice', days: 1, now: 1_800_000_000_000 });
    expect(await verifyToken(secret, t.token, 1_800_000_000_000 + 2 * 86_400_000)).toEqual({ ok: false, reason: 'token_expired' });
    expect(await verifyToken(new Uint8Array(32).fill(2), t.token)).toEqual({ ok: false, reason: 'token_bad_signature' });
    const [, payload] = t.token.split('.');
    const none = `${Buffer.from('{"alg":"none"}').toString('base64url')}.${payload}.`;
    expect((await verifyToken(secret, none)).ok).toBe(false);
    const hs512 = await new SignJWT({}).setProtectedHeader({ alg: 'HS512' }).setIssuer('earshot').setSubject('a').setJti('j').setExpirationTime('1h').sign(new Uint8Array(64).fill(1));
    expect(await verifyToken(secret, hs512)).toEqual({ ok: false, reason: 'token_bad_signature' });
    const noJti = await new SignJWT({}).setProtectedHeader({ alg: 'HS256' }).setIssuer('earshot').setSubject('a').setExpirationTime('1h').sign(secret);
    expect(await verifyToken(secret, noJti)).toEqual({ ok: false, reason: 'token_malformed' });
    for (const junk of ['', 'a.b', 'a.b.c.d', '....', 'é.é.é']) expect(await verifyToken(secret, junk)).toEqual({ ok: false, reason: 'token_malformed' });
  });
});
