// Table-based base64 (RFC 4648, standard alphabet, padded) for the codec worker's hot path: every 20 ms frame
// is encoded, every output delta decoded. No String.fromCharCode/btoa loops: the encoder writes ASCII bytes into
// a Uint8Array and decodes them once with TextDecoder; the decoder maps char codes through a 256-entry table.
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

export function encodeBase64(bytes: Uint8Array): string {
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
export function decodeBase64(text: string): Uint8Array {
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
