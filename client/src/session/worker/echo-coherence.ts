// Whether what the microphone delivers now is explained by the exact samples the app played a moment ago: the
// assistant's echo that the browser's canceller lets through is (roughly) the played signal through a linear
// filter — the room and the canceller's mis-estimate of it — ~0.1–0.3 s later; a person's voice is not. Unlike the
// level envelopes of echo-likeness.ts this also tells echo over *steady* playback from a word: a canceller
// re-diverging mid-reply raises the capture exactly as a word does, but only the echo is coherent with what was
// played.
//
// The measure: the capture and the played signal, both decimated to ~16 kHz, are cut into 16 ms Hann segments
// (FFT 256). Over the capture's last `windowSegments` segments (50 % overlap, ~0.2 s) and each lag in
// [minLagMs, maxLagMs] (4 ms steps), the per-bin least-squares fit of the capture by the played signal explains
// Σ_b |Sxy_b|² / Sxx_b of the capture's power Σ_b Syy_b in the speech band (300–3400 Hz); the score is the best
// lag's explained fraction (0…1; magnitude-squared coherence weighted by the capture's power per bin). Segments
// whose capture is more than `activeRangeDb` below the window's loudest are left out, so echo returning after the
// canceller's floor is judged on the echo alone, not diluted by the played signal it had removed; fewer than
// `minSegments` active segments (or played power under `minPlayDb`) say nothing (NaN). Uncorrelated speech scores
// ~1/K for K independent segments (the estimator's bias), which is why `minSegments` is not smaller and why the
// segments are short: 16 ms segments give twice the segments of 32 ms ones in the same time (measured on espeak
// speech, echo-coherence.test.ts: the person's word starts scored up to 0.83 with 32 ms segments, 0.63–0.69 with 16).
//
// Alignment (the reference's timeline): the worker keeps a copy of every sample it hands the playback worklet
// (PlaybackFeeder's tap) and moves it onto a "played" ring when the worklet's progress report says it left the
// ring (`taken`); the report's `frame` (its context frame) says how much output time passed, so underruns and gaps
// between items go in as zeros and the ring is the output as heard, sample for sample. Capture and played signal
// are related by their write heads when a capture frame is judged (both reach the worker ~one 20 ms message late),
// plus the lag searched: message jitter only moves the best lag, and within one judgement both streams are
// contiguous. (Matching the context frames of both worklets would remove the jitter, but the capture worklet's
// frame index is counted from its stream's start, not the context's.)
//
// Cost per 20 ms frame: ~7.5 FFTs of 256 plus the lag search (≤ 91 lags × ≤ 23 segments × 50 bins); measured in
// echo-coherence.test.ts (README issue 15, "coherence").
// Pure except its rings; the session worker owns one (session-runner.ts) and asks it per capture frame.

export interface EchoCoherenceConfig {
  /** Lags between the played signal and its echo in the capture that count as plausible (message delays included). */
  minLagMs: number;
  maxLagMs: number;
  /** Capture segments (16 ms, hop 8 ms) judged: ~0.19 s at 23. */
  windowSegments: number;
  /** Fewest segments with capture power within `activeRangeDb` of the window's loudest to say anything. */
  minSegments: number;
  activeRangeDb: number;
  /** Played power (dBFS, over the matched segments) below which there is nothing to explain the capture by. */
  minPlayDb: number;
  /** Explained fraction at or above which the capture counts as the echo. */
  threshold: number;
}

export const DEFAULT_ECHO_COHERENCE: EchoCoherenceConfig = {
  minLagMs: 40,
  maxLagMs: 400,
  windowSegments: 23,
  minSegments: 8,
  activeRangeDb: 25,
  minPlayDb: -60,
  threshold: 0.6,
};

const ANALYSIS_RATE = 16_000;
const SEG = 256;
const LOG2_SEG = 8;
/** Played spectra every 4 ms (the lag step); capture spectra every 8 ms (50 % overlap). */
const REF_HOP = 64;
const CAP_HOP = 128;
const BAND_HZ: [number, number] = [300, 3400];

