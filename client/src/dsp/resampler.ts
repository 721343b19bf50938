// Streaming rational-ratio resampler: a polyphase FIR whose prototype is a Kaiser-windowed sinc.
// Used by the codec worker for capture (context rate -> 24 kHz) and playback (24 kHz -> context rate).
// For in -> out we upsample by L and decimate by M (L/M = out/in reduced), but only ever compute the
// phase that an output sample needs, so the cost is K taps per output sample (K ~ 100-200).
//
// Design: passband edge 0.4375 * min(in, out) (10.5 kHz for a 24 kHz side), stopband edge at the lower
// Nyquist (12 kHz), 100 dB Kaiser stopband. A tone above 12 kHz therefore folds back attenuated by >= 100 dB
// in theory; the unit test measures it and prints the number.

export interface ResamplerOptions {
  /** Stopband attenuation in dB (default 100). */
  attenuationDb?: number;
  /** Passband edge as a fraction of the lower rate (default 0.4375; Nyquist is 0.5). */
  passband?: number;
}

function gcd(a: number, b: number): number {
  while (b !== 0) [a, b] = [b, a % b];
  return a;
}

/** Zeroth-order modified Bessel function of the first kind (series; converges fast for beta < 20). */
function besselI0(x: number): number {
  let sum = 1;
  let term = 1;
  const q = (x * x) / 4;
  for (let k = 1; k < 64; k++) {
    term *= q / (k * k);
    sum += term;
    if (term < sum * 1e-17) break;
  }
  return sum;
}

export class Resampler {
  readonly inRate: number;
  readonly outRate: number;
  /** Upsampling factor L and decimation factor M. */
  readonly up: number;
  readonly down: number;
  /** Taps per phase. */
  readonly taps: number;
  /** Group delay in output samples (the filter is linear phase). */
  readonly delayOut: number;
  /** phases[p][k] multiplies x[t - k]. */
  private readonly phases: Float32Array[];
  /** Last `taps - 1` input samples followed by the current chunk. */
  private history: Float32Array;
  private phase = 0;

  constructor(inRate: number, outRate: number, options: ResamplerOptions = {}) {
    if (!Number.isInteger(inRate) || !Number.isInteger(outRate) || inRate <= 0 || outRate <= 0) {
      throw new RangeError(`resampler rates must be positive integers, got ${inRate} -> ${outRate}`);
    }
    this.inRate = inRate;
    this.outRate = outRate;
    const g = gcd(inRate, outRate);
    const L = outRate / g;
    const M = inRate / g;
    this.up = L;
    this.down = M;
    const atten = options.attenuationDb ?? 100;
    const passband = options.passband ?? 0.4375;
    const low = Math.min(inRate, outRate);
    const fPass = passband * low;
    const fStop = 0.5 * low;
    const protoRate = inRate * L;
    const cutoff = (fPass + fStop) / 2 / protoRate; // cycles per prototype sample
    const width = (2 * Math.PI * (fStop - fPass)) / protoRate;
    const beta = atten > 50 ? 0.1102 * (atten - 8.7) : 0.5842 * (atten - 21) ** 0.4 + 0.07886 * (atten - 21);
    let length = Math.ceil((atten - 7.95) / (2.285 * width)) + 1;
    const K = Math.max(2, Math.ceil(length / L));
    length = K * L;
    this.taps = K;
    const center = (length - 1) / 2;
    const i0beta = besselI0(beta);
    const proto = new Float64Array(length);
    for (let n = 0; n < length; n++) {
      const x = n - center;
      const sinc = x === 0 ? 2 * cutoff : Math.sin(2 * Math.PI * cutoff * x) / (Math.PI * x);
      const r = x / center;
      const w = besselI0(beta * Math.sqrt(Math.max(0, 1 - r * r))) / i0beta;
      proto[n] = sinc * w * L; // gain L restores amplitude after zero-stuffing
    }
    this.phases = [];
    for (let p = 0; p < L; p++) {
      const h = new Float32Array(K);
      for (let k = 0; k < K; k++) h[k] = proto[p + k * L]!;
      this.phases.push(h);
    }
    this.delayOut = center / M;
    this.history = new Float32Array(K - 1);
  }

  /** How many output samples `process` will return for an input of `inputLength` samples right now. */
  outputLength(inputLength: number): number {
    // Output n uses input index t = floor((phase0 + n*M) / L); it is ready when t < inputLength.
    if (inputLength <= 0) return 0;
    return Math.max(0, Math.ceil((inputLength * this.up - this.phase) / this.down));
  }

  /** Resamples the next chunk of a continuous stream. Chunks may have any length. */
  process(input: Float32Array): Float32Array {
    const K = this.taps;
    const L = this.up;
    const M = this.down;
    const buf = new Float32Array(K - 1 + input.length);
    buf.set(this.history);
    buf.set(input, K - 1);
    const out = new Float32Array(this.outputLength(input.length));
    let acc = this.phase; // position in prototype-rate units relative to input[0]
    for (let n = 0; n < out.length; n++) {
      const t = Math.floor(acc / L);
      const h = this.phases[acc - t * L]!;
      const base = K - 1 + t; // index of x[t] in buf
      let sum = 0;
      for (let k = 0; k < K; k++) sum += h[k]! * buf[base - k]!;
      out[n] = sum;
      acc += M;
    }
    this.phase = acc - input.length * L;
    this.history = buf.slice(buf.length - (K - 1));
    return out;
  }

  /** Zeros that push the filter's tail out, e.g. at the end of an assistant item. */
  flushTail(): Float32Array {
    return this.process(new Float32Array(this.taps));
  }

  /** Forget the stream (after a barge-in flush) so stale samples do not leak into the next item. */
  reset(): void {
    this.history.fill(0);
    this.phase = 0;
  }
}
