// Accounting wired into the real relay (uWS on loopback, real `ws` clients, in-process simulator upstream):
// exact metering, quota cut-off mid-session and at connect, session limits, per-session rate/size limits.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rmSync } from 'node:fs';
import pino from 'pino';
import { CloseCode } from '../../../protocol/close-codes.ts';
import { RealtimeTestClient, speechPcm16 } from '../testing/realtime-client.ts';
import { fetchMetrics, startTestRelay, tempDataDir, type DeepPartial, type TestRelay } from '../testing/start-relay.ts';
import type { RelayConfig } from '../config/config.ts';
import { createAccounting, type Accounting } from './accounting.ts';
import { until } from '../testing/until.ts';

const FRAME = Buffer.alloc(960); // 20 ms of pcm16 silence
const appendEvent = JSON.stringify({ type: 'input_audio_buffer.append', audio: FRAME.toString('base64') });
const bearer = (token: string) => ({ headers: { authorization: `Bearer ${token}` } });

interface Rig {
  relay: TestRelay;
  acc: Accounting;
  stop(): Promise<void>;
}

async function rig(overrides: DeepPartial<RelayConfig> = {}, flushIntervalMs = 100): Promise<Rig> {
  const dataDir = tempDataDir('earshot-acct-relay-');
  const acc = await createAccounting({ log: pino({ level: 'silent' }), flushIntervalMs });
  const relay = await startTestRelay({ ...overrides, dataDir, perUserMetrics: true }, { hooksFactory: acc.hooksFactory, quotaExceeded: (u, user) => acc.quotaExceeded(u, user), quotaRenewsAt: (u, user) => acc.quotaRenewsAt(u, user) });
  acc.attach({ store: relay.store, metrics: relay.metrics });
  return {
    relay,
    acc,
    async stop() {
      await acc.close();
      await relay.stop();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

async function refused(url: string, token: string): Promise<{ status: number; code: string }> {
  try {
    const c = await RealtimeTestClient.connect(url, bearer(token));
    await c.close();
  } catch (err) {
    const e = err as { status: number; body: string };
    return { status: e.status, code: (JSON.parse(e.body) as { error: { code: string } }).error.code };
  }
  throw new Error('upgrade was accepted');
}

/** Streams 20 ms appends in bursts (under the default rate limit) until `frames` are sent or the socket closes. */
async function stream(c: RealtimeTestClient, frames: number, burst = 10, gapMs = 60): Promise<number> {
  let sent = 0;
  while (sent < frames && c.socket.readyState === c.socket.OPEN) {
    for (let i = 0; i < burst && sent < frames; i++, sent++) c.send(appendEvent);
    await new Promise((r) => setTimeout(r, gapMs));
  }
  return sent;
}

describe('accounting through the relay', () => {
  let r: Rig;
  beforeAll(async () => {
    r = await rig();
  });
  afterAll(async () => {
    await r.stop();
  });

  it('meters exactly the input audio a client streamed and the output audio it received, and the turn tokens', async () => {
    const token = await r.relay.mint('alice');
    const c = await RealtimeTestClient.connect(r.relay.wsUrl, bearer(token));
    await c.waitFor('session.updated');
    const speech = speechPcm16('how much did I say', 0.5);
    c.appendAudio(speech);
    await c.waitFor('response.done', { timeoutMs: 15_000 });
    const received = c.of('response.output_audio.delta').reduce((n, e) => n + Buffer.from(e.delta, 'base64').length, 0);
    const usage = c.of('response.done')[0]!.response.usage!;
    // The input transcription is billed on its own, beside the response (audio in, text out).
    const transcribed = await c.waitFor('conversation.item.input_audio_transcription.completed');
    const transcription = transcribed.usage as { input_token_details?: { audio_tokens?: number } };
    await c.close();
    await until("alice's session to end", async () => (await r.acc.totals('alice')).liveSessions === 0);
    const today = (await r.acc.totals('alice')).today;
    expect(today.sessions).toBe(1);
    expect(today.inputAudioBytes).toBe(speech.length);
    expect(today.outputAudioBytes).toBe(received);
    expect(received).toBeGreaterThan(0);
    expect(today.audioInputTokens).toBe(usage.input_token_details!.audio_tokens! + transcription.input_token_details!.audio_tokens!);
    expect(today.audioOutputTokens).toBe(usage.output_token_details?.audio_tokens);
    const metrics = await (await fetchMetrics(r.relay.url)).text();
    expect(metrics).toMatch(/earshot_user_audio_seconds_total\{user="alice",direction="input"\} [1-9]/);
    expect(metrics).toMatch(/earshot_session_duration_seconds_count [1-9]/);
  });

  it('sends a quota_exhausted error and closes with 4002 when the daily quota runs out mid-session', async () => {
    const token = await r.relay.mint('quinn', { user: { dailyMinutes: 0.02 } }); // 1.2 spoken seconds
    const opened = r.relay.upstreamsOpened();
    const c = await RealtimeTestClient.connect(r.relay.wsUrl, bearer(token));
    await c.waitFor('session.updated');
    const sent = await stream(c, 250); // 5 s offered; the relay must stop it long before
    const closed = await c.closed;
    expect(closed.code).toBe(CloseCode.QuotaExhausted);
    const error = c.of('error').at(-1)!;
    expect(error.error.code).toBe('quota_exhausted');
    expect(error.error.message).toMatch(/^You have used your 0\.02 spoken minutes for today — /);
    expect(sent).toBeLessThan(250);
    expect(r.relay.upstreamsOpened()).toBe(opened + 1);

    // And a new connection is refused before the upgrade, without opening an upstream.
    expect(await refused(r.relay.wsUrl, token)).toEqual({ status: 429, code: 'quota_exhausted' });
    expect(r.relay.upstreamsOpened()).toBe(opened + 1);
    // The app's token check says until when (the next UTC midnight for a daily allowance), for "until HH:MM".
    const nextMidnight = () => {
      const d = new Date();
      return Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate() + 1);
    };
    const before = nextMidnight();
    const check = await fetch(`${r.relay.url}/api/session-check`, bearer(token));
    const body = (await check.json()) as { error: { code: string; renewsAt?: number } };
    expect(check.status).toBe(429);
    expect(body.error.code).toBe('quota_exhausted');
    expect([before, nextMidnight()]).toContain(body.error.renewsAt);
    // The operator raises the quota from the CLI's store: the user gets in again at once.
    await r.relay.store.upsertUser({ id: 'quinn', dailyMinutes: 10 });
    const again = await RealtimeTestClient.connect(r.relay.wsUrl, bearer(token));
    await again.waitFor('session.created');
    await again.close();
  });

  it('refuses a session over the concurrency limit with 429 too_many_sessions and frees the slot when one ends', async () => {
    const token = await r.relay.mint('rita', { user: { maxSessions: 1 } });
    const first = await RealtimeTestClient.connect(r.relay.wsUrl, bearer(token));
    await first.waitFor('session.created');
    const opened = r.relay.upstreamsOpened();
    expect(await refused(r.relay.wsUrl, token)).toEqual({ status: 429, code: 'too_many_sessions' });
    expect(r.relay.upstreamsOpened()).toBe(opened);
    await first.close();
    await until("rita's session to end", async () => (await r.acc.totals('rita')).liveSessions === 0);
    const second = await RealtimeTestClient.connect(r.relay.wsUrl, bearer(token));
    await second.waitFor('session.created');
    await second.close();
    await until("rita's session to end", async () => (await r.acc.totals('rita')).liveSessions === 0);
    expect((await r.acc.totals('rita')).today.sessions).toBe(2);
  });
});

describe('per-session limits (enforced by the bridge) and what gets billed', () => {
  let r: Rig;
  beforeAll(async () => {
    r = await rig({ limits: { maxMessagesPerSecond: 20, maxFrameBytes: 4096 } });
  });
  afterAll(async () => {
    await r.stop();
  });

  it('keeps a session that stays at the message-rate limit', async () => {
    const token = await r.relay.mint('steady');
    const c = await RealtimeTestClient.connect(r.relay.wsUrl, bearer(token));
    await c.waitFor('session.updated');
    await stream(c, 30, 10, 600); // 10 messages per 0.6 s window: under 20 per second
    expect(c.socket.readyState).toBe(c.socket.OPEN);
    await c.close();
    await until("steady's session to end", async () => (await r.acc.totals('steady')).liveSessions === 0);
    expect((await r.acc.totals('steady')).today.inputAudioBytes).toBe(30 * FRAME.length);
  });

  it('cuts a flooding client with 4007 rate_limited and bills only the frames it forwarded', async () => {
    const token = await r.relay.mint('flood');
    const c = await RealtimeTestClient.connect(r.relay.wsUrl, bearer(token));
    await c.waitFor('session.updated');
    for (let i = 0; i < 60; i++) c.send(appendEvent);
    expect((await c.closed).code).toBe(CloseCode.RateLimited);
    expect(c.of('error').at(-1)?.error.code).toBe('rate_limited');
    await until("flood's session to end", async () => (await r.acc.totals('flood')).liveSessions === 0);
    // The session.update from the relay itself is not a client message; at most 20 client frames got through.
    expect((await r.acc.totals('flood')).today.inputAudioBytes).toBeLessThanOrEqual(20 * FRAME.length);
  });

  it('refuses an oversized append with 1009 frame_too_large and does not bill it', async () => {
    const token = await r.relay.mint('big');
    const c = await RealtimeTestClient.connect(r.relay.wsUrl, bearer(token));
    await c.waitFor('session.updated');
    c.send({ type: 'input_audio_buffer.append', audio: Buffer.alloc(9600).toString('base64') });
    expect((await c.closed).code).toBe(CloseCode.MessageTooBig);
    expect(c.of('error').at(-1)?.error.code).toBe('frame_too_large');
    await until("big's session to end", async () => (await r.acc.totals('big')).liveSessions === 0);
    expect((await r.acc.totals('big')).today).toMatchObject({ sessions: 1, inputAudioBytes: 0 });
  });
});

describe('quotas on what the provider bills', () => {
  let r: Rig;
  beforeAll(async () => {
    // No accounting tick during these tests: only the check right after each response.done can cut a session.
    r = await rig({}, 3_600_000);
  });
  afterAll(async () => {
    await r.stop();
  });

  it('meters input_audio sent inside conversation.item.create as spoken input, byte for byte', async () => {
    const token = await r.relay.mint('replayer');
    const c = await RealtimeTestClient.connect(r.relay.wsUrl, bearer(token));
    await c.waitFor('session.updated');
    const first = Buffer.alloc(24_000, 7); // 0.5 s (the item stays under the relay's limit for non-append events)
    const second = Buffer.alloc(12_002, 9); // an odd length: base64 padding
    c.send({
      type: 'conversation.item.create',
      item: { type: 'message', role: 'user', content: [{ type: 'input_audio', audio: first.toString('base64') }, { type: 'input_text', text: 'and this' }, { type: 'input_audio', audio: second.toString('base64') }] },
    });
    await c.waitFor('conversation.item.done');
    await c.close();
    await until("replayer's session to end", async () => (await r.acc.totals('replayer')).liveSessions === 0);
    expect((await r.acc.totals('replayer')).today.inputAudioBytes).toBe(first.length + second.length);
  });

  it('meters input_audio in the input items of a response.create as spoken input, byte for byte', async () => {
    const token = await r.relay.mint('outofband');
    const c = await RealtimeTestClient.connect(r.relay.wsUrl, bearer(token));
    await c.waitFor('session.updated');
    const heard = Buffer.alloc(30_000, 3); // 0.3125 s, in a response of its own (no conversation item)
    const message = { type: 'message', role: 'user', content: [{ type: 'input_audio', audio: heard.toString('base64') }] };
    c.send({ type: 'response.create', response: { conversation: 'none', output_modalities: ['text'], input: [message] } });
    await c.waitFor('response.done');
    await c.close();
    await until("outofband's session to end", async () => (await r.acc.totals('outofband')).liveSessions === 0);
    expect((await r.acc.totals('outofband')).today.inputAudioBytes).toBe(heard.length);
  });

  it("bills a transcription session's own token usage and cuts it past the token quota (it has no response.done)", async () => {
    const token = await r.relay.mint('scribe', { user: { dailyTokens: 1 } });
    const c = await RealtimeTestClient.connect(r.relay.wsUrl.replace(/\?.*$/, '?intent=transcription'), bearer(token));
    await c.waitFor('session.updated');
    c.appendAudio(speechPcm16('bill these words', 0.8));
    const completed = await c.waitFor('conversation.item.input_audio_transcription.completed');
    const usage = completed.usage as { type: string; total_tokens: number };
    expect(usage.type).toBe('tokens');
    expect((await c.closed).code).toBe(CloseCode.QuotaExhausted);
    expect(c.of('error').at(-1)?.error.message).toMatch(/^You have used your 1 token for today/);
    await until("scribe's session to end", async () => (await r.acc.totals('scribe')).liveSessions === 0);
    const today = (await r.acc.totals('scribe')).today;
    expect(today.textInputTokens + today.audioInputTokens + today.textOutputTokens + today.audioOutputTokens).toBe(usage.total_tokens);
    expect(await refused(r.relay.wsUrl, token)).toEqual({ status: 429, code: 'quota_exhausted' });
  });

  it('cuts a text-only session at the first response.done past the daily token quota (4002, naming tokens), then refuses with 429', async () => {
    const limit = 120;
    const token = await r.relay.mint('texter', { user: { dailyTokens: limit, dailyMinutes: 600 } });
    const c = await RealtimeTestClient.connect(r.relay.wsUrl, bearer(token));
    await c.waitFor('session.updated');
    c.send({ type: 'session.update', session: { type: 'realtime', output_modalities: ['text'], instructions: 'Be brief. '.repeat(20) } });
    await c.waitFor('session.updated', { from: c.types().indexOf('session.updated') + 1 });
    const billed: number[] = []; // cumulative tokens after each response the client saw finish
    for (let turn = 0; turn < 40 && c.socket.readyState === c.socket.OPEN; turn++) {
      const from = c.types().length;
      c.send({ type: 'conversation.item.create', item: { type: 'message', role: 'user', content: [{ type: 'input_text', text: `question number ${turn} with a few words` }] } });
      c.send({ type: 'response.create' });
      const done = await c.waitFor('response.done', { from }).catch(() => null);
      if (!done) break;
      expect(done.response.output_modalities).toEqual(['text']);
      billed.push((billed.at(-1) ?? 0) + (done.response.usage?.total_tokens ?? 0));
    }
    const closed = await c.closed;
    expect(closed.code).toBe(CloseCode.QuotaExhausted);
    expect(c.of('error').at(-1)?.error).toMatchObject({ code: 'quota_exhausted', message: expect.stringMatching(/^You have used your 120 tokens for today — more becomes available at midnight UTC/) });
    // Cut promptly: every response but the last stayed under the limit, and no response finished after it.
    expect(billed.at(-1)).toBeGreaterThanOrEqual(limit);
    expect(billed.slice(0, -1).every((n) => n < limit)).toBe(true);
    expect(billed.length).toBeGreaterThan(1); // several text turns went through before the limit
    expect(c.of('response.output_audio.delta')).toEqual([]);
    await until("texter's session to end", async () => (await r.acc.totals('texter')).liveSessions === 0);
    const today = (await r.acc.totals('texter')).today;
    expect(today.textInputTokens + today.textOutputTokens + today.audioInputTokens + today.audioOutputTokens).toBe(billed.at(-1));
    expect(today.outputAudioBytes).toBe(0);
    expect(await refused(r.relay.wsUrl, token)).toEqual({ status: 429, code: 'quota_exhausted' });
  });

  it('cuts a session past the monthly token quota and says the month renews on the 1st', async () => {
    const token = await r.relay.mint('monthly', { user: { monthlyTokens: 1 } });
    const c = await RealtimeTestClient.connect(r.relay.wsUrl, bearer(token));
    await c.waitFor('session.updated');
    c.send({ type: 'conversation.item.create', item: { type: 'message', role: 'user', content: [{ type: 'input_text', text: 'hello there' }] } });
    c.send({ type: 'response.create' });
    expect((await c.closed).code).toBe(CloseCode.QuotaExhausted);
    expect(c.of('error').at(-1)?.error.message).toMatch(/^You have used your 1 token for this month — more becomes available on 1 \w+ \(UTC\)/);
  });
});
