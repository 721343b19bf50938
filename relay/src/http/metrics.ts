// Prometheus metrics on a registry of their own (not prom-client's global), so every relay — including the
// several a test file may start — counts only itself.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { EVENT_LOOP_DELAY_BUCKETS, EVENT_LOOP_SAMPLE_MS, startEventLoopDelay, type EventLoopDelayMonitor } from './event-loop-delay.ts';

/**
 * `eventLoop`: sample this thread's event-loop delay into `earshot_event_loop_delay_seconds` (the relay turns it
 * on; call `stop()` when done so the sampling timer goes away with the relay).
 */
export function createMetrics(options: { perUser?: boolean; defaults?: boolean; eventLoop?: boolean } = {}) {
  const registry = new Registry();
  const hot = new HotCounters();
  const collect = () => hot.fold();
  if (options.defaults) collectDefaultMetrics({ register: registry, prefix: 'earshot_' });
  const metrics = {
    registry,
    perUser: options.perUser ?? false,
    connections: new Counter({ name: 'earshot_connections_total', help: 'WebSocket sessions accepted', registers: [registry] }),
    sessionsActive: new Gauge({ name: 'earshot_sessions_active', help: 'Sessions open now', registers: [registry] }),
    messages: new Counter({ name: 'earshot_messages_total', help: 'Frames relayed', labelNames: ['direction'] as const, registers: [registry], collect }),
    bytes: new Counter({ name: 'earshot_bytes_total', help: 'Bytes relayed', labelNames: ['direction'] as const, registers: [registry], collect }),
    rejectedEvents: new Counter({ name: 'earshot_rejected_events_total', help: 'Client events refused by policy or limits', labelNames: ['code'] as const, registers: [registry] }),
    authFailures: new Counter({ name: 'earshot_auth_failures_total', help: 'Refused upgrades and session checks', labelNames: ['reason'] as const, registers: [registry] }),
    upstreamErrors: new Counter({ name: 'earshot_upstream_errors_total', help: 'Upstream failures', labelNames: ['kind'] as const, registers: [registry] }),
    closes: new Counter({ name: 'earshot_session_closes_total', help: 'Sessions ended, by close code', labelNames: ['code'] as const, registers: [registry] }),
    sessionDuration: new Histogram({
      name: 'earshot_session_duration_seconds',
      help: 'Session length',
      buckets: [5, 30, 60, 300, 600, 1800, 3600],
      registers: [registry],
    }),
    relayLatency: new Histogram({
      name: 'earshot_relay_latency_seconds',
      help: 'Time from receiving a frame to handing it to the other side',
      labelNames: ['direction'] as const,
      buckets: [0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.05],
      registers: [registry],
      collect,
    }),
    userSeconds: new Counter({ name: 'earshot_user_audio_seconds_total', help: 'Audio seconds per user (PER_USER_METRICS only)', labelNames: ['user', 'direction'] as const, registers: [registry] }),
    eventLoopDelay: new Histogram({
      name: 'earshot_event_loop_delay_seconds',
      help: `How late a timer due every ${EVENT_LOOP_SAMPLE_MS} ms ran on the relay's event loop: how long synchronous work held it (each frame waits behind it)`,
      buckets: EVENT_LOOP_DELAY_BUCKETS,
      registers: [registry],
    }),
    render: () => registry.metrics(),
  };
  hot.attach(metrics);
  const monitor: EventLoopDelayMonitor | null = options.eventLoop ? startEventLoopDelay({ observe: (s) => metrics.eventLoopDelay.observe(s) }) : null;
  // The hot counters are folded in on a short timer as well as on each scrape, so a fold is always small: a full
  // buffer folded at once held the loop 5–31 ms (8,192 samples, prom-client's observe() ~1 µs each), and every
  // frame in flight waited behind it: every ~26 s at 100 sessions, every ~3 s at 1,000 (issue 17, tails).
  const folder = setInterval(() => hot.fold(), HOT_FOLD_INTERVAL_MS);
  folder.unref();
  return {
    ...metrics,
    hot,
    stop: () => {
      clearInterval(folder);
      monitor?.stop();
    },
  };
}

/** How often the hot counters are folded into prom-client between scrapes (see HotCounters). */
export const HOT_FOLD_INTERVAL_MS = 250;

/**
 * Latency samples kept between two folds (HOT_FOLD_INTERVAL_MS): 16,000 sampled frames a second per direction,
 * ~2,500 sessions at one frame in 32. Past that a sample is dropped, never folded on the frame path: the
 * histogram is a sample already, and a fold there would stall every session (see createMetrics).
 */
export const MAX_PENDING_SAMPLES = 4096;
const UP = 'client_to_upstream';
const DOWN = 'upstream_to_client';

/**
 * HOT PATH (relay event loop): prom-client hashes the label object on every inc() and observe(), even on a
 * bound child (~100 ns a call: a fifth of the relay's own per-frame work, bench/frame-path.ts). The bridge adds
 * to plain numbers here instead; a scrape folds them in first (prom-client calls `collect` before it reads a
 * metric; whichever of the three is read first folds all three).
 */
export class HotCounters {
  private upMessages = 0;
  private upBytes = 0;
  private downMessages = 0;
  private downBytes = 0;
  private readonly upSamples = new Float64Array(MAX_PENDING_SAMPLES);
  private readonly downSamples = new Float64Array(MAX_PENDING_SAMPLES);
  private upN = 0;
  private downN = 0;
  private target: { messages: Counter<'direction'>; bytes: Counter<'direction'>; relayLatency: Histogram<'direction'> } | null = null;

  attach(target: NonNullable<HotCounters['target']>): void {
    this.target = target;
  }

  countUp(bytes: number): void {
    this.upMessages++;
    this.upBytes += bytes;
  }

  countDown(bytes: number): void {
    this.downMessages++;
    this.downBytes += bytes;
  }

  /** One sampled relay latency, in milliseconds (HOT PATH: a store, never a fold; dropped when the buffer is full). */
  observeUp(ms: number): void {
    if (this.upN < MAX_PENDING_SAMPLES) this.upSamples[this.upN++] = ms;
  }

  observeDown(ms: number): void {
    if (this.downN < MAX_PENDING_SAMPLES) this.downSamples[this.downN++] = ms;
  }

  /** Moves everything pending into the Prometheus metrics. */
  fold(): void {
    const m = this.target;
    if (!m) return;
    if (this.upMessages > 0) m.messages.inc({ direction: UP }, this.upMessages);
    if (this.downMessages > 0) m.messages.inc({ direction: DOWN }, this.downMessages);
    if (this.upBytes > 0) m.bytes.inc({ direction: UP }, this.upBytes);
    if (this.downBytes > 0) m.bytes.inc({ direction: DOWN }, this.downBytes);
    this.upMessages = this.upBytes = this.downMessages = this.downBytes = 0;
    for (let i = 0; i < this.upN; i++) m.relayLatency.observe({ direction: UP }, this.upSamples[i]! / 1000);
    for (let i = 0; i < this.downN; i++) m.relayLatency.observe({ direction: DOWN }, this.downSamples[i]! / 1000);
    this.upN = this.downN = 0;
  }
}

export type Metrics = ReturnType<typeof createMetrics>;
