// Whether what the microphone delivers now follows what the app played a moment ago: the assistant's own echo,
// let through by the browser's canceller, rises and falls with the playback ~0.1–0.3 s later; the person talking
// over a reply does not. The session worker keeps, per 20 ms capture frame, the frame's level and the level the
// playback worklet last reported playing (EchoHistory); `echoLikeness` is the best correlation of the capture's
// level envelope over the last `windowFrames` with the playback's, at any lag in [minLagFrames, maxLagFrames].
// Where it is at least `threshold` the barge-in guard treats the frame as a possible echo and asks for as much as
// just after a voice onset (barge-in-guard.ts, 12 loud frames of 14), whatever the time since the onset.
//
// Why (issue 15, README "Echo follows playback"): the onset rule (echo-onset.ts) covers the canceller's leaks just
// after a voice onset, but it re-diverges mid-reply too and lets the echo through for ~0.15 s, as loud and as long
// as a short word; only what was played can tell the two apart. Measured on the speakerphone bench's traces
// (ECHO_TRACE=1): the echo reached the worker 120–280 ms after the worklet reported it (lag 6–14 frames); the
// envelopes are compared in dB clipped at `floorDb` (below it is the canceller's floor, no shape to follow) over
// 0.5 s (shorter windows match a person's word against some rise in the playback too often; longer ones take in
// the canceller adapting, which breaks the echo's own likeness). A window whose playback is nearly flat (spread
// under `minPlaySpreadDb` at every lag) says nothing and counts as not echo-like: the guard's usual rule applies.
// It cannot veto a person: a word that happens to start ~0.2 s after the assistant resumes after a pause looks
// like echo and gets the stricter rule (~0.1 s later, or the next word when the first has under 12 loud frames).
// Pure except EchoHistory's ring buffers (the worker owns one).

export interface EchoLikenessConfig {
  /** Capture frames (20 ms) compared. */
  windowFrames: number;
  /** Lags (frames) between the playback report and the echo in the capture that count as plausible. */
  minLagFrames: number;
  maxLagFrames: number;
  /** Levels below this (dBFS) count as this: the canceller's floor and the playback's silence have no shape. */
  floorDb: number;
  /** Standard deviation (dB) of the playback over the window below which it has nothing to follow. */
  minPlaySpreadDb: number;
  /** Correlation at or above which the capture counts as following the playback. */
  threshold: number;
}

export const DEFAULT_ECHO_LIKENESS: EchoLikenessConfig = { windowFrames: 25, minLagFrames: 6, maxLagFrames: 14, floorDb: -60, minPlaySpreadDb: 3, threshold: 0.7 };

/** Frames of history the test needs: the window plus the longest lag. */
export const historyFrames = (config: EchoLikenessConfig = DEFAULT_ECHO_LIKENESS): number => config.windowFrames + config.maxLagFrames;

/**
 * The best correlation (−1…1) between the capture levels `mic` and the playback levels `play` (dBFS, one per
 * capture frame, oldest first, the same length; the newest frame last) at a plausible lag; NaN when the history is
 * too short or the playback too flat to say.
 */
export function echoLikeness(mic: ArrayLike<number>, play: ArrayLike<number>, config: EchoLikenessConfig = DEFAULT_ECHO_LIKENESS): number {
  const n = mic.length;
  const w = config.windowFrames;
  const clip = (db: number) => Math.max(db, config.floorDb);
  let best = Number.NaN;
  for (let lag = config.minLagFrames; lag <= config.maxLagFrames; lag++) {
    if (n - w - lag < 0) break;
    let sx = 0, sy = 0, sxx = 0, syy = 0, sxy = 0;
    for (let k = n - w; k < n; k++) {
      const x = clip(play[k - lag]!);
      const y = clip(mic[k]!);
      sx += x; sy += y; sxx += x * x; syy += y * y; sxy += x * y;
    }
    const vx = sxx / w - (sx / w) ** 2;
    const vy = syy / w - (sy / w) ** 2;
    if (Math.sqrt(Math.max(vx, 0)) < config.minPlaySpreadDb || vy <= 1e-9) continue;
    const r = (sxy / w - (sx / w) * (sy / w)) / Math.sqrt(vx * vy);
    if (!(r <= best)) best = r;
  }
  return best;
}

export const isEchoLike = (score: number, config: EchoLikenessConfig = DEFAULT_ECHO_LIKENESS): boolean => score >= config.threshold;

/** The worker's per-frame record of capture and playback levels, the last `historyFrames` of them. */
export class EchoHistory {
  private readonly size: number;
  private readonly micDb: Float64Array;
  private readonly playDb: Float64Array;
  private count = 0;
  private readonly config: EchoLikenessConfig;

  constructor(config: EchoLikenessConfig = DEFAULT_ECHO_LIKENESS) {
    this.config = config;
    this.size = historyFrames(config);
    this.micDb = new Float64Array(this.size);
    this.playDb = new Float64Array(this.size);
  }

  /** One capture frame's level and the playback level last reported when it was handled. */
  push(micDb: number, playDb: number): void {
    if (this.count === this.size) {
      this.micDb.copyWithin(0, 1);
      this.playDb.copyWithin(0, 1);
      this.count--;
    }
    this.micDb[this.count] = micDb;
    this.playDb[this.count] = playDb;
    this.count++;
  }

  score(): number {
    return echoLikeness(this.micDb.subarray(0, this.count), this.playDb.subarray(0, this.count), this.config);
  }
}
