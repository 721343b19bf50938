// Now: the live sessions (who, since when, minutes so far, which relay), refreshed every 3 s, each with "End this session".
import { createResource, createSignal, For, onCleanup, Show, type JSX } from 'solid-js';
import type { LiveSession } from '../../../../protocol/admin-api.ts';
import { api } from '../api.ts';
import { messageOf, minutes, Notice, when } from './shared.tsx';

export function NowPage(): JSX.Element {
  const [sessions, { refetch }] = createResource(() => api.get<LiveSession[]>('sessions'));
  const [error, setError] = createSignal('');
  const [ok, setOk] = createSignal('');
  const timer = setInterval(() => void refetch(), 3000);
  onCleanup(() => clearInterval(timer));

  const end = async (s: LiveSession) => {
    setError('');
    try {
      await api.delete(`sessions/${s.sessionId}`);
      setOk(`Ended ${s.user}'s conversation.`);
      await refetch();
    } catch (err) {
      setError(messageOf(err));
    }
  };

  return (
    <section aria-labelledby="now-title">
      <h1 id="now-title">Now</h1>
      <Notice error={error()} ok={ok()} />
      <p class="muted" aria-live="polite">
        {sessions.latest?.length ?? 0} conversation{sessions.latest?.length === 1 ? '' : 's'} live.
      </p>
      <Show when={(sessions.latest?.length ?? 0) > 0} fallback={<p class="empty">Nobody is talking right now.</p>}>
        <div class="table-wrap" tabindex="0" role="region" aria-label="Live sessions">
          <table class="stack">
            <thead>
              <tr>
                <th scope="col">Person</th>
                <th scope="col">Since</th>
                <th scope="col">Minutes so far</th>
                <th scope="col">Relay</th>
                <th scope="col">Link</th>
                <th scope="col">
                  <span class="sr-only">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              <For each={sessions.latest}>
                {(s) => (
                  <tr data-session={s.sessionId}>
                    <th scope="row">{s.user}</th>
                    <td data-label="Since">{when(s.startedAt)}</td>
                    <td data-label="Minutes so far">{minutes(s.connectedMinutes)}</td>
                    <td data-label="Relay">{s.relay}</td>
                    <td data-label="Link">{s.link === 'v2' ? 'app (Opus)' : 'Realtime'}</td>
                    <td class="row-actions">
<div>
                      <button type="button" class="danger" aria-label={`End ${s.user}'s session`} onClick={() => void end(s)}>
                        End this session
                      </button>
</div>
                    </td>
                  </tr>
                )}
              </For>
            </tbody>
          </table>
        </div>
      </Show>
    </section>
  );
}
