// The operator console's API against the real relay on loopback: every refusal a security reviewer asks about,
// then what an operator does (people, links, sessions, usage, audit), judged by what real clients see.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_COOKIE, CSRF_HEADER, type AdminMe, type AuditEntry, type CreatedLink, type Health, type Link, type LiveSession, type Person, type UsageAnswer } from '../../../protocol/admin-api.ts';
import { RealtimeTestClient } from '../testing/realtime-client.ts';
import { startTestRelay, type TestRelay } from '../testing/start-relay.ts';
import { until } from '../testing/until.ts';
import { AdminState } from './admin-state.ts';
import { AUDIT_FILE } from './audit-log.ts';

let relay: TestRelay;
let origin: string;

beforeAll(async () => {
  relay = await startTestRelay();
  origin = relay.url;
  await relay.store.upsertUser({ id: 'boss' });
});
afterAll(async () => {
  await relay?.stop();
});

/** A fresh one-time link, as `earshot admin link` makes it (another AdminState on the same file, as the CLI's process). */
function mintLink(user = 'boss', now?: () => number): string {
  return new AdminState(relay.config.dataDir, now).mintLink(user).secret;
}

async function signIn(link = mintLink()): Promise<{ cookie: string; csrf: string; setCookie: string }> {
  const res = await fetch(`${relay.url}/admin/api/session`, { method: 'POST', headers: { origin, 'content-type': 'application/json' }, body: JSON.stringify({ link }) });
  expect(res.status, await res.clone().text()).toBe(200);
  const setCookie = res.headers.get('set-cookie') ?? '';
  const value = /^earshot_admin=([^;]+)/.exec(setCookie)?.[1] ?? '';
  const me = (await res.json()) as AdminMe;
  return { cookie: `${ADMIN_COOKIE}=${value}`, csrf: me.csrf, setCookie };
}

