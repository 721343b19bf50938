// The database going away under a running relay (a real relay on loopback, accounting wired as in main.ts, real
// `ws` clients): live sessions go on, a new session of a user WITH a quota is refused with 503
// `store_unavailable` (its quota cannot be checked: fail closed), a user without quotas still gets in (the token
// is checked against the relay's last copy of users and tokens). The store's connection is closed to make it
// unreachable — what a PostgreSQL server going down or an SQLite file that can no longer be opened look like.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rmSync } from 'node:fs';
import pino from 'pino';
import { createAccounting, type Accounting } from '../accounts/accounting.ts';
import { RealtimeTestClient } from '../testing/realtime-client.ts';
import { bearer } from '../testing/operator-cli.ts';
import { startTestRelay, tempDataDir, type TestRelay } from '../testing/start-relay.ts';

const dataDir = tempDataDir('earshot-store-failure-');
let relay: TestRelay;
let acc: Accounting;

beforeAll(async () => {
  acc = await createAccounting({ log: pino({ level: 'silent' }), flushIntervalMs: 100 });
  relay = await startTestRelay({ dataDir }, { hooksFactory: acc.hooksFactory, quotaExceeded: (u, user) => acc.quotaExceeded(u, user) });
  acc.attach({ store: relay.store, metrics: relay.metrics });
});
afterAll(async () => {
  await acc.close();
  await relay.stop();
  rmSync(dataDir, { recursive: true, force: true });
});

async function refusal(token: string): Promise<{ status: number; code: string; message: string } | null> {
  try {
    const c = await RealtimeTestClient.connect(relay.wsUrl, bearer(token));
    await c.close();
    return null;
  } catch (err) {
    const e = err as { status: number; body: string };
    const body = JSON.parse(e.body) as { error: { code: string; message: string } };
    return { status: e.status, ...body.error };
  }
}

describe('a relay whose database becomes unreachable', () => {
  it('keeps live sessions, refuses new sessions it cannot quota-check with 503 store_unavailable, and admits users without quotas', async () => {
    const quotaToken = await relay.mint('quota', { user: { dailyMinutes: 10 } });
    const freeToken = await relay.mint('free');
    const live = await RealtimeTestClient.connect(relay.wsUrl, bearer(freeToken));
    await live.waitFor('session.updated');

    await relay.store.close();

    expect(await refusal(quotaToken)).toEqual({ status: 503, code: 'store_unavailable', message: expect.stringMatching(/cannot check your allowance/) });
    expect(relay.upstreamsOpened()).toBe(1);
    // The live session still talks to the provider.
    const from = live.types().length;
    live.send({ type: 'session.update', session: { type: 'realtime', instructions: 'still here?' } });
    await live.waitFor('session.updated', { from });
    // A user without quotas needs no stored totals: admitted on the relay's copy of users and tokens.
    const free2 = await RealtimeTestClient.connect(relay.wsUrl, bearer(freeToken));
    await free2.waitFor('session.updated');
    await free2.close();
    await live.close();
  });
});
