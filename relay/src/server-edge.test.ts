// The relay's HTTP edge on loopback with real clients: which models a client may name, whose address the
// failed-sign-in throttle counts (and that it never refuses a good token), who may read /metrics, and the
// security headers on every response. (deploy/deploy.test.ts runs the same throttle through a real nginx.)
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RELAY_ERRORS } from '../../protocol/relay-errors.ts';
import { RealtimeTestClient } from './testing/realtime-client.ts';
import { fetchMetrics, startTestRelay, tempDataDir, TEST_METRICS_TOKEN, type TestRelay } from './testing/start-relay.ts';
import { createSimulatorUpstreamFactory } from './simulator/in-process.ts';
import type { UpstreamFactory } from './upstream/upstream.ts';

type ConnectOptions = Parameters<typeof RealtimeTestClient.connect>[1];
const bearer = (token: string, headers: Record<string, string> = {}): ConnectOptions => ({ headers: { authorization: `Bearer ${token}`, ...headers } });

async function refused(url: string, options: ConnectOptions): Promise<{ status: number; body: { error: { code: string; message: string } } }> {
  try {
    const c = await RealtimeTestClient.connect(url, options);
    await c.close();
  } catch (err) {
    const e = err as { status?: number; body?: string };
    if (e.status === undefined) throw err;
    return { status: e.status, body: JSON.parse(e.body!) };
  }
  throw new Error('upgrade was accepted');
}

describe('models: only the operator’s allow-list reaches the provider', () => {
  let relay: TestRelay;
  /** The model of every upstream the relay opened, as the upstream factory was asked for it. */
  const models: string[] = [];
  beforeAll(async () => {
    const sim = createSimulatorUpstreamFactory();
    const recording: UpstreamFactory = (o, h) => {
      models.push(o.model);
      return sim(o, h);
    };
    relay = await startTestRelay({ model: 'gpt-realtime', allowedModels: ['gpt-realtime-mini'] }, { upstreamFactory: recording });
  });
  afterAll(() => relay.stop());
  const at = (query: string) => relay.wsUrl.replace(/\?.*$/, query);

  it('refuses a model off the list before the upgrade with 400 model_not_allowed, naming the allowed ones, and opens no upstream', async () => {
    const token = await relay.mint('spender');
    const before = relay.upstreamsOpened();
    for (const model of ['gpt-4o-realtime-preview', 'gpt-realtime ', 'x'.repeat(500), '']) {
      const r = await refused(at(`?model=${encodeURIComponent(model)}`), bearer(token));
      expect([r.status, r.body.error.code]).toEqual([400, 'model_not_allowed']);
      expect(r.body.error.message).toBe(`${RELAY_ERRORS.model_not_allowed.sentence} Allowed: gpt-realtime, gpt-realtime-mini.`);
    }
    expect(relay.upstreamsOpened()).toBe(before);
  });

  it('passes an allowed model, and the default when the client names none', async () => {
    const token = await relay.mint('chooser');
    for (const query of ['?model=gpt-realtime-mini', '', '?model=gpt-realtime']) {
      const c = await RealtimeTestClient.connect(at(query), bearer(token));
      await c.waitFor('session.created');
      await c.close();
    }
    expect(models.slice(-3)).toEqual(['gpt-realtime-mini', 'gpt-realtime', 'gpt-realtime']);
  });

  it('answers the same refusal from /api/session-check when it is asked about a model', async () => {
    const token = await relay.mint('checker');
    const bad = await fetch(`${relay.url}/api/session-check?model=gpt-4o-realtime-preview`, { headers: { authorization: `Bearer ${token}` } });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: { code: string } }).error.code).toBe('model_not_allowed');
    const ok = await fetch(`${relay.url}/api/session-check?model=gpt-realtime-mini`, { headers: { authorization: `Bearer ${token}` } });
    expect(ok.status).toBe(200);
  });

  it('does not tell a caller without a valid token which models exist', async () => {
    const r = await refused(at('?model=nope'), bearer('x.y.z'));
    expect([r.status, r.body.error.code]).toEqual([401, 'token_malformed']);
  });
});