async function api(path: string, init: { method?: string; cookie?: string; csrf?: string; origin?: string | null; body?: unknown; headers?: Record<string, string> } = {}): Promise<{ status: number; json: any }> {
  const headers: Record<string, string> = { ...init.headers };
  if (init.cookie) headers.cookie = init.cookie;
  if (init.csrf) headers[CSRF_HEADER] = init.csrf;
  if (init.origin !== null) headers.origin = init.origin ?? origin;
  if (init.body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(`${relay.url}/admin/api/${path}`, { method: init.method ?? 'GET', headers, ...(init.body !== undefined ? { body: typeof init.body === 'string' ? init.body : JSON.stringify(init.body) } : {}) });
  const text = await res.text();
  return { status: res.status, json: text ? JSON.parse(text) : null };
}

describe('admin API refusals', () => {
  it('refuses a request without the console cookie (401 admin_sign_in_required)', async () => {
    const r = await api('people');
    expect(r).toMatchObject({ status: 401, json: { error: { code: 'admin_sign_in_required' } } });
  });

  it("refuses a person's token, even one that works on the phone routes (403 admin_user_token_refused)", async () => {
    const token = await relay.mint('alice');
    expect((await fetch(`${relay.url}/api/session-check`, { headers: { authorization: `Bearer ${token}` } })).status).toBe(200);
    const r = await api('people', { headers: { authorization: `Bearer ${token}` } });
    expect(r).toMatchObject({ status: 403, json: { error: { code: 'admin_user_token_refused' } } });
    // …and beside a valid console cookie too: a bearer is never mixed into a console request.
    const { cookie } = await signIn();
    expect((await api('people', { cookie, headers: { authorization: `Bearer ${token}` } })).json.error.code).toBe('admin_user_token_refused');
  });

  it('exchanges a link once for an HttpOnly, Secure, SameSite=Strict cookie with an expiry, scoped to /admin', async () => {
    const link = mintLink();
    const { setCookie, cookie, csrf } = await signIn(link);
    for (const attr of ['HttpOnly', 'Secure', 'SameSite=Strict', 'Path=/admin']) expect(setCookie).toContain(attr);
    expect(Number(/Max-Age=(\d+)/.exec(setCookie)?.[1])).toBeGreaterThan(3600);
    expect(csrf.length).toBeGreaterThan(20);
    expect((await api('me', { cookie })).json).toMatchObject({ admin: 'boss', csrf });
    // Server-side, only hashes: the file holds neither the link nor the cookie value.
    const file = readFileSync(join(relay.config.dataDir, 'admin.json'), 'utf8');
    expect(file).not.toContain(link);
    expect(file).not.toContain(cookie.split('=')[1]);
  });

  it('refuses a reused link (401 admin_link_invalid)', async () => {
    const link = mintLink();
    await signIn(link);
    const again = await api('session', { method: 'POST', body: { link } });
    expect(again).toMatchObject({ status: 401, json: { error: { code: 'admin_link_invalid' } } });
  });

  it('refuses an expired link and an unknown one (401 admin_link_invalid)', async () => {
    const expired = mintLink('boss', () => Date.now() - 60 * 60_000); // minted an hour ago, good for 15 minutes
    expect((await api('session', { method: 'POST', body: { link: expired } })).json.error.code).toBe('admin_link_invalid');
    expect((await api('session', { method: 'POST', body: { link: 'x'.repeat(43) } })).json.error.code).toBe('admin_link_invalid');
  });

  it('refuses a sign-in from another Origin or without one (403 admin_origin_refused), leaving the link unspent', async () => {
    const link = mintLink();
    expect((await api('session', { method: 'POST', origin: 'https://evil.example', body: { link } })).json.error.code).toBe('admin_origin_refused');
    expect((await api('session', { method: 'POST', origin: null, body: { link } })).json.error.code).toBe('admin_origin_refused');
    await signIn(link);
  });

  it('refuses an expired console session (401 admin_session_expired)', async () => {
    // Signed in 13 hours ago (sessions last 12): the state is written as the relay would have then.
    const past = new AdminState(relay.config.dataDir, () => Date.now() - 13 * 3_600_000);
    const { secret } = past.mintLink('boss');
    const exchanged = past.exchangeLink(secret);
    expect(exchanged.ok).toBe(true);
    const cookie = `${ADMIN_COOKIE}=${exchanged.ok ? exchanged.cookie : ''}`;
    expect(await api('people', { cookie })).toMatchObject({ status: 401, json: { error: { code: 'admin_session_expired' } } });
  });

  it('refuses a change without the CSRF token, or with a wrong one (403 admin_csrf_failed), and changes nothing', async () => {
    const { cookie, csrf } = await signIn();
    expect((await api('people', { method: 'POST', cookie, body: { id: 'csrf-victim' } })).json.error.code).toBe('admin_csrf_failed');
    expect((await api('people', { method: 'POST', cookie, csrf: csrf.slice(0, -2) + 'xx', body: { id: 'csrf-victim' } })).json.error.code).toBe('admin_csrf_failed');
    // Another session's token is wrong for this one.
    const other = await signIn();
    expect((await api('people', { method: 'POST', cookie, csrf: other.csrf, body: { id: 'csrf-victim' } })).status).toBe(403);
    expect(await relay.store.getUser('csrf-victim')).toBeUndefined();
  });

  it('refuses a change from another Origin or without one, even with the right CSRF token (403 admin_origin_refused)', async () => {
    const { cookie, csrf } = await signIn();
    expect((await api('people', { method: 'POST', cookie, csrf, origin: 'https://evil.example', body: { id: 'x1' } })).json.error.code).toBe('admin_origin_refused');
    expect((await api('people', { method: 'POST', cookie, csrf, origin: null, body: { id: 'x1' } })).json.error.code).toBe('admin_origin_refused');
    expect(await relay.store.getUser('x1')).toBeUndefined();
  });

  it('refuses a signed-in browser whose admin role was withdrawn (403 admin_not_admin)', async () => {
    await relay.store.upsertUser({ id: 'deputy' });
    const { cookie } = await signIn(mintLink('deputy'));
    expect((await api('people', { cookie })).status).toBe(200);
    new AdminState(relay.config.dataDir).setAdmin('deputy', false);
    expect((await api('people', { cookie })).status).toBe(401); // the role went, and with it every sign-in
    const again = await signIn(mintLink('deputy'));
    await relay.store.updateUser({ id: 'deputy', enabled: false });
    expect((await api('people', { cookie: again.cookie })).json.error.code).toBe('admin_not_admin');
  });

  it('refuses a body over the cap (413 admin_body_too_large) and bad JSON or unknown fields (400 admin_bad_request)', async () => {
    const { cookie, csrf } = await signIn();
    expect((await api('people', { method: 'POST', cookie, csrf, body: 'x'.repeat(70_000) })).status).toBe(413);
    expect((await api('people', { method: 'POST', cookie, csrf, body: '{nope' })).json.error.code).toBe('admin_bad_request');
    const unknown = await api('people', { method: 'POST', cookie, csrf, body: { id: 'y', isRoot: true } });
    expect(unknown).toMatchObject({ status: 400, json: { error: { code: 'admin_bad_request' } } });
    expect((await api('people', { method: 'POST', cookie, csrf, body: { id: 'y', voice: 'darth' } })).json.error.code).toBe('admin_bad_request');
  });

  it('has the phone routes refuse the console cookie (403 admin_cookie_refused), session check and WebSocket alike', async () => {
    const token = await relay.mint('phone-with-cookie');
    const { cookie } = await signIn();
    const check = await fetch(`${relay.url}/api/session-check`, { headers: { authorization: `Bearer ${token}`, cookie } });
    expect(check.status).toBe(403);
    expect(((await check.json()) as { error: { code: string } }).error.code).toBe('admin_cookie_refused');
    const refused = await RealtimeTestClient.connect(relay.wsUrl, { headers: { authorization: `Bearer ${token}`, cookie } }).catch((e: { status: number; body: string }) => e);
    expect(refused).toMatchObject({ status: 403 });
    expect(JSON.parse((refused as { body: string }).body).error.code).toBe('admin_cookie_refused');
    expect(relay.upstreamsOpened()).toBe(0);
  });

  it('answers an unknown path with 404 not_found and nothing crashes on odd input', async () => {
    const { cookie, csrf } = await signIn();
    expect((await api('nothing-here', { cookie })).status).toBe(404);
    expect((await api('people/%E0%A4%A', { method: 'DELETE', cookie, csrf })).status).toBeGreaterThanOrEqual(400);
    expect((await fetch(`${relay.url}/healthz`)).status).toBe(200);
  });
});

describe('what an operator does through the admin API', () => {
  it('adds a person with limits, makes a link that works on the phone route, revokes it, and every change is in the audit log', async () => {
    const { cookie, csrf } = await signIn();
    const added = await api('people', { method: 'POST', cookie, csrf, body: { id: 'carol', maxSessions: 1, dailyMinutes: 30, monthlyTokens: 100000, voice: 'cedar', instructions: 'Be brief.' } });
    expect(added.status).toBe(201);
    // Judged by the store the relay enforces from, not by the console's answer.
    expect(await relay.store.getUser('carol')).toMatchObject({ maxSessions: 1, dailyMinutes: 30, monthlyMinutes: null, monthlyTokens: 100000, voice: 'cedar', instructions: 'Be brief.' });
    expect((await api('people', { method: 'POST', cookie, csrf, body: { id: 'carol' } })).status).toBe(409);
    const link = (await api('links', { method: 'POST', cookie, csrf, body: { user: 'carol', days: 7 } })).json as CreatedLink;
    expect(link.url).toMatch(new RegExp(`^${relay.url}/#token=`));
    const token = link.url.split('#token=')[1]!;
    const check = await fetch(`${relay.url}/api/session-check`, { headers: { authorization: `Bearer ${token}` } });
    expect(((await check.json()) as { user: string }).user).toBe('carol');
    const links = (await api('links', { cookie })).json as Link[];
    expect(links.find((l) => l.tokenId === link.tokenId)?.state).toBe('active');
    expect((await api(`links/${link.tokenId}/revoke`, { method: 'POST', cookie, csrf })).json.state).toBe('revoked');
    await until('the relay saw the revocation', async () => (await fetch(`${relay.url}/api/session-check`, { headers: { authorization: `Bearer ${token}` } })).status === 401);
    const audit = (await api('audit', { cookie })).json as AuditEntry[];
    expect(audit.slice(0, 3).map((e) => e.action)).toEqual(['link_revoke', 'link_create', 'person_add']);
    expect(audit[0]).toMatchObject({ admin: 'boss', target: 'carol', address: '127.0.0.1' });
    // The audit log is a file of its own, one JSON line per action.
    expect(readFileSync(join(relay.config.dataDir, AUDIT_FILE), 'utf8')).toContain('"action":"person_add"');
  });

  it('expires a link early: it stops working at once (the Store cannot change an expiry, so it is revoked)', async () => {
    const { cookie, csrf } = await signIn();
    const link = (await api('links', { method: 'POST', cookie, csrf, body: { user: 'alice', days: 30 } })).json as CreatedLink;
    const token = link.url.split('#token=')[1]!;
    expect((await api(`links/${link.tokenId}/expire`, { method: 'POST', cookie, csrf })).json.state).toBe('revoked');
    await until('the relay saw the revocation', async () => (await fetch(`${relay.url}/api/session-check`, { headers: { authorization: `Bearer ${token}` } })).status === 401);
    expect(((await api('audit', { cookie })).json as AuditEntry[])[0]?.action).toBe('link_expire');
  });

  it('lists a live session and ends it: the client gets ended_by_operator and close 4011 (not 4001: the link stays good)', async () => {
    const { cookie, csrf } = await signIn();
    const token = await relay.mint('dave');
    const client = await RealtimeTestClient.connect(relay.wsUrl, { headers: { authorization: `Bearer ${token}` } });
    await client.waitFor('session.created');
    const live = await until('the session listed', async () => ((await api('sessions', { cookie })).json as LiveSession[]).find((s) => s.user === 'dave'));
    expect(live.link).toBe('v1');
    expect((await api(`sessions/${live.sessionId}`, { method: 'DELETE', cookie, csrf })).status).toBe(200);
    expect((await client.closed).code).toBe(4011);
    expect(client.of('error').at(-1)?.error.code).toBe('ended_by_operator');
    const again = await RealtimeTestClient.connect(relay.wsUrl, { headers: { authorization: `Bearer ${token}` } });
    await again.waitFor('session.created');
    await again.close();
    expect((await api(`sessions/${live.sessionId}`, { method: 'DELETE', cookie, csrf })).status).toBe(404);
  });

  it('lowers a live person’s max sessions to 0: their session closes (4010)', async () => {
    const { cookie, csrf } = await signIn();
    const token = await relay.mint('erin');
    const client = await RealtimeTestClient.connect(relay.wsUrl, { headers: { authorization: `Bearer ${token}` } });
    await client.waitFor('session.created');
    expect((await api('people/erin', { method: 'PATCH', cookie, csrf, body: { maxSessions: 0 } })).json.maxSessions).toBe(0);
    expect((await client.closed).code).toBe(4010);
  });

  it('disables, enables and deletes a person; an operator cannot delete or demote themselves', async () => {
    const { cookie, csrf } = await signIn();
    await api('people', { method: 'POST', cookie, csrf, body: { id: 'frank' } });
    expect(((await api('people/frank', { method: 'PATCH', cookie, csrf, body: { enabled: false } })).json as Person).enabled).toBe(false);
    expect((await relay.store.getUser('frank'))?.enabled).toBe(false);
    expect(((await api('people/frank', { method: 'PATCH', cookie, csrf, body: { enabled: true } })).json as Person).enabled).toBe(true);
    expect((await api('people/frank', { method: 'DELETE', cookie, csrf })).status).toBe(200);
    expect(await relay.store.getUser('frank')).toBeUndefined();
    expect((await api('people/boss', { method: 'DELETE', cookie, csrf })).status).toBe(400);
    expect((await api('people/boss', { method: 'PATCH', cookie, csrf, body: { admin: false } })).status).toBe(400);
    const audit = (await api('audit', { cookie })).json as AuditEntry[];
    expect(audit.slice(0, 3).map((e) => e.action)).toEqual(['person_delete', 'person_enable', 'person_disable']);
  });

  it('answers health and usage, and keeps prices it is given', async () => {
    const { cookie, csrf } = await signIn();
    const health = (await api('health', { cookie })).json as Health;
    expect(health).toMatchObject({ backend: 'simulator', version: expect.any(String) });
    expect(health.metrics.connectionsTotal).toBeGreaterThan(0);
    expect((await api('prices', { method: 'PUT', cookie, csrf, body: { perMinute: 0.1, perMillionTokens: 32, currency: 'EUR' } })).status).toBe(200);
    const usage = (await api('usage', { cookie })).json as UsageAnswer;
    expect(usage.prices).toEqual({ perMinute: 0.1, perMillionTokens: 32, currency: 'EUR' });
    expect((await api('usage?since=yesterday', { cookie })).status).toBe(400);
  });

  it('signs out: the cookie no longer works', async () => {
    const { cookie, csrf } = await signIn();
    expect((await api('session', { method: 'DELETE', cookie, csrf })).status).toBe(200);
    expect((await api('people', { cookie })).json.error.code).toBe('admin_sign_in_required');
  });
});
