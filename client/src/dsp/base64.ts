// Base64 (RFC 4648, standard alphabet, padded) for the session worker's hot path: every 20 ms frame is encoded,
// every output delta decoded. `encodeBase64`/`decodeBase64` use the engine's native Uint8Array.prototype.toBase64 /
// Uint8Array.fromBase64 where they exist (Chromium 140+: native code, several times faster than any JS loop) and
// fall back to the table codec below (Node 20, older browsers).
// The table codec avoids String.fromCharCode/btoa loops: the encoder writes ASCII bytes into a Uint8Array and
// decodes them once with TextDecoder; the decoder maps char codes through a 256-entry table.
const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
const ENCODE = new Uint8Array(64);
const DECODE = new Int16Array(256).fill(-1);
for (let i = 0; i < 64; i++) {
  const code = ALPHABET.charCodeAt(i);
  ENCODE[i] = code;
  DECODE[code] = i;
}
const PAD = 61; // '='
const ascii = new TextDecoder('latin1');

export function encodeBase64Table(bytes: Uint8Array): string {
  const n = bytes.length;
  const out = new Uint8Array(Math.ceil(n / 3) * 4);
  let o = 0;
  let i = 0;
  for (; i + 2 < n; i += 3) {
    const v = (bytes[i]! << 16) | (bytes[i + 1]! << 8) | bytes[i + 2]!;
    out[o++] = ENCODE[v >>> 18]!;
    out[o++] = ENCODE[(v >>> 12) & 63]!;
    out[o++] = ENCODE[(v >>> 6) & 63]!;
    out[o++] = ENCODE[v & 63]!;
  }
  const rest = n - i;
  if (rest === 1) {
    const v = bytes[i]! << 16;
    out[o++] = ENCODE[v >>> 18]!;
    out[o++] = ENCODE[(v >>> 12) & 63]!;
    out[o++] = PAD;
    out[o++] = PAD;
  } else if (rest === 2) {
    const v = (bytes[i]! << 16) | (bytes[i + 1]! << 8);
    out[o++] = ENCODE[v >>> 18]!;
    out[o++] = ENCODE[(v >>> 12) & 63]!;
    out[o++] = ENCODE[(v >>> 6) & 63]!;
    out[o++] = PAD;
  }
  return ascii.decode(out);
}

export class Base64Error extends Error {
  override name = 'Base64Error';
}

/**
 * Decodes standard base64; padding is optional (the provider always pads, but being lenient costs nothing).
 * Throws Base64Error on characters outside the alphabet or an impossible length, because a corrupt audio
 * delta must be dropped rather than played as noise.
 */
export function decodeBase64Table(text: string): Uint8Array {
  let end = text.length;
  while (end > 0 && text.charCodeAt(end - 1) === PAD) end--;
  if (text.length - end > 2) throw new Base64Error('too much padding');
  const tail = end % 4;
  if (tail === 1) throw new Base64Error(`impossible base64 length ${end}`);
  const out = new Uint8Array(((end - tail) / 4) * 3 + (tail === 0 ? 0 : tail - 1));
  let o = 0;
  let i = 0;
  const full = end - tail;
  for (; i < full; i += 4) {
    const a = DECODE[text.charCodeAt(i) & 255]!;
    const b = DECODE[text.charCodeAt(i + 1) & 255]!;
    const c = DECODE[text.charCodeAt(i + 2) & 255]!;
    const d = DECODE[text.charCodeAt(i + 3) & 255]!;
    if ((a | b | c | d) < 0 || text.charCodeAt(i) > 255 || text.charCodeAt(i + 1) > 255 || text.charCodeAt(i + 2) > 255 || text.charCodeAt(i + 3) > 255) {
      throw new Base64Error(`invalid base64 character near offset ${i}`);
    }
    const v = (a << 18) | (b << 12) | (c << 6) | d;
    out[o++] = v >>> 16;
    out[o++] = (v >>> 8) & 255;
    out[o++] = v & 255;
  }
  if (tail > 0) {
    let v = 0;
    for (let k = 0; k < tail; k++) {
      const code = text.charCodeAt(i + k);
      const x = code > 255 ? -1 : DECODE[code]!;
      if (x < 0) throw new Base64Error(`invalid base64 character near offset ${i + k}`);
      v |= x << (18 - 6 * k);
    }
    out[o++] = v >>> 16;
    if (tail === 3) out[o++] = (v >>> 8) & 255;
  }
  return out;
}

/** The ES2026 base64 methods, not yet in TypeScript's lib. */
interface NativeBase64Bytes {
  toBase64(): string;
}
interface NativeBase64Constructor {
  fromBase64(text: string): Uint8Array;
}

export interface Base64Codec {
  kind: 'native' | 'table';
  encode(bytes: Uint8Array): string;
  /** Throws Base64Error on malformed input, whichever implementation runs. */
  decode(text: string): Uint8Array;
}

const TABLE: Base64Codec = { kind: 'table', encode: encodeBase64Table, decode: decodeBase64Table };

/**
 * Picks the native codec when `ctor` (the global Uint8Array unless a test passes a stand-in) has both methods.
 * The native decoder is lenient about missing padding just like the table one; unlike it, it also skips ASCII
 * whitespace, which the provider never sends.
 */
export function selectBase64(ctor: unknown = Uint8Array): Base64Codec {
  const native = ctor as Partial<NativeBase64Constructor> & { prototype?: Partial<NativeBase64Bytes> };
  if (typeof native.fromBase64 !== 'function' || typeof native.prototype?.toBase64 !== 'function') return TABLE;
  const fromBase64 = native.fromBase64.bind(ctor);
  return {
    kind: 'native',
    encode: (bytes) => (bytes as Uint8Array & NativeBase64Bytes).toBase64(),
    decode: (text) => {
      try {
        return fromBase64(text);
      } catch (err) {
        // Callers drop a corrupt delta on Base64Error; the native SyntaxError must not look like a different bug.
        throw new Base64Error(err instanceof Error ? err.message : String(err));
      }
    },
  };
}

const selected = selectBase64();
/** Which implementation `encodeBase64`/`decodeBase64` use in this runtime. */
export const base64Kind: Base64Codec['kind'] = selected.kind;
export const encodeBase64: (bytes: Uint8Array) => string = selected.encode;
export const decodeBase64: (text: string) => Uint8Array = selected.decode;
