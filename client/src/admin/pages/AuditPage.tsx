// Audit: every console action, newest first (who, what, when, from where). Read-only by design.
import { createResource, For, type JSX } from 'solid-js';
import type { AdminAction, AuditEntry } from '../../../../protocol/admin-api.ts';
import { api } from '../api.ts';
import { when } from './shared.tsx';

const ACTION_WORDS: Record<AdminAction, string> = {
  sign_in: 'signed in',
  sign_out: 'signed out',
  person_add: 'added a person',
  person_update: 'changed limits',
  person_enable: 'switched on',
  person_disable: 'switched off',
  person_delete: 'deleted a person',
  link_create: 'made a link',
  link_expire: 'expired a link',
  link_revoke: 'revoked a link',
  session_end: 'ended a session',
  prices_set: 'set prices',
};

export function AuditPage(): JSX.Element {
  const [entries] = createResource(() => api.get<AuditEntry[]>('audit'));
  return (
    <section aria-labelledby="audit-title">
      <h1 id="audit-title">Audit</h1>
      <div class="table-wrap" tabindex="0" role="region" aria-label="Audit log">
        <table>
          <thead>
            <tr>
              <th scope="col">When</th>
              <th scope="col">Who</th>
              <th scope="col">What</th>
              <th scope="col">Whom</th>
              <th scope="col">Detail</th>
              <th scope="col">From</th>
            </tr>
          </thead>
          <tbody>
            <For each={entries()}>
              {(e) => (
                <tr>
                  <td>{when(e.t)}</td>
                  <th scope="row">{e.admin}</th>
                  <td>{ACTION_WORDS[e.action] ?? e.action}</td>
                  <td>{e.target}</td>
                  <td class="detail">{e.detail ?? ''}</td>
                  <td>{e.address}</td>
                </tr>
              )}
            </For>
          </tbody>
        </table>
      </div>
    </section>
  );
}