export const isEchoCoherent = (score: number, config: EchoCoherenceConfig = DEFAULT_ECHO_COHERENCE): boolean => score >= config.threshold;

/** In-place radix-2 FFT of SEG points (re, im), with precomputed twiddles and bit reversal. */
class Fft {
  private readonly cos = new Float64Array(SEG / 2);
  private readonly sin = new Float64Array(SEG / 2);
  private readonly rev = new Uint16Array(SEG);
  constructor() {
    for (let k = 0; k < SEG / 2; k++) {
      this.cos[k] = Math.cos((2 * Math.PI * k) / SEG);
      this.sin[k] = -Math.sin((2 * Math.PI * k) / SEG);
    }
    for (let i = 0; i < SEG; i++) {
      let r = 0;
      for (let b = 0; b < LOG2_SEG; b++) if (i & (1 << b)) r |= 1 << (LOG2_SEG - 1 - b);
      this.rev[i] = r;
    }
  }
  run(re: Float64Array, im: Float64Array): void {
    for (let i = 0; i < SEG; i++) {
      const j = this.rev[i]!;
      if (j > i) {
        const tr = re[i]!; re[i] = re[j]!; re[j] = tr;
        const ti = im[i]!; im[i] = im[j]!; im[j] = ti;
      }
    }
    for (let size = 2; size <= SEG; size <<= 1) {
      const half = size >> 1;
      const step = SEG / size;
      for (let start = 0; start < SEG; start += size) {
        for (let k = 0; k < half; k++) {
          const c = this.cos[k * step]!, s = this.sin[k * step]!;
          const a = start + k, b = a + half;
          const xr = re[b]! * c - im[b]! * s;
          const xi = re[b]! * s + im[b]! * c;
          re[b] = re[a]! - xr; im[b] = im[a]! - xi;
          re[a] = re[a]! + xr; im[a] = im[a]! + xi;
        }
      }
    }
  }
}

/** The speech-band bins of one windowed segment, and its power there. */
interface Spectrum {
  /** Position of the segment's first sample in its stream (analysis rate). */
  at: number;
  re: Float64Array;
  im: Float64Array;
  power: number;
}

/** A stream at the analysis rate: its samples (a ring) and the spectra of segments every `hop` samples. */
class SpectralStream {
  private readonly ring: Float32Array;
  /** Samples written since the start (the stream position of the next one). */
  head = 0;
  private nextSegmentAt = 0;
  readonly spectra: Spectrum[] = [];

  constructor(
    private readonly hop: number,
    private readonly keep: number,
    private readonly analyser: Analyser,
  ) {
    this.ring = new Float32Array(2 ** Math.ceil(Math.log2(SEG + hop * 2)));
  }

  push(value: number): void {
    this.ring[this.head & (this.ring.length - 1)] = value;
    this.head++;
    if (this.head === this.nextSegmentAt + SEG) {
      this.spectra.push(this.analyser.spectrum(this.ring, this.nextSegmentAt));
      if (this.spectra.length > this.keep) this.spectra.shift();
      this.nextSegmentAt += this.hop;
    }
  }

  /** The spectrum of the segment starting at stream position `at`, if kept. */
  find(at: number): Spectrum | undefined {
    const first = this.spectra[0];
    if (!first) return undefined;
    const k = (at - first.at) / this.hop;
    return Number.isInteger(k) ? this.spectra[k] : undefined;
  }
}

class Analyser {
  private readonly fft = new Fft();
  private readonly window = new Float64Array(SEG);
  private readonly re = new Float64Array(SEG);
  private readonly im = new Float64Array(SEG);
  readonly lo: number;
  readonly hi: number;

  constructor(rate: number) {
    for (let i = 0; i < SEG; i++) this.window[i] = 0.5 - 0.5 * Math.cos((2 * Math.PI * i) / SEG);
    this.lo = Math.ceil((BAND_HZ[0] * SEG) / rate);
    this.hi = Math.floor((BAND_HZ[1] * SEG) / rate);
  }

