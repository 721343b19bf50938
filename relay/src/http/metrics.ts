// Prometheus metrics on a registry of their own (not prom-client's global), so every relay — including the
// several a test file may start — counts only itself.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export function createMetrics(options: { perUser?: boolean; defaults?: boolean } = {}) {
  const registry = new Registry();
  if (options.defaults) collectDefaultMetrics({ register: registry, prefix: 'earshot_' });
  const metrics = {
    registry,
    perUser: options.perUser ?? false,
    connections: new Counter({ name: 'earshot_connections_total', help: 'WebSocket sessions accepted', registers: [registry] }),
    sessionsActive: new Gauge({ name: 'earshot_sessions_active', help: 'Sessions open now', registers: [registry] }),
    messages: new Counter({ name: 'earshot_messages_total', help: 'Frames relayed', labelNames: ['direction'] as const, registers: [registry] }),
    bytes: new Counter({ name: 'earshot_bytes_total', help: 'Bytes relayed', labelNames: ['direction'] as const, registers: [registry] }),
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
    }),
    userSeconds: new Counter({ name: 'earshot_user_audio_seconds_total', help: 'Audio seconds per user (PER_USER_METRICS only)', labelNames: ['user', 'direction'] as const, registers: [registry] }),
    render: () => registry.metrics(),
  };
  // Label lookups hash the label object on every call; the per-frame path uses children bound once.
  const hot = {
    up: { messages: metrics.messages.labels('client_to_upstream'), bytes: metrics.bytes.labels('client_to_upstream'), latency: metrics.relayLatency.labels('client_to_upstream') },
    down: { messages: metrics.messages.labels('upstream_to_client'), bytes: metrics.bytes.labels('upstream_to_client'), latency: metrics.relayLatency.labels('upstream_to_client') },
  };
  return { ...metrics, hot };
}

export type Metrics = ReturnType<typeof createMetrics>;
