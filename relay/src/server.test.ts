// The relay end to end on loopback: real uWS server, real `ws` clients, the simulator as upstream.
import { connect, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SignJWT } from 'jose';
import { CloseCode } from '../../protocol/close-codes.ts';
import { RealtimeTestClient, speechPcm16 } from './testing/realtime-client.ts';
import { fetchMetrics, startTestRelay, type TestRelay } from './testing/start-relay.ts';
import { issueToken } from './auth/tokens.ts';
import { startSimulatorServer } from './simulator/server.ts';
import { createWsUpstreamFactory } from './upstream/ws-upstream.ts';

let relay: TestRelay;
let speech: Buffer;

beforeAll(async () => {
  relay = await startTestRelay({ limits: { maxFrameBytes: 64 * 1024, failedAuthPerMinute: 1000 } });
  speech = speechPcm16('hello relay, can you hear me', 0.8);
});
afterAll(async () => {
  await relay.stop();
});

const bearer = (token: string) => ({ headers: { authorization: `Bearer ${token}` } });

async function refused(url: string, options: Parameters<typeof RealtimeTestClient.connect>[1]): Promise<{ status: number; body: { error: { code: string; message: string } } }> {
  try {
    const c = await RealtimeTestClient.connect(url, options);
    await c.close();
  } catch (err) {
    const e = err as { status: number; body: string };
    return { status: e.status, body: JSON.parse(e.body) };
  }
  throw new Error('upgrade was accepted');
}

describe('relay: happy path', () => {
  it('relays a whole spoken turn with the operator policy applied first', async () => {
    const token = await relay.mint('alice');
    const c = await RealtimeTestClient.connect(relay.wsUrl, bearer(token));
    await c.waitFor('session.created');
    const policy = await c.waitFor('session.updated');
    expect(policy.session.type === 'realtime' && policy.session.instructions).toBe(relay.config.policy.instructions);
    c.appendAudio(speech);
    await c.waitFor('input_audio_buffer.speech_stopped');
    const done = await c.waitFor('response.done');
    expect(done.response.status).toBe('completed');
    expect(c.of('response.output_audio.delta').length).toBeGreaterThan(3);
    await c.close();
  });

  it('accepts the token in the browser subprotocol pair and echoes only earshot.v1', async () => {
    const token = await relay.mint('bob');
    const c = await RealtimeTestClient.connect(relay.wsUrl, { protocols: ['earshot.v1', `earshot-token.${token}`] });
    expect(c.socket.protocol).toBe('earshot.v1');
    await c.waitFor('session.created');
    await c.close();
  });

  it("accepts OpenAI's browser subprotocols and echoes realtime, never the key", async () => {
    const token = await relay.mint('carol');
    const c = await RealtimeTestClient.connect(relay.wsUrl, { protocols: ['realtime', `openai-insecure-api-key.${token}`] });
    expect(c.socket.protocol).toBe('realtime');
    await c.close();
  });

  it('answers /healthz, /metrics and /api/session-check', async () => {
    const health = await fetch(`${relay.url}/healthz`);
    expect(health.status).toBe(200);
    expect(await health.json()).toMatchObject({ ok: true, backend: 'simulator' });
    const metrics = await (await fetchMetrics(relay.url)).text();
    expect(metrics).toContain('earshot_connections_total');
    expect(metrics).toContain('earshot_auth_failures_total');
    const token = await relay.mint('dave');
    const check = await fetch(`${relay.url}/api/session-check`, { headers: { authorization: `Bearer ${token}` } });
    expect(check.status).toBe(200);
    const body = (await check.json()) as { user: string; policy: { mutableFields: string[] }; backend: string };
    expect(body.user).toBe('dave');
    expect(body.policy.mutableFields).toContain('audio.output.voice');
    const bad = await fetch(`${relay.url}/api/session-check`, { headers: { authorization: 'Bearer nope' } });
    expect(bad.status).toBe(401);
    expect(((await bad.json()) as { error: { code: string } }).error.code).toBe('token_malformed');
  });
});