describe('failed sign-ins: counted per real client, never refusing a token that verifies', () => {
  it('behind a trusted proxy, a stranger’s bad tokens lock out the stranger, not the family member with a good token', async () => {
    const relay = await startTestRelay({ trustedProxies: ['127.0.0.1', '::1'], limits: { failedAuthPerMinute: 3 } });
    const token = await relay.mint('family');
    const stranger = { 'x-forwarded-for': '198.51.100.66' };
    const family = { 'x-forwarded-for': '203.0.113.7' };
    for (let i = 0; i < 10; i++) await refused(relay.wsUrl, bearer('x.y.z', stranger));
    const blocked = await refused(relay.wsUrl, bearer('x.y.z', stranger));
    expect([blocked.status, blocked.body.error.code]).toEqual([429, 'too_many_failed_attempts']);
    // The family member: a good token goes through; even a typo is theirs alone to count (401, not 429).
    const ok = await RealtimeTestClient.connect(relay.wsUrl, bearer(token, family));
    await ok.waitFor('session.created');
    await ok.close();
    const typo = await refused(relay.wsUrl, bearer('x.y.z', family));
    expect([typo.status, typo.body.error.code]).toEqual([401, 'token_malformed']);
    const check = await fetch(`${relay.url}/api/session-check`, { headers: { authorization: `Bearer ${token}`, ...family } });
    expect(check.status).toBe(200);
    // A stranger forging the family's address on the left of the chain is still counted as the stranger.
    const forged = await refused(relay.wsUrl, bearer('x.y.z', { 'x-forwarded-for': `203.0.113.7, 198.51.100.66` }));
    expect(forged.body.error.code).toBe('too_many_failed_attempts');
    await relay.stop();
  });

  it('lets a token that verifies in from a blocked address (upgrade and session check), while bad tokens from it keep getting 429', async () => {
    // Everyone behind one address (a proxy that is not in trustedProxies, or one home network): the finding's case.
    const relay = await startTestRelay({ limits: { failedAuthPerMinute: 3 } });
    try {
      const token = await relay.mint('family');
      for (let i = 0; i < 5; i++) await refused(relay.wsUrl, bearer('x.y.z'));
      const blocked = await refused(relay.wsUrl, bearer('x.y.z'));
      expect([blocked.status, blocked.body.error.code]).toEqual([429, 'too_many_failed_attempts']);
      const check = await fetch(`${relay.url}/api/session-check`, { headers: { authorization: `Bearer ${token}` } });
      expect(check.status).toBe(200);
      const ok = await RealtimeTestClient.connect(relay.wsUrl, bearer(token));
      await ok.waitFor('session.created');
      await ok.close();
      // A good token with its signature damaged is still a failure: 429 while blocked, no hint which check failed.
      expect((await refused(relay.wsUrl, bearer(`${token.slice(0, -2)}xx`))).body.error.code).toBe('too_many_failed_attempts');
    } finally {
      await relay.stop();
    }
  });

  it('ignores X-Forwarded-For and Forwarded from a peer that is not a trusted proxy: a new forged address per try does not escape the block', async () => {
    const relay = await startTestRelay({ limits: { failedAuthPerMinute: 3 } });
    const codes: string[] = [];
    for (let i = 0; i < 5; i++) {
      const r = await refused(relay.wsUrl, bearer('x.y.z', { 'x-forwarded-for': `198.51.100.${i}`, forwarded: `for=192.0.2.${i}` }));
      codes.push(r.body.error.code);
    }
    expect(codes).toEqual(['token_malformed', 'token_malformed', 'token_malformed', 'too_many_failed_attempts', 'too_many_failed_attempts']);
    await relay.stop();
  });
});

describe('/metrics: a bearer token or a separate address, otherwise off', () => {
  it('is off (404) with neither METRICS_TOKEN nor METRICS_PORT', async () => {
    const relay = await startTestRelay({ metricsToken: undefined });
    const r = await fetch(`${relay.url}/metrics`);
    expect(r.status).toBe(404);
    expect(await r.text()).not.toContain('earshot_');
    await relay.stop();
  });

  it('asks for the bearer token with 401 and serves the numbers with it', async () => {
    const relay = await startTestRelay();
    for (const authorization of [undefined, 'Bearer wrong-token-of-some-length', `Basic ${TEST_METRICS_TOKEN}`, `Bearer ${TEST_METRICS_TOKEN}x`]) {
      const r = await fetch(`${relay.url}/metrics`, authorization ? { headers: { authorization } } : {});
      expect(r.status, authorization).toBe(401);
      expect(r.headers.get('www-authenticate')).toBe('Bearer');
      expect(((await r.json()) as { error: { code: string } }).error.code).toBe('metrics_unauthorized');
    }
    const ok = await fetchMetrics(relay.url);
    expect(ok.status).toBe(200);
    expect(await ok.text()).toContain('earshot_connections_total');
    await relay.stop();
  });

  it('listens on its own address when METRICS_PORT is set, and stays off the main port', async () => {
    const relay = await startTestRelay({ metricsToken: undefined, metricsPort: 0 });
    expect(relay.metricsPort).toBeGreaterThan(0);
    const own = await fetch(`http://127.0.0.1:${relay.metricsPort}/metrics`);
    expect(own.status).toBe(200);
    expect(await own.text()).toContain('earshot_sessions_active');
    expect((await fetch(`http://127.0.0.1:${relay.metricsPort}/`)).status).toBe(404);
    expect((await fetch(`${relay.url}/metrics`)).status).toBe(404);
    await relay.stop();
  });
});

