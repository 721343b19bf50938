import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { SampleRing } from './sample-ring.ts';

describe('SampleRing', () => {
  it('starts empty with its whole capacity writable', () => {
    const r = new SampleRing(8);
    expect(r.availableRead).toBe(0);
    expect(r.availableWrite).toBe(8);
  });

  it('tells full from empty: a full ring holds exactly its capacity and refuses more', () => {
    const r = new SampleRing(4);
    expect(r.push(Float32Array.of(1, 2, 3, 4, 5))).toBe(4);
    expect(r.availableRead).toBe(4);
    expect(r.availableWrite).toBe(0);
    expect(r.push(Float32Array.of(9))).toBe(0);
  });

  it('reads back what was written across the wrap point, in order', () => {
    const r = new SampleRing(5);
    r.push(Float32Array.of(1, 2, 3, 4));
    const out = new Float32Array(3);
    expect(r.pull(out, 0, 3)).toBe(3);
    expect([...out]).toEqual([1, 2, 3]);
    r.push(Float32Array.of(5, 6, 7, 8));
    const rest = new Float32Array(5);
    expect(r.pull(rest, 0, 10)).toBe(5);
    expect([...rest]).toEqual([4, 5, 6, 7, 8]);
    expect(r.availableRead).toBe(0);
  });

  it('skips and clears without reading', () => {
    const r = new SampleRing(6);
    r.push(Float32Array.of(1, 2, 3));
    expect(r.skip(2)).toBe(1 + 1);
    expect(r.availableRead).toBe(1);
    r.clear();
    expect(r.availableRead).toBe(0);
  });

  it('behaves like an unbounded FIFO cut to its capacity, for any sequence of pushes and pulls', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 40 }), fc.array(fc.tuple(fc.boolean(), fc.integer({ min: 0, max: 50 })), { maxLength: 60 }), (cap, ops) => {
        const r = new SampleRing(cap);
        const model: number[] = [];
        let next = 0;
        for (const [isPush, n] of ops) {
          if (isPush) {
            const src = Float32Array.from({ length: n }, () => next++);
            const wrote = r.push(src);
            expect(wrote).toBe(Math.min(n, cap - model.length));
            model.push(...Array.from(src.subarray(0, wrote)));
          } else {
            const out = new Float32Array(n);
            const got = r.pull(out, 0, n);
            expect([...out.subarray(0, got)]).toEqual(model.splice(0, got));
          }
          expect(r.availableRead).toBe(model.length);
        }
      }),
    );
  });
});
