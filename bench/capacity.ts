// Capacity search for the relay bench (issue 17's "sessions per core"): the largest N a relay holds in real time,
// found by doubling from a start N until a probe fails, then bisecting between the last N held and the first N
// failed, within a probe budget. Pure: the caller's probe runs the load and judges it. A probe whose load side was
// too busy to tell ("load-bound") ends the search upward like a failure, and the result says so.

export type Verdict = 'held' | 'failed' | 'load-bound';

export interface CapacityOptions {
  /** First N tried when nothing is known. */
  start: number;
  /** Never probe above this. */
  max: number;
  /** Stop bisecting once the bracket (first failed − last held) is at most this many sessions… */
  resolution: number;
  /** …or at most this fraction of the N held. */
  relativeResolution: number;
  /** Most probes run. */
  maxProbes: number;
  /** Verdicts already measured (e.g. by the fixed ladder), used before any probe. */
  known?: ReadonlyMap<number, Verdict>;
}

export interface CapacityResult {
  /** Largest N held (0 if none). */
  held: number;
  /** Smallest N not held (failed or load-bound); null if every N up to `max` held. */
  notHeld: number | null;
  /** True when `notHeld` was load-bound: the relay may hold more, the load side could not tell. */
  loadBound: boolean;
  /** Every probe run here, in order (not the known ones). */
  probes: { n: number; verdict: Verdict }[];
}

/** Runs the search; `probe` is called one N at a time. Assumes holding is monotone in N (what a capacity is). */
export async function searchCapacity(probe: (n: number) => Promise<Verdict>, o: CapacityOptions): Promise<CapacityResult> {
  let held = 0;
  let notHeld: number | null = null;
  let loadBound = false;
  const note = (n: number, v: Verdict) => {
    if (v === 'held') held = Math.max(held, n);
    else if (notHeld === null || n < notHeld) {
      notHeld = n;
      loadBound = v === 'load-bound';
    }
  };
  for (const [n, v] of o.known ?? []) if (n <= o.max) note(n, v);
  // A known pass above a known failure contradicts monotonicity; trust the failure (the lower bound is what is claimed).
  if (notHeld !== null && held >= notHeld) held = Math.max(0, ...[...(o.known ?? [])].filter(([n, v]) => v === 'held' && n < notHeld!).map(([n]) => n));
  const probes: CapacityResult['probes'] = [];
  while (probes.length < o.maxProbes) {
    let n: number;
    if (notHeld === null) {
      if (held >= o.max) break;
      n = Math.min(o.max, held === 0 ? o.start : held * 2);
    } else {
      const gap = notHeld - held;
      if (gap <= Math.max(1, o.resolution, o.relativeResolution * held)) break;
      n = Math.round((held + notHeld) / 2);
    }
    const v = await probe(n);
    probes.push({ n, verdict: v });
    note(n, v);
  }
  return { held, notHeld, loadBound, probes };
}

/** "350 (load-bound at 400)", "800+" (the search's ceiling held), "0". */
export function formatCapacity(r: CapacityResult): string {
  if (r.notHeld === null) return `${r.held}+`;
  return r.loadBound ? `≥ ${r.held} (load-bound at ${r.notHeld})` : `${r.held}`;
}
