import { describe, expect, it } from 'vitest';
import { makeTokenStore, takeTokenFromHash } from './token-store.ts';

describe('token store', () => {
  it('takes the token out of the hash and keeps the rest', () => {
    expect(takeTokenFromHash('#token=abc.def.ghi')).toEqual({ token: 'abc.def.ghi', rest: '' });
    expect(takeTokenFromHash('#x=1&token=t')).toEqual({ token: 't', rest: '#x=1' });
    expect(takeTokenFromHash('')).toEqual({ token: null, rest: '' });
    expect(takeTokenFromHash('#token=')).toEqual({ token: null, rest: '' });
  });

  it('stores, reads and clears', () => {
    const map = new Map<string, string>();
    const store = makeTokenStore({ getItem: (k) => map.get(k) ?? null, setItem: (k, v) => void map.set(k, v), removeItem: (k) => void map.delete(k) });
    expect(store.get()).toBeNull();
    store.set('  tok  ');
    expect(store.get()).toBe('tok');
    store.clear();
    expect(store.get()).toBeNull();
  });
});