  spectrum(ring: Float32Array, at: number): Spectrum {
    const mask = ring.length - 1;
    for (let i = 0; i < SEG; i++) {
      this.re[i] = ring[(at + i) & mask]! * this.window[i]!;
      this.im[i] = 0;
    }
    this.fft.run(this.re, this.im);
    const n = this.hi - this.lo + 1;
    const re = new Float64Array(n), im = new Float64Array(n);
    let power = 0;
    for (let b = 0; b < n; b++) {
      re[b] = this.re[this.lo + b]!;
      im[b] = this.im[this.lo + b]!;
      power += re[b]! * re[b]! + im[b]! * im[b]!;
    }
    return { at, re, im, power };
  }
}

/** Boxcar decimation by an integer factor (the context rate to ~16 kHz); both streams get the same filter. */
class Decimator {
  private sum = 0;
  private count = 0;
  constructor(readonly factor: number) {}
  /** Calls `out` once per `factor` samples. */
  push(samples: ArrayLike<number>, out: (v: number) => void): void {
    for (let i = 0; i < samples.length; i++) {
      this.sum += samples[i]!;
      if (++this.count === this.factor) {
        out(this.sum / this.factor);
        this.sum = 0;
        this.count = 0;
      }
    }
  }
}

/**
 * The worker's record of what was played and what was captured, and the coherence of the two. Feed it the samples
 * handed to the playback worklet (`queued`), the worklet's reports (`played`, `discarded`) and each capture frame
 * (`capture`, which returns the frame's score).
 */
export class EchoCoherence {
  private readonly config: EchoCoherenceConfig;
  private readonly factor: number;
  private readonly rate: number;
  private readonly analyser: Analyser;
  private readonly played: SpectralStream;
  private readonly captured: SpectralStream;
  /** Queued but not yet played (analysis rate), oldest first from `pendingHead`. */
  private pending: number[] = [];
  private pendingHead = 0;
  /** The context samples handed to the worklet so far and decimated into `pending`. */
  private queuedDecimator: Decimator;
  private readonly captureDecimator: Decimator;
  /** From the last progress report: the worklet's `taken` and `frame` (null before the first). */
  private lastTaken = 0;
  private lastFrame: number | null = null;

  constructor(contextRate: number, config: EchoCoherenceConfig = DEFAULT_ECHO_COHERENCE) {
    this.config = config;
    this.factor = Math.max(1, Math.round(contextRate / ANALYSIS_RATE));
    this.rate = contextRate / this.factor;
    this.analyser = new Analyser(this.rate);
    const keepPlayed = Math.ceil(((config.maxLagMs + 50) * this.rate) / 1000 / REF_HOP) + (config.windowSegments * CAP_HOP) / REF_HOP + 4;
    this.played = new SpectralStream(REF_HOP, keepPlayed, this.analyser);
    this.captured = new SpectralStream(CAP_HOP, config.windowSegments, this.analyser);
    this.queuedDecimator = new Decimator(this.factor);
    this.captureDecimator = new Decimator(this.factor);
  }

  /** Samples (context rate) handed to the playback worklet, in order. Copied (decimated) here: the caller may transfer them. */
  queued(samples: Float32Array): void {
    this.queuedDecimator.push(samples, (v) => this.pending.push(v));
  }

  /**
   * A progress report: `taken` samples have left the worklet's ring in all, and the output reached context frame
   * `frame`. What left since the last report was played; the rest of the elapsed output time was silence. `frame`
   * null (`drained`): the rest played, with no time to place silence by.
   */
  playedUpTo(taken: number, frame: number | null): void {
    const newly = Math.max(0, Math.floor(taken / this.factor) - Math.floor(this.lastTaken / this.factor));
    if (this.lastFrame !== null && frame !== null) {
      const elapsed = Math.floor(frame / this.factor) - Math.floor(this.lastFrame / this.factor);
      // Silence first: an underrun or the wait before an item starts comes before what resumes playing.
      for (let i = newly; i < elapsed; i++) this.played.push(0);
    }
    const n = Math.min(newly, this.pending.length - this.pendingHead);
    for (let i = 0; i < n; i++) this.played.push(this.pending[this.pendingHead + i]!);
    this.dropPending(n);
    this.lastTaken = taken;
    if (frame !== null) this.lastFrame = frame;
  }