describe('relay: rejections happen before the upgrade and open no upstream', () => {
  it('401 for missing, malformed, forged, alg:none, expired and revoked tokens', async () => {
    const before = relay.upstreamsOpened();
    const forged = await issueToken(new Uint8Array(32).fill(7), { userId: 'alice', days: 1 });
    const none = `${Buffer.from('{"alg":"none","typ":"JWT"}').toString('base64url')}.${Buffer.from(JSON.stringify({ sub: 'alice', jti: 'x', iss: 'earshot', exp: 9e9 })).toString('base64url')}.`;
    const expired = await new SignJWT({}).setProtectedHeader({ alg: 'HS256' }).setIssuer('earshot').setSubject('alice').setJti('old').setExpirationTime(Math.floor(Date.now() / 1000) - 60).sign(relay.secret);
    const revokedToken = await relay.mint('erin');
    await relay.store.revoke('erin');
    const cases: Array<[Parameters<typeof RealtimeTestClient.connect>[1], string]> = [
      [{}, 'token_missing'],
      [{ headers: { authorization: 'Basic abc' } }, 'token_malformed'],
      [bearer('not-a-token'), 'token_malformed'],
      [bearer(forged.token), 'token_bad_signature'],
      [bearer(none), 'token_bad_signature'],
      [bearer(expired), 'token_expired'],
      [bearer(revokedToken), 'token_revoked'],
    ];
    for (const [options, code] of cases) {
      const r = await refused(relay.wsUrl, options);
      expect({ code: r.body.error.code, status: r.status }).toEqual({ code, status: 401 });
      expect(r.body.error.message.length).toBeGreaterThan(10);
    }
    expect(relay.upstreamsOpened()).toBe(before);
  });

  it('403 for a disabled user and for an origin not on the allow-list', async () => {
    const strict = await startTestRelay({ allowedOrigins: ['https://earshot.example'] });
    const token = await strict.mint('frank');
    const foreign = await refused(strict.wsUrl, { headers: { authorization: `Bearer ${token}`, origin: 'https://evil.example' } });
    expect([foreign.status, foreign.body.error.code]).toEqual([403, 'origin_not_allowed']);
    const ok = await RealtimeTestClient.connect(strict.wsUrl, { headers: { authorization: `Bearer ${token}`, origin: 'https://earshot.example' } });
    await ok.close();
    await strict.store.updateUser({ id: 'frank', enabled: false });
    const r = await refused(strict.wsUrl, bearer(token));
    expect([r.status, r.body.error.code]).toEqual([403, 'user_disabled']);
    expect(strict.upstreamsOpened()).toBe(1);
    await strict.stop();
  });

  it('429 when a user has too many sessions, and for bad tokens from an address that fails too often — never for a good token', async () => {
    const r2 = await startTestRelay({ limits: { failedAuthPerMinute: 3 } });
    const token = await r2.mint('gina', { user: { maxSessions: 1 } });
    const first = await RealtimeTestClient.connect(r2.wsUrl, bearer(token));
    const busy = await refused(r2.wsUrl, bearer(token));
    expect([busy.status, busy.body.error.code]).toEqual([429, 'too_many_sessions']);
    await first.close();
    await new Promise((r) => setTimeout(r, 50));
    const again = await RealtimeTestClient.connect(r2.wsUrl, bearer(token));
    await again.close();
    for (let i = 0; i < 3; i++) await refused(r2.wsUrl, bearer('x.y.z'));
    const blocked = await refused(r2.wsUrl, bearer('x.y.z'));
    expect([blocked.status, blocked.body.error.code]).toEqual([429, 'too_many_failed_attempts']);
    expect(blocked.body.error.message).toMatch(/Wait a minute/);
    // The same address, a token that verifies: the throttle only ever answers for failures.
    const stillIn = await RealtimeTestClient.connect(r2.wsUrl, bearer(token));
    await stillIn.close();
    expect(r2.upstreamsOpened()).toBe(3);
    await r2.stop();
  });
});

