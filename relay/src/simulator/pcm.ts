// Audio helpers for the simulator: strict base64 checks (the provider rejects bad audio), pcm16 views,
// and the small pitch shift that makes the echoed reply audibly "the bot".
const BASE64_RE = /^[A-Za-z0-9+/]*={0,2}$/;

/** Decodes base64 pcm16; returns null for anything the provider would reject (bad alphabet, odd byte count). */
export function decodePcm16(base64: string): Int16Array | null {
  if (base64.length % 4 !== 0 || !BASE64_RE.test(base64)) return null;
  const bytes = Buffer.from(base64, 'base64');
  if (bytes.length % 2 !== 0) return null;
  // Copy into an aligned buffer: Buffer's pool offset may be odd.
  const out = new Int16Array(bytes.length / 2);
  new Uint8Array(out.buffer).set(bytes);
  return out;
}

export function encodePcm16(samples: Int16Array): string {
  return Buffer.from(samples.buffer, samples.byteOffset, samples.byteLength).toString('base64');
}

/**
 * Raises pitch (and tempo) by `factor` with linear interpolation. Crude on purpose: the point is that the
 * reply is recognisably the user's words in a different voice, not studio quality.
 */
export function pitchShift(samples: Int16Array, factor: number): Int16Array {
  if (factor === 1 || samples.length === 0) return samples;
  const outLength = Math.floor(samples.length / factor);
  const out = new Int16Array(outLength);
  for (let i = 0; i < outLength; i++) {
    const pos = i * factor;
    const i0 = Math.floor(pos);
    const frac = pos - i0;
    const a = samples[i0] ?? 0;
    const b = samples[i0 + 1] ?? a;
    out[i] = Math.round(a + (b - a) * frac);
  }
  return out;
}

/** A short soft two-tone chime (24 kHz), the audio part of replies to text messages. */
export function chime(ms: number): Int16Array {
  const n = Math.round((24_000 * ms) / 1000);
  const out = new Int16Array(n);
  for (let i = 0; i < n; i++) {
    const t = i / 24_000;
    const env = Math.sin((Math.PI * i) / n);
    const f = i < n / 2 ? 660 : 880;
    out[i] = Math.round(6000 * env * Math.sin(2 * Math.PI * f * t));
  }
  return out;
}
