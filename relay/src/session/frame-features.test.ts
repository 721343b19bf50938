import { describe, expect, it } from 'vitest';
import { ALL_FRAME_FEATURES, FRAME_FEATURE_NAMES, frameFeaturesFromEnv } from './frame-features.ts';

describe('EARSHOT_BENCH_OFF: per-frame steps a benchmark build switches off', () => {
  it('runs every step when unset or empty', () => {
    expect(frameFeaturesFromEnv(undefined)).toEqual(ALL_FRAME_FEATURES);
    expect(frameFeaturesFromEnv('')).toEqual(ALL_FRAME_FEATURES);
    expect(FRAME_FEATURE_NAMES.every((f) => ALL_FRAME_FEATURES[f])).toBe(true);
  });

  it('switches off exactly the steps named', () => {
    const f = frameFeaturesFromEnv('meter, latency');
    expect(FRAME_FEATURE_NAMES.filter((n) => !f[n])).toEqual(['meter', 'latency']);
  });

  it('refuses an unknown name instead of measuring the wrong build', () => {
    expect(() => frameFeaturesFromEnv('meter,metrix')).toThrow(/unknown feature 'metrix'/);
  });
});
