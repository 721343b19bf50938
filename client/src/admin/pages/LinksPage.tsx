// Links: make an onboarding link for a person and show it as a large QR code to scan with their phone (the
// link's only showing: the relay keeps no copy of the token); list links, expire or revoke them.
import QRCode from 'qrcode';
import { createEffect, createResource, createSignal, For, Show, type JSX } from 'solid-js';
import type { CreatedLink, Link, Person } from '../../../../protocol/admin-api.ts';
import { api } from '../api.ts';
import { messageOf, Notice, when } from './shared.tsx';

export function LinksPage(): JSX.Element {
  const [links, { refetch }] = createResource(() => api.get<Link[]>('links'));
  const [people] = createResource(() => api.get<Person[]>('people'));
  const [created, setCreated] = createSignal<CreatedLink | null>(null);
  const [error, setError] = createSignal('');
  const [ok, setOk] = createSignal('');
  const [copied, setCopied] = createSignal(false);
  let canvas: HTMLCanvasElement | undefined;
  let form!: HTMLFormElement;

  createEffect(() => {
    const link = created();
    if (!link || !canvas) return;
    // Error correction M and a 4-module quiet zone: scans from a laptop screen at arm's length.
    void QRCode.toCanvas(canvas, link.url, { errorCorrectionLevel: 'M', margin: 4, width: 360, color: { dark: '#000000', light: '#ffffff' } });
  });

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

  const create = (e: SubmitEvent) => {
    e.preventDefault();
    const data = new FormData(form);
    const user = String(data.get('user') ?? '');
    void act(async () => {
      setCopied(false);
      setCreated(await api.post<CreatedLink>('links', { user, days: Number(data.get('days') ?? 30) }));
    }, `Link made for ${user}. Scan the code with their phone, then press Done.`);
  };

  return (
    <section aria-labelledby="links-title">
      <h1 id="links-title">Links</h1>
      <Notice error={error()} ok={ok()} />
      <form ref={form} class="card inline-form" onSubmit={create} aria-label="Make an onboarding link">
        <div class="field">
          <label for="link-user">Person</label>
          <select id="link-user" name="user" required>
            <For each={(people() ?? []).filter((p) => p.enabled)}>{(p) => <option value={p.id}>{p.id}</option>}</For>
          </select>
        </div>
        <div class="field">
          <label for="link-days">Valid for (days)</label>
          <input id="link-days" name="days" type="number" min="1" max="3650" value="30" required />
        </div>
        <div class="actions">
          <button type="submit" class="primary">
            Make link
          </button>
        </div>
      </form>
      <Show when={created()}>
        {(link) => (
          <div class="card qr-card" role="group" aria-label={`Onboarding link for ${link().user}`}>
            <h2>Scan with {link().user}'s phone</h2>
            <canvas ref={canvas} class="qr" data-testid="link-qr" role="img" aria-label={`QR code of the onboarding link for ${link().user}`} />
            <p class="link-text">
              <label for="link-url">Or send this link (it is shown only now):</label>
              <input id="link-url" readonly value={link().url} onFocus={(e) => e.currentTarget.select()} />
            </p>
            <div class="actions">
              <button type="button" onClick={() => void navigator.clipboard?.writeText(link().url).then(() => setCopied(true))}>
                {copied() ? 'Copied' : 'Copy link'}
              </button>
              <button type="button" class="primary" onClick={() => setCreated(null)}>
                Done
              </button>
            </div>
            <p class="muted">Expires {when(link().expiresAt)}.</p>
          </div>
        )}
      </Show>
      <div class="table-wrap" tabindex="0" role="region" aria-label="Links">
        <table class="stack">
          <thead>
            <tr>
              <th scope="col">Person</th>
              <th scope="col">Made</th>
              <th scope="col">Expires</th>
              <th scope="col">State</th>
              <th scope="col">
                <span class="sr-only">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            <For each={links()}>
              {(l) => (
                <tr data-link={l.tokenId}>
                  <th scope="row">{l.user}</th>
                  <td data-label="Made">{when(Date.parse(l.createdAt))}</td>
                  <td data-label="Expires">{when(l.expiresAt)}</td>
                  <td data-label="State">
                    <span class={`state ${l.state === 'active' ? 'on' : 'off'}`}>{l.state}</span>
                  </td>
                  <td class="row-actions">
<div>
                    <Show when={l.state === 'active'}>
                      <button type="button" aria-label={`Expire ${l.user}'s link made ${when(Date.parse(l.createdAt))}`} onClick={() => void act(() => api.post(`links/${l.tokenId}/expire`), `Expired ${l.user}'s link.`)}>
                        Expire now
                      </button>
                      <button
                        type="button"
                        class="danger"
                        aria-label={`Revoke ${l.user}'s link made ${when(Date.parse(l.createdAt))}`}
                        onClick={() => void act(() => api.post(`links/${l.tokenId}/revoke`), `Revoked ${l.user}'s link: its conversations ended.`)}
                      >
                        Revoke
                      </button>
                    </Show>
</div>
                  </td>
                </tr>
              )}
            </For>
          </tbody>
        </table>
      </div>
    </section>
  );
}