/** Writes one raw HTTP/1.1 request on a kept-alive socket and resolves with the response head and body. */
function rawRequest(socket: Socket, request: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve) => {
    let buffer = '';
    const onData = (chunk: Buffer): void => {
      buffer += chunk.toString();
      const head = buffer.indexOf('\r\n\r\n');
      const length = /content-length: (\d+)/i.exec(buffer)?.[1];
      if (head < 0 || length === undefined || buffer.length < head + 4 + Number(length)) return;
      socket.off('data', onData);
      resolve({ status: Number(buffer.split(' ')[1]), body: buffer.slice(head + 4, head + 4 + Number(length)) });
    };
    socket.on('data', onData);
    socket.write(request);
  });
}

describe('relay: draining', () => {
  it('answers /healthz and a new upgrade with 503 shutting_down while it drains, opening no upstream', async () => {
    const r = await startTestRelay();
    const token = await r.mint('late');
    // A connection opened before the drain (keep-alive, e.g. a proxy's pool) still reaches the relay after it.
    const socket = connect(r.port, '127.0.0.1');
    await new Promise((res) => socket.once('connect', res));
    expect((await rawRequest(socket, 'GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n')).status).toBe(200);
    const closing = r.close();
    const health = await rawRequest(socket, 'GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n');
    expect([health.status, JSON.parse(health.body)]).toEqual([503, { ok: false, sessions: 0, backend: 'simulator' }]);
    const upgrade = await rawRequest(
      socket,
      `GET /v1/realtime HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: ${Buffer.alloc(16, 2).toString('base64')}\r\nAuthorization: Bearer ${token}\r\n\r\n`,
    );
    expect([upgrade.status, (JSON.parse(upgrade.body) as { error: { code: string } }).error.code]).toEqual([503, 'shutting_down']);
    expect(r.upstreamsOpened()).toBe(0);
    socket.destroy();
    await closing;
    await r.stop();
  });
});