  /** The worklet dropped its ring (flush): what was taken up to `taken` was not played. */
  discarded(taken: number): void {
    const n = Math.max(0, Math.floor(taken / this.factor) - Math.floor(this.lastTaken / this.factor));
    this.dropPending(n);
    this.lastTaken = taken;
  }

  private dropPending(n: number): void {
    this.pendingHead = Math.min(this.pending.length, this.pendingHead + n);
    // Compact now and then rather than shift per report (the backlog is up to ~1.5 s).
    if (this.pendingHead > 4096) {
      this.pending = this.pending.slice(this.pendingHead);
      this.pendingHead = 0;
    }
  }

  /** One capture frame (context rate), every one, so the capture stays contiguous; then `score` it. */
  capture(samples: Float32Array): void {
    this.captureDecimator.push(samples, (v) => this.captured.push(v));
  }

  /** The best lag's explained fraction (0…1) over the capture's last segments (see the header); NaN: nothing to say. */
  score(): number {
    const cfg = this.config;
    const caps = this.captured.spectra;
    if (caps.length < cfg.minSegments) return Number.NaN;
    let loudest = 0;
    for (const c of caps) if (c.power > loudest) loudest = c.power;
    if (loudest <= 0) return Number.NaN;
    const floor = loudest * 10 ** (-cfg.activeRangeDb / 10);
    const active = caps.filter((c) => c.power >= floor);
    if (active.length < cfg.minSegments) return Number.NaN;
    const newest = caps[caps.length - 1]!;
    // The played position aligned with the newest capture segment at zero lag, snapped down to the 8 ms grid.
    const base = newest.at - (this.captured.head - this.played.head);
    const minLag = Math.round((cfg.minLagMs * this.rate) / 1000);
    const maxLag = Math.round((cfg.maxLagMs * this.rate) / 1000);
    const bins = this.analyser.hi - this.analyser.lo + 1;
    const sxr = new Float64Array(bins), sxi = new Float64Array(bins), sxx = new Float64Array(bins);
    const minPlayPower = 10 ** (cfg.minPlayDb / 10) * windowPowerGain() * bins;
    let best = Number.NaN;
    const firstPlayed = this.played.spectra[0]?.at ?? 0;
    for (let at = Math.floor((base - minLag - firstPlayed) / REF_HOP) * REF_HOP + firstPlayed; at >= base - maxLag; at -= REF_HOP) {
      const shift = newest.at - at;
      sxr.fill(0); sxi.fill(0); sxx.fill(0);
      let syy = 0, playPower = 0, complete = true;
      for (const y of active) {
        const x = this.played.find(y.at - shift);
        if (!x) { complete = false; break; }
        playPower += x.power;
        syy += y.power;
        for (let b = 0; b < bins; b++) {
          const xr = x.re[b]!, xi = x.im[b]!, yr = y.re[b]!, yi = y.im[b]!;
          // conj(X)·Y
          sxr[b] = sxr[b]! + xr * yr + xi * yi;
          sxi[b] = sxi[b]! + xr * yi - xi * yr;
          sxx[b] = sxx[b]! + xr * xr + xi * xi;
        }
      }
      if (!complete) break;
      if (playPower < minPlayPower * active.length || syy <= 0) continue;
      let explained = 0;
      for (let b = 0; b < bins; b++) if (sxx[b]! > 0) explained += (sxr[b]! ** 2 + sxi[b]! ** 2) / sxx[b]!;
      const score = explained / syy;
      if (!(score <= best)) best = score;
    }
    return best;
  }
}

/** Σ w² over a Hann segment: a full-scale sine's power in its spectrum is on this scale (used for the dBFS floor). */
const windowPowerGain = (): number => (SEG * 3) / 8;