describe('security headers', () => {
  const staticDir = tempDataDir('earshot-static-');
  mkdirSync(join(staticDir, 'assets'));
  writeFileSync(join(staticDir, 'index.html'), '<!doctype html><title>x</title>');
  writeFileSync(join(staticDir, 'assets', 'app-abc.js'), 'x');
  let relay: TestRelay;
  beforeAll(async () => {
    relay = await startTestRelay({ staticDir });
  });
  afterAll(() => relay.stop());

  it('puts CSP with frame-ancestors none, nosniff and no-referrer on every static response', async () => {
    const page = await fetch(`${relay.url}/`);
    const etag = page.headers.get('etag')!;
    const responses = [page, await fetch(`${relay.url}/assets/app-abc.js`), await fetch(`${relay.url}/settings`), await fetch(`${relay.url}/missing.png`), await fetch(`${relay.url}/`, { method: 'POST' }), await fetch(`${relay.url}/`, { headers: { 'if-none-match': etag } })];
    expect(responses.map((r) => r.status)).toEqual([200, 200, 200, 404, 405, 304]);
    for (const r of responses) {
      const csp = r.headers.get('content-security-policy') ?? '';
      expect(csp, r.url).toContain("frame-ancestors 'none'");
      expect(csp).toContain("script-src 'self' 'wasm-unsafe-eval'"); // WebAssembly compilation only (libopus)
      expect(csp).not.toContain("'unsafe-eval'");
      expect(csp).not.toContain("'unsafe-inline'");
      expect(r.headers.get('x-content-type-options')).toBe('nosniff');
      expect(r.headers.get('referrer-policy')).toBe('no-referrer');
      expect(r.headers.get('x-frame-options')).toBe('DENY');
    }
  });

  it('answers the JSON API with no-store, nosniff, no-referrer and a CSP that allows nothing', async () => {
    const token = await relay.mint('headers');
    const responses = [
      await fetch(`${relay.url}/healthz`),
      await fetch(`${relay.url}/api/session-check`, { headers: { authorization: `Bearer ${token}` } }),
      await fetch(`${relay.url}/api/session-check`),
      await fetch(`${relay.url}/v1/realtime`),
      await fetchMetrics(relay.url),
    ];
    expect(responses.map((r) => r.status)).toEqual([200, 200, 401, 426, 200]);
    for (const r of responses) {
      expect(r.headers.get('content-security-policy'), r.url).toBe("default-src 'none'; frame-ancestors 'none'");
      expect(r.headers.get('cache-control')).toBe('no-store');
      expect(r.headers.get('x-content-type-options')).toBe('nosniff');
      expect(r.headers.get('referrer-policy')).toBe('no-referrer');
    }
  });
});

describe('a bug while answering one request', () => {
  it('answers the session check and the upgrade with 500 internal_error, and the relay goes on', async () => {
    // A quota check with a bug (not a StoreError, which the authenticator answers with 503 store_unavailable).
    let broken = true;
    const relay = await startTestRelay({}, {
      quotaExceeded: () => {
        if (broken) throw new TypeError('bug in a quota check');
        return false;
      },
    });
    try {
      const token = await relay.mint('unlucky');
      const check = await fetch(`${relay.url}/api/session-check`, { headers: { authorization: `Bearer ${token}` } });
      expect([check.status, ((await check.json()) as { error: { code: string } }).error.code]).toEqual([500, 'internal_error']);
      const upgrade = await refused(relay.wsUrl, bearer(token));
      expect([upgrade.status, upgrade.body.error.code]).toEqual([500, 'internal_error']);
      broken = false;
      expect((await fetch(`${relay.url}/healthz`)).status).toBe(200);
      const c = await RealtimeTestClient.connect(relay.wsUrl, bearer(token));
      await c.waitFor('session.created');
      await c.close();
    } finally {
      await relay.stop();
    }
  });
});
