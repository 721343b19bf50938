// The acoustic bench's arithmetic, pure (no processes): what the speakerphone played, what the microphone heard and
// what the relay forwarded to the provider, as power over wall-clock time, turned into the numbers issue 15 asks
// for — echo return loss enhancement, the echo's level relative to the user's voice, the loopback's real delay.
// speakerphone.ts records the tapes and the rig (echo-rig.ts) the upstream appends; speakerphone.e2e.test.ts and
// bench/echo.ts read them through here.
//
// Units: every power is a mean square of PCM16 sample values (int16² per sample), so 48 kHz tapes and the 24 kHz
// audio sent upstream compare directly (resampling keeps the power of in-band speech).

/** A recording cut into fixed blocks: block k covers [startMs + k·blockMs, startMs + (k+1)·blockMs). */
export interface Tape {
  startMs: number;
  blockMs: number;
  /** Mean square of the samples in each block; NaN where the recording lost audio (skipped everywhere). */
  power: readonly number[];
}

/** An `input_audio_buffer.append` as the provider received it: when, and the sum of squares of its samples. */
export interface UpAppend {
  at: number;
  sumSq: number;
  samples: number;
}

export interface Interval {
  from: number;
  to: number;
}

/** Power of a PCM16 RMS value (e.g. 300 → 90 000). */
export const powerOfRms = (rms: number): number => rms * rms;
export const db = (ratio: number): number => 10 * Math.log10(ratio);

/**
 * Where the tape is louder than `threshold` (a power), as intervals within [from, to]; pauses shorter than
 * `mergeGapMs` (between words) do not split an interval.
 */
export function activeIntervals(tape: Tape, threshold: number, mergeGapMs: number, within: Interval = { from: -Infinity, to: Infinity }): Interval[] {
  const out: Interval[] = [];
  tape.power.forEach((p, k) => {
    const from = tape.startMs + k * tape.blockMs;
    const to = from + tape.blockMs;
    if (!(p >= threshold) || to <= within.from || from >= within.to) return;
    const last = out.at(-1);
    if (last && from - last.to <= mergeGapMs) last.to = to;
    else out.push({ from, to });
  });
  return out.map((i) => ({ from: Math.max(i.from, within.from), to: Math.min(i.to, within.to) }));
}

/** `intervals` without any part covered by `cut`. */
export function subtract(intervals: readonly Interval[], cut: readonly Interval[]): Interval[] {
  let pieces = intervals.map((i) => ({ ...i }));
  for (const c of cut) {
    pieces = pieces.flatMap((p) => {
      if (c.to <= p.from || c.from >= p.to) return [p];
      return [
        { from: p.from, to: c.from },
        { from: c.to, to: p.to },
      ].filter((q) => q.to > q.from);
    });
  }
  return pieces;
}

/** Each interval shortened by `ms` at both ends (dropped when nothing is left): its edges are where timing is least sure. */
export const trim = (intervals: readonly Interval[], ms: number): Interval[] => intervals.map((i) => ({ from: i.from + ms, to: i.to - ms })).filter((i) => i.to > i.from);

export const totalMs = (intervals: readonly Interval[]): number => intervals.reduce((s, i) => s + (i.to - i.from), 0);

/** Mean power of the tape's blocks that lie inside the intervals (shifted by `lagMs`); optionally only blocks above `floor`. */
export function tapePower(tape: Tape, intervals: readonly Interval[], lagMs = 0, floor = -Infinity): number {
  let sum = 0;
  let n = 0;
  tape.power.forEach((p, k) => {
    const mid = tape.startMs + (k + 0.5) * tape.blockMs - lagMs;
    if (!Number.isNaN(p) && p >= floor && intervals.some((i) => mid >= i.from && mid < i.to)) {
      sum += p;
      n++;
    }
  });
  return n === 0 ? 0 : sum / n;
}

/** Mean power of the upstream audio that arrived inside the intervals shifted by `lagMs` (the path's delay). */
export function upstreamPower(appends: readonly UpAppend[], intervals: readonly Interval[], lagMs: number): { power: number; samples: number } {
  let sumSq = 0;
  let samples = 0;
  for (const a of appends) {
    const t = a.at - lagMs;
    if (intervals.some((i) => t >= i.from && t < i.to)) {
      sumSq += a.sumSq;
      samples += a.samples;
    }
  }
  return { power: samples === 0 ? 0 : sumSq / samples, samples };
}

