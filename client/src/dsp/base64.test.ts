import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { Base64Error, base64Kind, decodeBase64, decodeBase64Table, encodeBase64, encodeBase64Table, selectBase64 } from './base64.ts';

// The table codec is tested directly so it stays covered in runtimes that pick the native one.
describe('base64 table codec', () => {
  it('encodes random bytes exactly as Node Buffer does', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 3000 }), (bytes) => {
        expect(encodeBase64Table(bytes)).toBe(Buffer.from(bytes).toString('base64'));
      }),
      { numRuns: 300 },
    );
  });

  it('decodes Node Buffer base64 back to identical bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 3000 }), (bytes) => {
        const decoded = decodeBase64Table(Buffer.from(bytes).toString('base64'));
        expect(Buffer.from(decoded).equals(Buffer.from(bytes))).toBe(true);
      }),
      { numRuns: 300 },
    );
  });

  it('decodes unpadded input like Node Buffer', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => {
        const unpadded = Buffer.from(bytes).toString('base64').replace(/=+$/, '');
        expect(Buffer.from(decodeBase64Table(unpadded)).equals(Buffer.from(unpadded, 'base64'))).toBe(true);
      }),
    );
  });

  it('encodes the RFC 4648 test vectors', () => {
    const vectors: Array<[string, string]> = [['', ''], ['f', 'Zg=='], ['fo', 'Zm8='], ['foo', 'Zm9v'], ['foob', 'Zm9vYg=='], ['fooba', 'Zm9vYmE='], ['foobar', 'Zm9vYmFy']];
    for (const [plain, encoded] of vectors) {
      expect(encodeBase64Table(new TextEncoder().encode(plain))).toBe(encoded);
      expect(new TextDecoder().decode(decodeBase64Table(encoded))).toBe(plain);
    }
  });

  it('rejects characters outside the alphabet instead of decoding noise', () => {
    expect(() => decodeBase64Table('Zm9v!mFy')).toThrow(Base64Error);
    expect(() => decodeBase64Table('Zm9vYmF\u0100')).toThrow(Base64Error);
    expect(() => decodeBase64Table('Zg=!')).toThrow(Base64Error);
  });

  it('rejects an impossible length', () => {
    expect(() => decodeBase64Table('Zm9vY')).toThrow(Base64Error);
    expect(() => decodeBase64Table('Z===')).toThrow(Base64Error);
  });
});

describe('base64 dispatch', () => {
  it('falls back to the table codec when the native methods are missing', () => {
    expect(selectBase64({}).kind).toBe('table');
    expect(selectBase64({ fromBase64: () => new Uint8Array(0) }).kind).toBe('table'); // decoder alone is not enough
    expect(selectBase64({ prototype: { toBase64: () => '' } }).kind).toBe('table');
    const table = selectBase64({});
    expect(table.encode).toBe(encodeBase64Table);
    expect(table.decode).toBe(decodeBase64Table);
  });

  it('uses this runtime\'s native methods only when it has both', () => {
    const native = typeof (Uint8Array as unknown as { fromBase64?: unknown }).fromBase64 === 'function'
      && typeof (Uint8Array.prototype as unknown as { toBase64?: unknown }).toBase64 === 'function';
    expect(base64Kind).toBe(native ? 'native' : 'table');
    const bytes = Uint8Array.from([0, 1, 2, 250, 251, 252, 253]);
    expect(encodeBase64(bytes)).toBe(Buffer.from(bytes).toString('base64'));
    expect([...decodeBase64(Buffer.from(bytes).toString('base64'))]).toEqual([...bytes]);
  });

  it('routes to native methods when present and reports their errors as Base64Error', () => {
    // A stand-in with the native shape, implemented with Buffer.
    class FakeNative extends Uint8Array {
      static fromBase64(text: string): Uint8Array {
        if (!/^[A-Za-z0-9+/]*={0,2}$/.test(text)) throw new SyntaxError('bad base64');
        return new Uint8Array(Buffer.from(text, 'base64'));
      }
      toBase64(): string {
        return Buffer.from(this).toString('base64');
      }
    }
    const codec = selectBase64(FakeNative);
    expect(codec.kind).toBe('native');
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
        const text = codec.encode(FakeNative.from(bytes));
        expect(text).toBe(encodeBase64Table(bytes));
        expect([...codec.decode(text)]).toEqual([...bytes]);
      }),
    );
    expect(() => codec.decode('Zm9v!mFy')).toThrow(Base64Error);
  });
});