describe('relay: policy and limits', () => {
  it('refuses a disallowed event type and a locked session field without forwarding them', async () => {
    const r = await startTestRelay({ policy: { allowedClientEvents: ['input_audio_buffer.append', 'session.update'], clientMutableFields: ['audio.output.voice'] } });
    const c = await RealtimeTestClient.connect(r.wsUrl, bearer(await r.mint('hank')));
    await c.waitFor('session.updated');
    c.send({ type: 'response.create', event_id: 'e1' });
    c.send({ type: 'session.update', event_id: 'e2', session: { type: 'realtime', instructions: 'be rude' } });
    c.send({ type: 'session.update', event_id: 'e3', session: { audio: { output: { voice: 'robot' } } } });
    c.send({ type: 'session.update', event_id: 'e4', session: { audio: { output: { voice: 'cedar' } } } });
    await c.waitFor('session.updated', { where: (e) => e.session.type === 'realtime' && e.session.audio?.output?.voice === 'cedar' });
    const errors = c.of('error').map((e) => [e.error.code, e.error.event_id]);
    expect(errors).toEqual([
      ['event_type_not_allowed', 'e1'],
      ['session_field_locked', 'e2'],
      ['voice_not_allowed', 'e3'],
    ]);
    expect(c.of('response.created')).toHaveLength(0);
    await c.close();
    await r.stop();
  });

  it('answers bad JSON and binary frames with an error event and keeps the session', async () => {
    const c = await RealtimeTestClient.connect(relay.wsUrl, bearer(await relay.mint('ivy')));
    c.send('{nope');
    c.socket.send(Buffer.from([1, 2, 3]), { binary: true });
    c.send({ type: 'input_audio_buffer.clear' });
    await c.waitFor('input_audio_buffer.cleared');
    expect(c.of('error').map((e) => e.error.code)).toEqual(['invalid_json', 'invalid_event']);
    await c.close();
  });

  it('closes with 1009 and says why when a frame is over the size limit', async () => {
    const c = await RealtimeTestClient.connect(relay.wsUrl, bearer(await relay.mint('jack')));
    c.send({ type: 'input_audio_buffer.append', audio: 'A'.repeat(64 * 1024 + 16) });
    const closed = await c.closed;
    expect(closed.code).toBe(CloseCode.MessageTooBig);
    expect(c.of('error').at(-1)?.error.code).toBe('frame_too_large');
  });

  it("closes with 4003 session_limit at the relay's own maximum session length, and frees the upstream", async () => {
    const r = await startTestRelay({ limits: { maxSessionMs: 1000 } });
    const c = await RealtimeTestClient.connect(r.wsUrl, bearer(await r.mint('tess')));
    await c.waitFor('session.updated');
    const started = Date.now();
    expect((await c.closed).code).toBe(CloseCode.SessionLimit);
    expect(Date.now() - started).toBeLessThan(3000);
    expect(c.of('error').at(-1)?.error.code).toBe('session_limit');
    expect(r.sessions().size).toBe(0);
    await r.stop();
  });

  it('closes with 4003 session_token_budget once response.done usage reaches the per-session budget', async () => {
    const r = await startTestRelay({ limits: { sessionTokenBudget: 1 } });
    const c = await RealtimeTestClient.connect(r.wsUrl, bearer(await r.mint('uma')));
    await c.waitFor('session.updated');
    c.send({ type: 'conversation.item.create', item: { type: 'message', role: 'user', content: [{ type: 'input_text', text: 'spend it' }] } });
    c.send({ type: 'response.create' });
    const done = await c.waitFor('response.done');
    expect(done.response.usage?.total_tokens).toBeGreaterThanOrEqual(1);
    expect((await c.closed).code).toBe(CloseCode.SessionLimit);
    expect(c.of('error').at(-1)?.error.code).toBe('session_token_budget');
    await r.stop();
  });

  it('closes with 4007 when a client floods messages', async () => {
    const r = await startTestRelay({ limits: { maxMessagesPerSecond: 20 } });
    const c = await RealtimeTestClient.connect(r.wsUrl, bearer(await r.mint('kim')));
    for (let i = 0; i < 40; i++) c.send({ type: 'input_audio_buffer.clear' });
    expect((await c.closed).code).toBe(CloseCode.RateLimited);
    expect(c.of('error').at(-1)?.error.code).toBe('rate_limited');
    await r.stop();
  });
});

