import { describe, expect, it } from 'vitest';
import { InOrder } from './in-order.ts';

function deferred<T>() {
  let resolve!: (v: T) => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

const tick = () => new Promise((r) => setImmediate(r));

describe('InOrder', () => {
  it('delivers a ready value at once when nothing is pending', () => {
    const out: string[] = [];
    const q = new InOrder<string>((v) => out.push(v), () => {});
    q.now('a');
    expect(out).toEqual(['a']);
  });

  it('holds ready values behind a pending job and releases them in queue order, whatever order jobs finish in', async () => {
    const out: string[] = [];
    const q = new InOrder<string>((v) => out.push(v), () => {});
    const first = deferred<string>();
    const second = deferred<string>();
    q.later(first.promise);
    q.now('text after first');
    q.later(second.promise);
    second.resolve('second');
    await tick();
    expect(out).toEqual([]);
    first.resolve('first');
    await tick();
    expect(out).toEqual(['first', 'text after first', 'second']);
  });

  it('skips a failed job, reports it and goes on; after drop() late results are ignored', async () => {
    const out: string[] = [];
    const errors: unknown[] = [];
    const q = new InOrder<string>((v) => out.push(v), (e) => errors.push(e));
    const failing = deferred<string>();
    q.later(failing.promise);
    q.now('after');
    failing.reject(new Error('boom'));
    await tick();
    expect(out).toEqual(['after']);
    expect(errors).toHaveLength(1);
    const late = deferred<string>();
    q.later(late.promise);
    q.drop();
    late.resolve('late');
    await tick();
    expect(out).toEqual(['after']);
  });
});
