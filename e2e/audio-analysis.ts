// Signal analysis for the audio browser tests: FFT cross-correlation to align what left the browser with a
// reference, and the Pearson correlation at that alignment.

function fft(re: Float64Array, im: Float64Array, inverse: boolean): void {
  const n = re.length;
  for (let i = 1, j = 0; i < n; i++) {
    let bit = n >> 1;
    for (; j & bit; bit >>= 1) j ^= bit;
    j ^= bit;
    if (i < j) {
      [re[i], re[j]] = [re[j]!, re[i]!];
      [im[i], im[j]] = [im[j]!, im[i]!];
    }
  }
  for (let len = 2; len <= n; len <<= 1) {
    const ang = ((inverse ? 2 : -2) * Math.PI) / len;
    const wr = Math.cos(ang);
    const wi = Math.sin(ang);
    for (let i = 0; i < n; i += len) {
      let cr = 1;
      let ci = 0;
      for (let k = 0; k < len / 2; k++) {
        const a = i + k;
        const b = a + len / 2;
        const xr = re[b]! * cr - im[b]! * ci;
        const xi = re[b]! * ci + im[b]! * cr;
        re[b] = re[a]! - xr;
        im[b] = im[a]! - xi;
        re[a] = re[a]! + xr;
        im[a] = im[a]! + xi;
        const t = cr * wr - ci * wi;
        ci = cr * wi + ci * wr;
        cr = t;
      }
    }
  }
}

/** Lag L (0 <= L < reference.length) maximising sum_k segment[k] * reference[(L + k) mod reference.length]. */
export function bestCyclicLag(segment: ArrayLike<number>, reference: ArrayLike<number>): number {
  let n = 1;
  while (n < reference.length + segment.length) n <<= 1;
  const ar = new Float64Array(n), ai = new Float64Array(n), br = new Float64Array(n), bi = new Float64Array(n);
  // Reference repeated so any cyclic position is covered.
  for (let i = 0; i < n; i++) ar[i] = reference[i % reference.length]!;
  for (let i = 0; i < segment.length; i++) br[i] = segment[i]!;
  fft(ar, ai, false);
  fft(br, bi, false);
  for (let i = 0; i < n; i++) {
    // A * conj(B)
    const r = ar[i]! * br[i]! + ai[i]! * bi[i]!;
    const im = ai[i]! * br[i]! - ar[i]! * bi[i]!;
    ar[i] = r;
    ai[i] = im;
  }
  fft(ar, ai, true);
  let best = 0;
  let bestValue = -Infinity;
  for (let lag = 0; lag < reference.length; lag++) {
    if (ar[lag]! > bestValue) {
      bestValue = ar[lag]!;
      best = lag;
    }
  }
  return best;
}

export function pearson(a: ArrayLike<number>, b: ArrayLike<number>): number {
  const n = Math.min(a.length, b.length);
  let ma = 0, mb = 0;
  for (let i = 0; i < n; i++) {
    ma += a[i]!;
    mb += b[i]!;
  }
  ma /= n;
  mb /= n;
  let sab = 0, saa = 0, sbb = 0;
  for (let i = 0; i < n; i++) {
    const x = a[i]! - ma, y = b[i]! - mb;
    sab += x * y;
    saa += x * x;
    sbb += y * y;
  }
  return sab / Math.sqrt(saa * sbb);
}

export interface WindowFit {
  /** First sample of the window in the capture. */
  start: number;
  /** Root mean square of the window (full scale 1). */
  rms: number;
  /** The window's own best cyclic lag into the reference. */
  lag: number;
  /** Pearson correlation with the reference at that lag. */
  r: number;
}

/**
 * Aligns each `length`-sample window of `captured` on its own and correlates it with `reference`. A browser
 * whose audio thread glitches under load (dropped or repeated input) shifts every later sample: one window over
 * the glitch fits badly while the others still fit exactly, where a single long window would fit badly as a whole.
 * Only windows with speech in them (at least `minRelativeRms` of the loudest) are returned: a pause correlates noise.
 */
export function windowFits(captured: ArrayLike<number>, reference: ArrayLike<number>, length: number, minRelativeRms = 0.25): WindowFit[] {
  const windows: { start: number; rms: number }[] = [];
  for (let start = 0; start + length <= captured.length; start += length) {
    let e = 0;
    for (let i = start; i < start + length; i++) e += captured[i]! * captured[i]!;
    windows.push({ start, rms: Math.sqrt(e / length) });
  }
  const loudest = Math.max(0, ...windows.map((w) => w.rms));
  return windows
    .filter((w) => loudest > 0 && w.rms >= loudest * minRelativeRms)
    .map(({ start, rms }) => {
      const segment = Array.prototype.slice.call(captured, start, start + length) as number[];
      const lag = bestCyclicLag(segment, reference);
      const aligned = segment.map((_, k) => reference[(lag + k) % reference.length]!);
      return { start, rms, lag, r: pearson(segment, aligned) };
    });
}
