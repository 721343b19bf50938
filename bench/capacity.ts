// Capacity search for the relay bench (issue 17's "sessions per core"): the largest N a relay holds in real time,
// found by doubling from a start N until a probe fails, then bisecting between the last N held and the first N
// failed, within a probe budget. Pure: the caller's probe runs the load and judges it. A probe whose load side was
// too busy to tell ("load-bound") ends the search upward like a failure, and the result says so.
//
// A probe that does not hold is run once more and the better verdict of the two counts (`retries`). Why: on this
// shared 2-core machine one > 20 ms stall in a 4 s window (another process on the relay's core, a scavenge landing
// on a backlog) fails a probe, and the day's runs moved the same relay's figure 2-4x that way. Noise of that kind
// only ever makes a relay look worse — nothing makes a relay hold real time it cannot — so of two tries the better
// is the one less contaminated, while a relay that is truly over its capacity fails both. Longer probes were the
// other choice; they make one stall rarer per window but also give it more windows to land in, and cost every
// probe the time where a repeat costs only the probes that fail. Applied the same to every relay (it lives here,
// in the search, not in any relay's probe).

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
  /**
   * Extra tries of a probe that did not hold; the best verdict counts (held > load-bound > failed). Retries do not
   * count against `maxProbes` (that budget is in distinct N). Default 1.
   */
  retries?: number;
}

export interface CapacityResult {
  /** Largest N held (0 if none). */
  held: number;
  /** Smallest N not held (failed or load-bound); null if every N up to `max` held. */
  notHeld: number | null;
  /** True when `notHeld` was load-bound: the relay may hold more, the load side could not tell. */
  loadBound: boolean;
  /** Every N probed here, in order (not the known ones): the verdict that counted, and every try's. */
  probes: { n: number; verdict: Verdict; tries: Verdict[] }[];
}

/** Which of two tries' verdicts counts: the better for the relay (see the file header). */
const RANK: Readonly<Record<Verdict, number>> = { failed: 0, 'load-bound': 1, held: 2 };

/** The best of several tries of one N (held > load-bound > failed): noise only ever makes a relay look worse. */
export function bestVerdict(tries: readonly Verdict[]): Verdict {
  return tries.reduce((best, t) => (RANK[t] > RANK[best] ? t : best));
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
    const tries: Verdict[] = [await probe(n)];
    for (let r = 0; r < (o.retries ?? 1) && !tries.includes('held'); r++) tries.push(await probe(n));
    const v = bestVerdict(tries);
    probes.push({ n, verdict: v, tries });
    note(n, v);
  }
  return { held, notHeld, loadBound, probes };
}

/** "350 (load-bound at 400)", "800+" (the search's ceiling held), "0". */
export function formatCapacity(r: CapacityResult): string {
  if (r.notHeld === null) return `${r.held}+`;
  return r.loadBound ? `≥ ${r.held} (load-bound at ${r.notHeld})` : `${r.held}`;
}
