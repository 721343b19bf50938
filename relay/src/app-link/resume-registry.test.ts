import { describe, expect, it } from 'vitest';
import { ResumeRegistry } from './resume-registry.ts';

describe('ResumeRegistry', () => {
  it('issues random base64url tokens that resume once, for their own user only', () => {
    const reg = new ResumeRegistry<{ userId: string }>();
    const link = { userId: 'alice' };
    const token = reg.issue(link);
    expect(token).toMatch(/^[A-Za-z0-9_-]{32}$/);
    expect(reg.issue(link)).not.toBe(token);
    expect(reg.take(token, 'mallory')).toEqual({ ok: false, reason: 'unknown' });
    expect(reg.take(token, 'alice')).toEqual({ ok: true, link });
    expect(reg.take(token, 'alice')).toEqual({ ok: false, reason: 'unknown' });
  });

  it('refuses a token that differs in its last character (the whole token is compared)', () => {
    const reg = new ResumeRegistry<{ userId: string }>();
    const token = reg.issue({ userId: 'alice' });
    const forged = token.slice(0, -1) + (token.endsWith('A') ? 'B' : 'A');
    expect(reg.take(forged, 'alice')).toEqual({ ok: false, reason: 'unknown' });
    expect(reg.take(`${token}.`, 'alice')).toEqual({ ok: false, reason: 'unknown' });
    expect(reg.take(token, 'alice').ok).toBe(true);
  });

  it('says why a retired token cannot resume, for ten minutes', () => {
    let now = 0;
    const reg = new ResumeRegistry<{ userId: string }>(() => now);
    const expired = reg.issue({ userId: 'alice' });
    const overflowed = reg.issue({ userId: 'alice' });
    reg.retire(expired, 'expired');
    reg.retire(overflowed, 'buffer_overflow');
    expect(reg.take(expired, 'alice')).toEqual({ ok: false, reason: 'expired' });
    expect(reg.take(overflowed, 'alice')).toEqual({ ok: false, reason: 'buffer_overflow' });
    now += 11 * 60_000;
    expect(reg.take(expired, 'alice')).toEqual({ ok: false, reason: 'unknown' });
  });
});