describe('relay: upstream faults', () => {
  it('tells the client when the provider refuses the key, and closes with 4006', async () => {
    const sim = await startSimulatorServer({ port: 0, apiKey: 'sk-right' });
    const r = await startTestRelay({}, { upstreamFactory: createWsUpstreamFactory({ url: sim.url, apiKey: 'sk-wrong', authHeader: 'authorization', connectTimeoutMs: 2000 }) });
    const c = await RealtimeTestClient.connect(r.wsUrl, bearer(await r.mint('lee')));
    expect((await c.closed).code).toBe(CloseCode.UpstreamAuth);
    expect(c.of('error').at(-1)?.error).toMatchObject({ code: 'upstream_auth_failed' });
    expect(c.of('error').at(-1)?.error.message).toMatch(/API key/);
    await r.stop();
    await sim.close();
  });

  it("talks to an Azure-style upstream with the key in an api-key header, and maps a wrong key to 4006", async () => {
    const sim = await startSimulatorServer({ port: 0, apiKey: 'azure-key' });
    const azure = (apiKey: string) => createWsUpstreamFactory({ url: `${sim.url}?api-version=2025-08-28`, apiKey, authHeader: 'api-key', connectTimeoutMs: 2000 });
    const ok = await startTestRelay({}, { upstreamFactory: azure('azure-key') });
    const c = await RealtimeTestClient.connect(ok.wsUrl, bearer(await ok.mint('vic')));
    await c.waitFor('session.updated');
    await c.close();
    await ok.stop();
    const wrong = await startTestRelay({}, { upstreamFactory: azure('not-the-key') });
    const c2 = await RealtimeTestClient.connect(wrong.wsUrl, bearer(await wrong.mint('vic')));
    expect((await c2.closed).code).toBe(CloseCode.UpstreamAuth);
    expect(c2.of('error').at(-1)?.error.code).toBe('upstream_auth_failed');
    await wrong.stop();
    await sim.close();
  });

  it('closes with 4005 when the provider cannot be reached', async () => {
    const r = await startTestRelay({}, { upstreamFactory: createWsUpstreamFactory({ url: 'ws://127.0.0.1:9/v1/realtime', authHeader: 'authorization', connectTimeoutMs: 2000 }) });
    const c = await RealtimeTestClient.connect(r.wsUrl, bearer(await r.mint('max')));
    expect((await c.closed).code).toBe(CloseCode.UpstreamUnavailable);
    expect(c.of('error').at(-1)?.error.code).toBe('upstream_unavailable');
    await r.stop();
  });

  it('closes with 4005 when the provider drops mid-session, and with 4008 when it expires the session', async () => {
    const sim = await startSimulatorServer({ port: 0 });
    const r = await startTestRelay({}, { upstreamFactory: createWsUpstreamFactory({ url: sim.url, authHeader: 'authorization', connectTimeoutMs: 2000 }) });
    const c = await RealtimeTestClient.connect(r.wsUrl, bearer(await r.mint('ned')));
    await c.waitFor('session.updated');
    await sim.close(); // ends every session with 1001 going-away: a drop from the relay's point of view
    expect((await c.closed).code).toBe(CloseCode.UpstreamUnavailable);
    expect(c.of('error').at(-1)?.error.code).toBe('upstream_unavailable');
    await r.stop();
    const shortSim = await startSimulatorServer({ port: 0, maxSessionMs: 300 });
    const r2 = await startTestRelay({}, { upstreamFactory: createWsUpstreamFactory({ url: shortSim.url, authHeader: 'authorization', connectTimeoutMs: 2000 }) });
    const c2 = await RealtimeTestClient.connect(r2.wsUrl, bearer(await r2.mint('ola')));
    expect((await c2.closed).code).toBe(CloseCode.SessionExpired);
    expect(c2.of('error').at(-1)?.error.code).toBe('session_expired');
    await r2.stop();
    await shortSim.close();
  });

  it('closes the upstream when the client disconnects mid-response, leaking nothing', async () => {
    const sim = await startSimulatorServer({ port: 0 });
    const r = await startTestRelay({}, { upstreamFactory: createWsUpstreamFactory({ url: sim.url, authHeader: 'authorization', connectTimeoutMs: 2000 }) });
    const c = await RealtimeTestClient.connect(r.wsUrl, bearer(await r.mint('pat')));
    c.appendAudio(speech);
    await c.waitFor('response.output_audio.delta');
    c.socket.terminate();
    for (let i = 0; i < 50 && (sim.sessions() > 0 || r.sessions().size > 0); i++) await new Promise((res) => setTimeout(res, 20));
    expect(sim.sessions()).toBe(0);
    expect(r.sessions().size).toBe(0);
    expect(await (await fetchMetrics(r.url)).text()).toMatch(/earshot_sessions_active 0/);
    await r.stop();
    await sim.close();
  });
});

describe('relay: revocation', () => {
  it('closes live sessions of a revoked user with 4001 and an error event', async () => {
    const token = await relay.mint('quinn');
    const c = await RealtimeTestClient.connect(relay.wsUrl, bearer(token));
    await c.waitFor('session.updated');
    await relay.store.revoke('quinn');
    expect((await c.closed).code).toBe(CloseCode.Revoked);
    expect(c.of('error').at(-1)?.error.code).toBe('token_revoked');
  });
});
