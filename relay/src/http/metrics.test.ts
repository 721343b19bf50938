// The relay's hot counters (HotCounters): what the frame path may and may not do to Prometheus.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createMetrics, HOT_FOLD_INTERVAL_MS, MAX_PENDING_SAMPLES } from './metrics.ts';

async function latencyCount(m: ReturnType<typeof createMetrics>, direction: string): Promise<number> {
  const metric = await m.relayLatency.get();
  return metric.values.find((v) => v.metricName === 'earshot_relay_latency_seconds_count' && v.labels.direction === direction)?.value ?? 0;
}

describe('relay latency samples', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('are never folded into prom-client on the frame path, however many arrive between two folds', () => {
    const m = createMetrics();
    const observe = vi.spyOn(m.relayLatency, 'observe');
    // More than any buffer: before, the sample after a full buffer (4096) folded them all there (a 5–30 ms stall).
    for (let i = 0; i < 10_000; i++) {
      m.hot.observeUp(0.2);
      m.hot.observeDown(0.3);
    }
    expect(observe).not.toHaveBeenCalled();
    m.stop();
  });

  it('reach the histogram within one fold interval, without a scrape', async () => {
    const m = createMetrics();
    m.hot.observeUp(0.2);
    m.hot.observeUp(0.4);
    m.hot.observeDown(1.5);
    vi.advanceTimersByTime(HOT_FOLD_INTERVAL_MS);
    expect(await latencyCount(m, 'client_to_upstream')).toBe(2);
    expect(await latencyCount(m, 'upstream_to_client')).toBe(1);
    m.stop();
  });

  it('keep at most one buffer between two folds: the rest are dropped, and the next interval starts empty', async () => {
    const m = createMetrics();
    for (let i = 0; i < MAX_PENDING_SAMPLES + 100; i++) m.hot.observeUp(0.2);
    vi.advanceTimersByTime(HOT_FOLD_INTERVAL_MS);
    expect(await latencyCount(m, 'client_to_upstream')).toBe(MAX_PENDING_SAMPLES);
    m.hot.observeUp(0.2);
    vi.advanceTimersByTime(HOT_FOLD_INTERVAL_MS);
    expect(await latencyCount(m, 'client_to_upstream')).toBe(MAX_PENDING_SAMPLES + 1);
    m.stop();
  });

  it('stop folding when the metrics stop (no timer outlives a relay)', () => {
    const m = createMetrics();
    m.stop();
    const observe = vi.spyOn(m.relayLatency, 'observe');
    m.hot.observeUp(0.2);
    vi.advanceTimersByTime(10 * HOT_FOLD_INTERVAL_MS);
    expect(observe).not.toHaveBeenCalled();
  });
});
