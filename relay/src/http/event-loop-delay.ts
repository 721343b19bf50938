// Event-loop delay of the relay's own thread, for /metrics (always on). A timer asks to run every `sampleMs`;
// how late it actually runs is how long something synchronous held the loop (a database commit, a log write,
// a burst of frames, a GC pause). Every frame a session relays waits behind such a block, so this is the
// relay's contribution to the p99 tail that bench:relay measures from outside.
//
// Why our own timer and not only prom-client's `nodejs_eventloop_lag_*` gauges (also on /metrics): those are
// percentiles of perf_hooks' histogram that each scrape RESETS, so two scrapers (Prometheus and an operator's
// curl) steal each other's window and a block between scrapes has no count. A Prometheus histogram is
// cumulative: any scraper takes rate() over its own window, and `_count - _bucket{le="0.005"}` is how many
// times the loop was held 5 ms or more. Cost: one timer callback per `sampleMs` (100 a second at 10 ms).
//
// THREAD: the relay's event loop (the one it measures). The timer is unref'd: it never keeps the process alive.

/** How often the loop is sampled: short enough to see a 2 ms block, long enough to cost nothing. */
export const EVENT_LOOP_SAMPLE_MS = 10;
/** Histogram buckets, seconds: 1 ms is below the timer's own granularity; 1 s is a stalled relay. */
export const EVENT_LOOP_DELAY_BUCKETS = [0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 1];

export interface EventLoopDelayOptions {
  /** Receives each sample's delay in seconds (a prom-client Histogram's observe). */
  observe: (seconds: number) => void;
  sampleMs?: number;
  /** Monotonic milliseconds (performance.now in the relay; a fake clock in tests). */
  now?: () => number;
}

export interface EventLoopDelayMonitor {
  stop(): void;
}

export function startEventLoopDelay(options: EventLoopDelayOptions): EventLoopDelayMonitor {
  const sampleMs = options.sampleMs ?? EVENT_LOOP_SAMPLE_MS;
  const now = options.now ?? (() => performance.now());
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  const arm = (): void => {
    const due = now() + sampleMs;
    timer = setTimeout(() => {
      // A timer never runs early; Node rounds to whole milliseconds, so sub-millisecond lateness lands in the
      // first bucket and means nothing.
      options.observe(Math.max(0, now() - due) / 1000);
      if (!stopped) arm();
    }, sampleMs);
    timer.unref();
  };
  arm();
  return {
    stop() {
      stopped = true;
      clearTimeout(timer);
    },
  };
}
