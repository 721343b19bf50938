// Usage: spoken minutes and tokens per person per day (charts and the same numbers in a table), CSV export,
// and the month's estimated provider cost from prices the operator sets (kept on the server).
import { createMemo, createResource, createSignal, For, Show, type JSX } from 'solid-js';
import type { Prices, UsageAnswer } from '../../../../protocol/admin-api.ts';
import { api } from '../api.ts';
import { chartColumns, dayRange, estimatedCost, totalsByPerson, usageCsv } from '../usage-math.ts';
import { messageOf, minutes, Notice } from './shared.tsx';
import { UsageChart } from './UsageChart.tsx';

const today = () => new Date().toISOString().slice(0, 10);

export function UsagePage(): JSX.Element {
  const [range, setRange] = createSignal({ since: `${today().slice(0, 8)}01`, until: today() });
  const [usage, { refetch }] = createResource(range, (r) => api.get<UsageAnswer>(`usage?since=${r.since}&until=${r.until}`));
  const [error, setError] = createSignal('');
  const [ok, setOk] = createSignal('');

  const users = createMemo(() => [...new Set((usage.latest?.days ?? []).map((d) => d.user))].sort());
  const days = createMemo(() => (usage.latest ? dayRange(usage.latest.since, usage.latest.until) : []));
  const totals = createMemo(() => (usage.latest ? totalsByPerson(usage.latest.days, usage.latest.prices) : []));
  const money = (n: number) => `${n.toFixed(2)} ${usage.latest?.prices.currency ?? ''}`;

  const exportCsv = () => {
    const u = usage.latest;
    if (!u) return;
    const url = URL.createObjectURL(new Blob([usageCsv(u.days, u.prices)], { type: 'text/csv' }));
    const a = Object.assign(document.createElement('a'), { href: url, download: `earshot-usage-${u.since}-${u.until}.csv` });
    a.click();
    setTimeout(() => URL.revokeObjectURL(url), 10_000);
  };

  let rangeForm!: HTMLFormElement;
  let priceForm!: HTMLFormElement;
  const savePrices = async (e: SubmitEvent) => {
    e.preventDefault();
    const data = new FormData(priceForm);
    const prices: Prices = { perMinute: Number(data.get('perMinute')), perMillionTokens: Number(data.get('perMillionTokens')), currency: String(data.get('currency')).toUpperCase() };
    setError('');
    try {
      await api.put('prices', prices);
      setOk('Prices saved.');
      await refetch();
    } catch (err) {
      setError(messageOf(err));
    }
  };

  return (
    <section aria-labelledby="usage-title">
      <h1 id="usage-title">Usage</h1>
      <Notice error={error()} ok={ok()} />
      <form
        ref={rangeForm}
        class="card inline-form"
        aria-label="Days shown"
        onSubmit={(e) => {
          e.preventDefault();
          const data = new FormData(rangeForm);
          setRange({ since: String(data.get('since')), until: String(data.get('until')) });
        }}
      >
        <div class="field">
          <label for="usage-since">From (UTC day)</label>
          <input id="usage-since" name="since" type="date" value={range().since} required />
        </div>
        <div class="field">
          <label for="usage-until">To</label>
          <input id="usage-until" name="until" type="date" value={range().until} required />
        </div>
        <div class="actions">
          <button type="submit">Show</button>
          <button type="button" onClick={exportCsv}>
            Export CSV
          </button>
        </div>
      </form>
      <Show when={usage.latest}>
        {(u) => (
          <>
            <div class="usage-grid">
              <div class="charts">
                <UsageChart title="Spoken minutes" unit="minutes" users={users()} columns={chartColumns(u().days, days(), users(), 'spokenMinutes')} testId="chart-minutes" />
                <UsageChart title="Tokens" unit="tokens" users={users()} columns={chartColumns(u().days, days(), users(), 'tokens')} testId="chart-tokens" />
              </div>
              <div class="card cost">
                <h2>Estimated cost, {u().since} to {u().until}</h2>
                <p class="big" data-testid="cost-total">
                  {money(totals().reduce((a, t) => a + t.cost, 0))}
                </p>
                <table>
                  <caption class="sr-only">Totals per person</caption>
                  <thead>
                    <tr>
                      <th scope="col">Person</th>
                      <th scope="col">Minutes</th>
                      <th scope="col">Tokens</th>
                      <th scope="col">Cost</th>
                    </tr>
                  </thead>
                  <tbody>
                    <For each={totals()}>
                      {(t) => (
                        <tr>
                          <th scope="row">{t.user}</th>
                          <td>{minutes(t.spokenMinutes)}</td>
                          <td>{t.tokens.toLocaleString('en')}</td>
                          <td>{money(t.cost)}</td>
                        </tr>
                      )}
                    </For>
                  </tbody>
                </table>
                <form ref={priceForm} class="prices" aria-label="Prices" onSubmit={(e) => void savePrices(e)}>
                  <div class="field">
                    <label for="price-minute">Price per minute</label>
                    <input id="price-minute" name="perMinute" type="number" min="0" step="any" value={u().prices.perMinute} required />
                  </div>
                  <div class="field">
                    <label for="price-tokens">Per million tokens</label>
                    <input id="price-tokens" name="perMillionTokens" type="number" min="0" step="any" value={u().prices.perMillionTokens} required />
                  </div>
                  <div class="field">
                    <label for="price-currency">Currency</label>
                    <input id="price-currency" name="currency" maxlength="3" pattern="[A-Za-z]{3}" value={u().prices.currency} required />
                  </div>
                  <div class="actions">
                    <button type="submit">Save prices</button>
                  </div>
                </form>
              </div>
            </div>
            <div class="table-wrap" tabindex="0" role="region" aria-label="Usage per person per day">
              <table data-testid="usage-table">
                <thead>
                  <tr>
                    <th scope="col">Day</th>
                    <th scope="col">Person</th>
                    <th scope="col">Sessions</th>
                    <th scope="col">Spoken minutes</th>
                    <th scope="col">Tokens</th>
                    <th scope="col">Estimated cost</th>
                  </tr>
                </thead>
                <tbody>
                  <For each={u().days} fallback={<tr><td colspan="6" class="empty">No usage in these days.</td></tr>}>
                    {(d) => (
                      <tr>
                        <td>{d.day}</td>
                        <th scope="row">{d.user}</th>
                        <td>{d.sessions}</td>
                        <td>{minutes(d.spokenMinutes)}</td>
                        <td>{d.tokens.toLocaleString('en')}</td>
                        <td>{money(estimatedCost(d.spokenMinutes, d.tokens, u().prices))}</td>
                      </tr>
                    )}
                  </For>
                </tbody>
              </table>
            </div>
          </>
        )}
      </Show>
    </section>
  );
}
