// Health: version, backend, store, uptime and the key metrics, refreshed every 5 s.
import { createResource, onCleanup, Show, type JSX } from 'solid-js';
import type { Health } from '../../../../protocol/admin-api.ts';
import { api } from '../api.ts';

const duration = (s: number): string => {
  const d = Math.floor(s / 86400);
  const h = Math.floor((s % 86400) / 3600);
  const m = Math.floor((s % 3600) / 60);
  return d > 0 ? `${d} d ${h} h` : h > 0 ? `${h} h ${m} min` : `${m} min ${s % 60} s`;
};

export function HealthPage(): JSX.Element {
  const [health, { refetch }] = createResource(() => api.get<Health>('health'));
  const timer = setInterval(() => void refetch(), 5000);
  onCleanup(() => clearInterval(timer));
  return (
    <section aria-labelledby="health-title">
      <h1 id="health-title">Health</h1>
      <Show when={health.latest}>
        {(h) => (
          <div class="tiles">
            <dl class="card facts">
              <dt>Version</dt>
              <dd data-testid="health-version">{h().version}</dd>
              <dt>Backend</dt>
              <dd data-testid="health-backend">{h().backend === 'simulator' ? 'Simulator (built in, no API key)' : 'Provider'}</dd>
              <dt>Upstream</dt>
              <dd>{h().upstream}</dd>
              <dt>Store</dt>
              <dd>{h().store}</dd>
              <dt>Relay</dt>
              <dd>{h().relay}</dd>
              <dt>Up for</dt>
              <dd>{duration(h().uptimeSeconds)}</dd>
            </dl>
            <dl class="card facts">
              <dt>Live sessions</dt>
              <dd class="big">{h().metrics.sessionsActive}</dd>
              <dt>Sessions since start</dt>
              <dd>{h().metrics.connectionsTotal}</dd>
              <dt>Refused sign-ins</dt>
              <dd>{h().metrics.authFailuresTotal}</dd>
              <dt>Refused events</dt>
              <dd>{h().metrics.rejectedEventsTotal}</dd>
              <dt>Provider errors</dt>
              <dd>{h().metrics.upstreamErrorsTotal}</dd>
              <dt>Memory (RSS)</dt>
              <dd>{(h().metrics.rssBytes / 1048576).toFixed(0)} MiB</dd>
            </dl>
          </div>
        )}
      </Show>
    </section>
  );
}
