// Signal levels shared by the worklets (for the waveform and speech indicator) and the barge-in guard.
export interface Levels {
  rms: number;
  peak: number;
}

export function levelsOf(samples: Float32Array, from = 0, to = samples.length): Levels {
  let sum = 0;
  let peak = 0;
  for (let i = from; i < to; i++) {
    const v = samples[i]!;
    sum += v * v;
    const a = v < 0 ? -v : v;
    if (a > peak) peak = a;
  }
  const n = to - from;
  return { rms: n > 0 ? Math.sqrt(sum / n) : 0, peak };
}

/** dBFS of an RMS value (floor -120 so silence compares sanely). */
export function toDbfs(rms: number): number {
  return rms > 1e-6 ? 20 * Math.log10(rms) : -120;
}
