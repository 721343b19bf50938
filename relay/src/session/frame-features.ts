// The per-frame steps of a relay session (bridge.ts), each of which a BENCHMARK build may switch off to price it
// (issue 17: bench/frame-path.ts in process, bench/relay.ts on a relay process). Read once at startup from
// EARSHOT_BENCH_OFF (comma-separated names); the bridge then tests a boolean per step, never a string. A relay
// without the variable runs every step; switching one off is unsafe (it drops a limit or a check) and is logged
// as a warning at startup.

export const FRAME_FEATURE_NAMES = [
  /** limits.maxFrameBytes on every client frame. */
  'size',
  /** limits.maxMessagesPerSecond: the one-second window. */
  'rate',
  /** The append proof (policy/append-scan.ts): off, every client frame counts as a plain append. */
  'type',
  /** The operator's allowed event types on the fast path (the slow path's policy never sees an append). */
  'policy',
  /** Prometheus message and byte counters, both directions. */
  'metrics',
  /** The usage meter (accounts/meter.ts) and quota hooks. */
  'meter',
  /** The upstream and client buffer checks after each frame. */
  'backpressure',
  /** The relay latency histogram's sample (one frame in bridge.ts LATENCY_SAMPLE_EVERY). */
  'latency',
] as const;

export type FrameFeatureName = (typeof FRAME_FEATURE_NAMES)[number];
export type FrameFeatures = Readonly<Record<FrameFeatureName, boolean>>;

export const ALL_FRAME_FEATURES: FrameFeatures = Object.freeze(Object.fromEntries(FRAME_FEATURE_NAMES.map((f) => [f, true])) as Record<FrameFeatureName, boolean>);

/** From EARSHOT_BENCH_OFF: unknown names are an error (a typo would silently measure the wrong build). */
export function frameFeaturesFromEnv(value: string | undefined): FrameFeatures {
  if (!value) return ALL_FRAME_FEATURES;
  const off = value.split(',').map((s) => s.trim()).filter(Boolean);
  const features: Record<FrameFeatureName, boolean> = { ...ALL_FRAME_FEATURES };
  for (const name of off) {
    if (!(FRAME_FEATURE_NAMES as readonly string[]).includes(name)) throw new Error(`EARSHOT_BENCH_OFF: unknown feature '${name}' (known: ${FRAME_FEATURE_NAMES.join(', ')})`);
    features[name as FrameFeatureName] = false;
  }
  return Object.freeze(features);
}
