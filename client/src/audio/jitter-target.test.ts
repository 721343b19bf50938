import { describe, expect, it } from 'vitest';
import { DEFAULT_JITTER, JitterTarget } from './jitter-target.ts';

describe('JitterTarget', () => {
  it('starts at the initial target, in samples at the playback rate', () => {
    const j = new JitterTarget(48_000);
    expect(j.ms).toBe(DEFAULT_JITTER.initialMs);
    expect(j.samples).toBe((48_000 * DEFAULT_JITTER.initialMs) / 1000);
  });

  it('grows after each underrun and never beyond 400 ms', () => {
    const j = new JitterTarget(48_000);
    j.underrun();
    expect(j.ms).toBe(DEFAULT_JITTER.initialMs + DEFAULT_JITTER.growMs);
    for (let i = 0; i < 20; i++) j.underrun();
    expect(j.ms).toBe(400);
  });

  it('shrinks one step per steady stretch of playback, and never below 60 ms', () => {
    const j = new JitterTarget(48_000);
    for (let i = 0; i < 5; i++) j.underrun();
    const grown = j.ms;
    j.played(48_000 * (DEFAULT_JITTER.steadyMs / 1000) - 1);
    expect(j.ms).toBe(grown);
    j.played(1);
    expect(j.ms).toBe(grown - DEFAULT_JITTER.shrinkMs);
    j.played(48_000 * 3600);
    expect(j.ms).toBe(60);
  });

  it('an underrun restarts the steady stretch', () => {
    const j = new JitterTarget(1000, { ...DEFAULT_JITTER, steadyMs: 1000 });
    j.underrun();
    const grown = j.ms;
    j.played(900);
    j.underrun();
    j.played(900);
    expect(j.ms).toBe(grown + DEFAULT_JITTER.growMs);
  });
});
