// People: add, change limits, switch off/on, delete (with an on-page confirmation, no browser dialog).
import { createResource, createSignal, For, Show, type JSX } from 'solid-js';
import type { AdminMe, Person } from '../../../../protocol/admin-api.ts';
import { api } from '../api.ts';
import { PersonForm } from './PersonForm.tsx';
import { limit, messageOf, Notice } from './shared.tsx';

export function PeoplePage(props: { me: AdminMe }): JSX.Element {
  const [people, { refetch }] = createResource(() => api.get<Person[]>('people'));
  const [error, setError] = createSignal('');
  const [ok, setOk] = createSignal('');
  const [editing, setEditing] = createSignal<string | null>(null);
  const [deleting, setDeleting] = createSignal<string | null>(null);

  const act = async (what: () => Promise<unknown>, done: string) => {
    setError('');
    setOk('');
    try {
      await what();
      setOk(done);
      await refetch();
    } catch (err) {
      setError(messageOf(err));
    }
  };

  return (
    <section aria-labelledby="people-title">
      <h1 id="people-title">People</h1>
      <Notice error={error()} ok={ok()} />
      <details class="card" open={people()?.length === 0 || undefined}>
        <summary>Add a person</summary>
        <PersonForm voices={props.me.voices} submitLabel="Add person" onSubmit={(id, patch) => act(() => api.post('people', { id, ...patch }), `Added ${id}.`)} />
      </details>
      <div class="table-wrap" tabindex="0" role="region" aria-label="People">
        <table class="stack">
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">State</th>
              <th scope="col">Live</th>
              <th scope="col">At once</th>
              <th scope="col">Minutes day / month</th>
              <th scope="col">Tokens day / month</th>
              <th scope="col">Voice</th>
              <th scope="col">
                <span class="sr-only">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            <For each={people()}>
              {(p) => (
                <>
                  <tr data-person={p.id}>
                    <th scope="row">
                      {p.id}
                      <Show when={p.admin}>
                        <span class="badge">operator</span>
                      </Show>
                    </th>
                    <td data-label="State">
                      <span class={p.enabled ? 'state on' : 'state off'}>{p.enabled ? 'on' : 'switched off'}</span>
                    </td>
                    <td data-label="Live">{p.liveSessions}</td>
                    <td data-label="At once">{p.maxSessions}</td>
                    <td data-label="Minutes day / month">
                      {limit(p.dailyMinutes)} / {limit(p.monthlyMinutes)}
                    </td>
                    <td data-label="Tokens day / month">
                      {limit(p.dailyTokens)} / {limit(p.monthlyTokens)}
                    </td>
                    <td data-label="Voice">{p.voice || 'default'}</td>
                    <td class="row-actions">
<div>
                      <button type="button" aria-label={`Edit ${p.id}`} aria-expanded={editing() === p.id} onClick={() => setEditing(editing() === p.id ? null : p.id)}>
                        Edit
                      </button>
                      <button
                        type="button"
                        aria-label={`${p.enabled ? 'Switch off' : 'Switch on'} ${p.id}`}
                        onClick={() => void act(() => api.patch(`people/${encodeURIComponent(p.id)}`, { enabled: !p.enabled }), `${p.id} is ${p.enabled ? 'switched off' : 'on again'}.`)}
                      >
                        {p.enabled ? 'Switch off' : 'Switch on'}
                      </button>
                      <button type="button" class="danger" aria-label={`Delete ${p.id}`} onClick={() => setDeleting(p.id)}>
                        Delete
                      </button>
</div>
                    </td>
                  </tr>
                  <Show when={deleting() === p.id}>
                    <tr class="confirm">
                      <td colspan="8">
                        <span>Delete {p.id}, their links and live conversations? This cannot be undone.</span>
                        <button
                          type="button"
                          class="danger"
                          onClick={() =>
                            void act(async () => {
                              await api.delete(`people/${encodeURIComponent(p.id)}`);
                              setDeleting(null);
                            }, `Deleted ${p.id}.`)
                          }
                        >
                          Delete {p.id}
                        </button>
                        <button type="button" onClick={() => setDeleting(null)}>
                          Keep
                        </button>
                      </td>
                    </tr>
                  </Show>
                  <Show when={editing() === p.id}>
                    <tr class="editing">
                      <td colspan="8">
                        <PersonForm
                          person={p}
                          voices={props.me.voices}
                          submitLabel={`Save ${p.id}`}
                          onCancel={() => setEditing(null)}
                          onSubmit={(id, patch) =>
                            act(async () => {
                              await api.patch(`people/${encodeURIComponent(id)}`, patch);
                              setEditing(null);
                            }, `Saved ${id}: live conversations follow the new limits now.`)
                          }
                        />
                      </td>
                    </tr>
                  </Show>
                </>
              )}
            </For>
          </tbody>
        </table>
      </div>
    </section>
  );
}
