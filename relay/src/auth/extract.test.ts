import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { extractCredentials } from './extract.ts';

describe('extractCredentials', () => {
  it('reads a bearer token and echoes an offered protocol, never the token', () => {
    expect(extractCredentials({ authorization: 'Bearer abc.def.ghi' })).toEqual({ ok: true, token: 'abc.def.ghi', echoProtocol: undefined });
    expect(extractCredentials({ authorization: 'bearer  abc', protocols: 'realtime' })).toEqual({ ok: true, token: 'abc', echoProtocol: 'realtime' });
  });

  it('reads the browser subprotocol pair and echoes earshot.v1', () => {
    expect(extractCredentials({ protocols: 'earshot.v1, earshot-token.t0k' })).toEqual({ ok: true, token: 't0k', echoProtocol: 'earshot.v1' });
  });

  it("reads OpenAI's browser subprotocols and echoes realtime", () => {
    expect(extractCredentials({ protocols: 'realtime, openai-insecure-api-key.k3y, openai-beta.realtime-v1' })).toEqual({ ok: true, token: 'k3y', echoProtocol: 'realtime' });
  });

  it('says missing or malformed', () => {
    expect(extractCredentials({})).toEqual({ ok: false, reason: 'token_missing' });
    expect(extractCredentials({ protocols: 'earshot.v1' })).toEqual({ ok: false, reason: 'token_missing' });
    expect(extractCredentials({ authorization: 'Basic Zm9v' })).toEqual({ ok: false, reason: 'token_malformed' });
    expect(extractCredentials({ protocols: 'earshot-token.' })).toEqual({ ok: false, reason: 'token_malformed' });
    expect(extractCredentials({ authorization: `Bearer ${'a'.repeat(9000)}` })).toEqual({ ok: false, reason: 'token_malformed' });
    expect(extractCredentials({ protocols: Array.from({ length: 40 }, (_, i) => `p${i}`).join(',') })).toEqual({ ok: false, reason: 'token_malformed' });
  });

  it('never throws and never echoes anything but earshot.v1 or realtime, on any input', () => {
    fc.assert(
      fc.property(fc.option(fc.string({ maxLength: 300 })), fc.option(fc.string({ maxLength: 300 })), (authorization, protocols) => {
        const r = extractCredentials({ ...(authorization !== null ? { authorization } : {}), ...(protocols !== null ? { protocols } : {}) });
        if (r.ok) expect([undefined, 'earshot.v1', 'realtime']).toContain(r.echoProtocol);
      }),
      { numRuns: 2000 },
    );
  });
});
