// How much assistant audio the playback queue gathers before it starts (or restarts after a gap). A fixed target
// never fits a phone link: on good Wi-Fi 60 ms is plenty, on a lossy 4G link a TCP retransmission holds audio back
// for 200–300 ms. So the target grows after each underrun (quickly: a gap is what a person hears) and shrinks
// slowly after a stretch of steady playback (each step saves latency on the next reply), within JITTER_MIN..MAX.
// Pure; counts in samples at the playback rate.
import { JITTER_INITIAL_MS, JITTER_MAX_MS, JITTER_MIN_MS } from './constants.ts';

export interface JitterConfig {
  minMs: number;
  maxMs: number;
  initialMs: number;
  /** Added on each underrun. */
  growMs: number;
  /** Removed after each `steadyMs` of playback without an underrun. */
  shrinkMs: number;
  steadyMs: number;
}

export const DEFAULT_JITTER: JitterConfig = { minMs: JITTER_MIN_MS, maxMs: JITTER_MAX_MS, initialMs: JITTER_INITIAL_MS, growMs: 60, shrinkMs: 20, steadyMs: 5_000 };

export class JitterTarget {
  private readonly rate: number;
  private readonly config: JitterConfig;
  private targetMs: number;
  private steadySamples = 0;

  constructor(rate: number, config: JitterConfig = DEFAULT_JITTER) {
    this.rate = rate;
    this.config = config;
    this.targetMs = clamp(config.initialMs, config.minMs, config.maxMs);
  }

  get ms(): number {
    return this.targetMs;
  }

  get samples(): number {
    return Math.round((this.rate * this.targetMs) / 1000);
  }

  /** The queue ran dry while more audio was expected. */
  underrun(): void {
    this.targetMs = clamp(this.targetMs + this.config.growMs, this.config.minMs, this.config.maxMs);
    this.steadySamples = 0;
  }

  /** `samples` more were played without a gap. */
  played(samples: number): void {
    this.steadySamples += samples;
    const steady = (this.rate * this.config.steadyMs) / 1000;
    while (this.steadySamples >= steady) {
      this.steadySamples -= steady;
      this.targetMs = clamp(this.targetMs - this.config.shrinkMs, this.config.minMs, this.config.maxMs);
    }
  }
}

function clamp(v: number, lo: number, hi: number): number {
  return Math.min(hi, Math.max(lo, v));
}
