// The capacity search against a brute-force answer: for a relay that holds exactly N ≤ c, a linear scan over every
// N finds c; the search must land within its stated resolution below c (never above), inside its probe budget.
import { describe, expect, it } from 'vitest';
import { formatCapacity, searchCapacity, type CapacityOptions, type Verdict } from './capacity.ts';

const options: CapacityOptions = { start: 50, max: 3200, resolution: 25, relativeResolution: 0.1, maxProbes: 10 };

/** The independent answer: scan every N from 1 up, as slowly as possible. */
function bruteForce(holds: (n: number) => boolean, max: number): number {
  let c = 0;
  for (let n = 1; n <= max && holds(n); n++) c = n;
  return c;
}

describe('searchCapacity', () => {
  it('finds the largest N held within its resolution, never above it, for capacities from 0 to past the ceiling', async () => {
    for (const truth of [0, 1, 7, 49, 50, 51, 99, 100, 137, 250, 399, 401, 777, 1000, 1599, 2500, 3200, 5000]) {
      const holds = (n: number) => n <= truth;
      const expected = bruteForce(holds, options.max);
      const probed: number[] = [];
      const r = await searchCapacity(async (n) => {
        probed.push(n);
        return holds(n) ? 'held' : 'failed';
      }, options);
      expect(r.held, `truth ${truth}`).toBeLessThanOrEqual(expected);
      expect(expected - r.held, `truth ${truth}`).toBeLessThanOrEqual(Math.max(options.resolution, options.relativeResolution * expected));
      expect(probed.length).toBeLessThanOrEqual(options.maxProbes);
      expect(r.notHeld === null).toBe(expected >= options.max);
      expect(Math.max(...probed)).toBeLessThanOrEqual(options.max);
    }
  });

  it('uses what the ladder already measured instead of probing it again', async () => {
    const known = new Map<number, Verdict>([
      [100, 'held'],
      [200, 'held'],
      [400, 'failed'],
    ]);
    const probed: number[] = [];
    const r = await searchCapacity(async (n) => (probed.push(n), n <= 310 ? 'held' : 'failed'), { ...options, known });
    expect(probed.every((n) => n > 200 && n < 400)).toBe(true);
    expect(r.held).toBeGreaterThanOrEqual(310 - 31);
    expect(r.held).toBeLessThanOrEqual(310);
  });

  it('says "load-bound" when the first N not held was one the load side could not drive', async () => {
    const r = await searchCapacity(async (n) => (n <= 300 ? 'held' : 'load-bound'), options);
    expect(r.loadBound).toBe(true);
    expect(formatCapacity(r)).toMatch(/^≥ \d+ \(load-bound at \d+\)$/);
    const plain = await searchCapacity(async (n) => (n <= 300 ? 'held' : 'failed'), options);
    expect(plain.loadBound).toBe(false);
    expect(formatCapacity(plain)).toBe(String(plain.held));
  });

  it('stops at its probe budget and reports the bracket it has', async () => {
    const r = await searchCapacity(async (n) => (n <= 1234 ? 'held' : 'failed'), { ...options, maxProbes: 3 });
    expect(r.probes.map((p) => p.n)).toEqual([50, 100, 200]);
    expect(r).toMatchObject({ held: 200, notHeld: null });
    expect(formatCapacity(r)).toBe('200+');
  });
});