/** The appends as a tape of `blockMs` blocks (an append's power lands in the block of its arrival). */
export function appendsAsTape(appends: readonly UpAppend[], startMs: number, endMs: number, blockMs: number): Tape {
  const n = Math.max(0, Math.ceil((endMs - startMs) / blockMs));
  const sum = new Array<number>(n).fill(0);
  const count = new Array<number>(n).fill(0);
  for (const a of appends) {
    const k = Math.floor((a.at - startMs) / blockMs);
    if (k < 0 || k >= n) continue;
    sum[k]! += a.sumSq;
    count[k]! += a.samples;
  }
  return { startMs, blockMs, power: sum.map((s, k) => (count[k]! === 0 ? 0 : s / count[k]!)) };
}

/** Full scale of PCM16, squared: a level of 0 dBFS (RMS of floats in −1…1) as the tapes' power unit. */
const FULL_SCALE_POWER = 32768 ** 2;

/**
 * The session worker's capture levels (the guard trace: one dBFS value per 20 ms frame, taken after the browser's
 * echo canceller and before the barge-in guard) as a tape in the tapes' power unit, on the worker's wall clock: a
 * frame lands in the block where it was handled; blocks with no frame are unknown (NaN), so a gap in the trace is
 * skipped rather than counted as silence. With it, ERLE can be read at the capture, before the guard holds
 * anything back: what the browser's own processing removed.
 */
export function levelsAsTape(frames: ReadonlyArray<{ at: number; db: number }>, blockMs: number): Tape {
  const first = frames[0];
  if (!first) return { startMs: 0, blockMs, power: [] };
  const startMs = first.at;
  const n = Math.floor((frames.at(-1)!.at - startMs) / blockMs) + 1;
  const sum = new Array<number>(n).fill(0);
  const count = new Array<number>(n).fill(0);
  for (const f of frames) {
    const k = Math.floor((f.at - startMs) / blockMs);
    if (k < 0 || k >= n) continue;
    sum[k]! += FULL_SCALE_POWER * 10 ** (f.db / 10);
    count[k]!++;
  }
  return { startMs, blockMs, power: sum.map((s, k) => (count[k]! === 0 ? Number.NaN : s / count[k]!)) };
}

/**
 * How far `later` lags `earlier` (ms, a multiple of the coarser block, 0..maxLagMs): the shift that best lines up
 * their log-power envelopes over `within` (normalised correlation). Used for the real delay of the speaker-to-mic
 * loopback and for the path from the microphone to the provider.
 */
export function estimateLagMs(earlier: Tape, later: Tape, within: Interval, maxLagMs: number, stepMs = Math.max(earlier.blockMs, later.blockMs)): number {
  const env = (tape: Tape, t: number) => {
    const k = Math.floor((t - tape.startMs) / tape.blockMs);
    const p = tape.power[k];
    return p === undefined || Number.isNaN(p) ? null : Math.log10(p + 1);
  };
  let best = { lag: 0, score: -Infinity };
  for (let lag = 0; lag <= maxLagMs; lag += stepMs) {
    const xs: number[] = [];
    const ys: number[] = [];
    for (let t = within.from; t < within.to; t += stepMs) {
      const x = env(earlier, t);
      const y = env(later, t + lag);
      if (x === null || y === null) continue;
      xs.push(x);
      ys.push(y);
    }
    if (xs.length < 10) continue;
    const mx = xs.reduce((a, b) => a + b, 0) / xs.length;
    const my = ys.reduce((a, b) => a + b, 0) / ys.length;
    let sxy = 0;
    let sxx = 0;
    let syy = 0;
    xs.forEach((x, i) => {
      sxy += (x - mx) * (ys[i]! - my);
      sxx += (x - mx) ** 2;
      syy += (ys[i]! - my) ** 2;
    });
    const score = sxx === 0 || syy === 0 ? -Infinity : sxy / Math.sqrt(sxx * syy);
    if (score > best.score) best = { lag, score };
  }
  return best.lag;
}

/**
 * Echo return loss enhancement: how many dB of the assistant's voice at the microphone are gone from what was sent
 * upstream. Upstream digital silence (the guard held the audio back, or the canceller left nothing and Opus sent
 * DTX) has no finite ERLE: it is reported as at least the value a half-LSB floor would give.
 */
export function erle(micPower: number, upPower: number): { db: number; atLeast: boolean } {
  const FLOOR = 0.25;
  if (upPower < FLOOR) return { db: db(micPower / FLOOR), atLeast: true };
  return { db: db(micPower / upPower), atLeast: false };
}

export const formatErle = (e: { db: number; atLeast: boolean } | null): string => (e === null ? 'n/a' : `${e.atLeast ? '≥' : ''}${e.db.toFixed(1)}`);
