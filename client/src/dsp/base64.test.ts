import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { Base64Error, decodeBase64, encodeBase64 } from './base64.ts';

describe('base64', () => {
  it('encodes random bytes exactly as Node Buffer does', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 3000 }), (bytes) => {
        expect(encodeBase64(bytes)).toBe(Buffer.from(bytes).toString('base64'));
      }),
      { numRuns: 300 },
    );
  });

  it('decodes Node Buffer base64 back to identical bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 3000 }), (bytes) => {
        const decoded = decodeBase64(Buffer.from(bytes).toString('base64'));
        expect(Buffer.from(decoded).equals(Buffer.from(bytes))).toBe(true);
      }),
      { numRuns: 300 },
    );
  });

  it('decodes unpadded input like Node Buffer', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => {
        const unpadded = Buffer.from(bytes).toString('base64').replace(/=+$/, '');
        expect(Buffer.from(decodeBase64(unpadded)).equals(Buffer.from(unpadded, 'base64'))).toBe(true);
      }),
    );
  });

  it('encodes the RFC 4648 test vectors', () => {
    const vectors: Array<[string, string]> = [['', ''], ['f', 'Zg=='], ['fo', 'Zm8='], ['foo', 'Zm9v'], ['foob', 'Zm9vYg=='], ['fooba', 'Zm9vYmE='], ['foobar', 'Zm9vYmFy']];
    for (const [plain, encoded] of vectors) {
      expect(encodeBase64(new TextEncoder().encode(plain))).toBe(encoded);
      expect(new TextDecoder().decode(decodeBase64(encoded))).toBe(plain);
    }
  });

  it('rejects characters outside the alphabet instead of decoding noise', () => {
    expect(() => decodeBase64('Zm9v!mFy')).toThrow(Base64Error);
    expect(() => decodeBase64('Zm9vYmF\u0100')).toThrow(Base64Error);
    expect(() => decodeBase64('Zg=!')).toThrow(Base64Error);
  });

  it('rejects an impossible length', () => {
    expect(() => decodeBase64('Zm9vY')).toThrow(Base64Error);
    expect(() => decodeBase64('Z===')).toThrow(Base64Error);
  });
});
