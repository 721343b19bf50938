// Float32 [-1, 1] <-> PCM16 little-endian, the Realtime API's `pcm16` format.
// Scale is 32768 both ways so every int16 round-trips exactly; +1.0 clips to 32767. Rounding is to nearest,
// ties away from zero (symmetric, so a signal and its negation encode to negated codes). NaN encodes as 0.
const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

export function floatToPcm16Sample(x: number): number {
  if (!(x === x)) return 0; // NaN
  const v = x * 32768;
  const r = v < 0 ? 0 - Math.round(-v) || 0 : Math.round(v);
  return r > 32767 ? 32767 : r < -32768 ? -32768 : r;
}

/** Encodes `samples` as pcm16 LE bytes (length 2 * samples.length). */
export function floatToPcm16(samples: Float32Array): Uint8Array {
  const n = samples.length;
  const bytes = new Uint8Array(n * 2);
  if (LITTLE_ENDIAN) {
    const view = new Int16Array(bytes.buffer);
    for (let i = 0; i < n; i++) view[i] = floatToPcm16Sample(samples[i]!);
  } else {
    const view = new DataView(bytes.buffer);
    for (let i = 0; i < n; i++) view.setInt16(i * 2, floatToPcm16Sample(samples[i]!), true);
  }
  return bytes;
}

/** Decodes pcm16 LE bytes to Float32 (an odd trailing byte is ignored: it cannot be a sample). */
export function pcm16ToFloat(bytes: Uint8Array): Float32Array {
  const n = bytes.length >> 1;
  const out = new Float32Array(n);
  if (LITTLE_ENDIAN && bytes.byteOffset % 2 === 0) {
    const view = new Int16Array(bytes.buffer, bytes.byteOffset, n);
    for (let i = 0; i < n; i++) out[i] = view[i]! / 32768;
  } else {
    const view = new DataView(bytes.buffer, bytes.byteOffset, n * 2);
    for (let i = 0; i < n; i++) out[i] = view.getInt16(i * 2, true) / 32768;
  }
  return out;
}
