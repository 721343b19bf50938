// Who may read /metrics. The numbers say who talks when and how much (per user with PER_USER_METRICS), so they
// are not public: either the operator sets METRICS_TOKEN and Prometheus sends `Authorization: Bearer <token>`,
// or the metrics listen on their own address (METRICS_PORT, on METRICS_HOST = 127.0.0.1 by default) that the
// proxy never forwards — or both. With neither, /metrics is off (404). "Loopback only" on the main port was
// rejected: behind a proxy on the same host every request arrives from loopback.
import { createHash, timingSafeEqual } from 'node:crypto';

export type MetricsAccess = { kind: 'off' } | { kind: 'open' } | { kind: 'bearer'; digest: Buffer };

const digest = (s: string): Buffer => createHash('sha256').update(s).digest();

/** The rule for one listener: the main port serves metrics only with a token; the metrics port always does. */
export function metricsAccess(token: string | undefined, listener: 'main' | 'metrics'): MetricsAccess {
  if (token) return { kind: 'bearer', digest: digest(token) };
  return listener === 'metrics' ? { kind: 'open' } : { kind: 'off' };
}

/** 'ok', or why not: 'off' (answer 404) or 'unauthorized' (401). Compares digests in constant time. */
export function checkMetricsAccess(access: MetricsAccess, authorization: string): 'ok' | 'off' | 'unauthorized' {
  switch (access.kind) {
    case 'off':
      return 'off';
    case 'open':
      return 'ok';
    case 'bearer': {
      const m = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(authorization);
      return m && timingSafeEqual(digest(m[1]!), access.digest) ? 'ok' : 'unauthorized';
    }
  }
}
