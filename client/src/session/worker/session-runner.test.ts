// The session runner against a real `ws` server on 127.0.0.1: token check, subprotocols, reconnect with
// backoff, a fresh session on expiry carrying the conversation, and fatal closes.
import { createServer, type Server } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket, { WebSocketServer } from 'ws';
import { CloseCode } from '../../../../protocol/close-codes.ts';
import type { SessionCheckBody } from '../../../../protocol/relay-http.ts';
import type { SessionToPlayback } from '../../audio/messages.ts';
import type { EngineEvent, EngineSettings } from '../engine-api.ts';
import { PlaybackFeeder } from './playback-feeder.ts';
import { SessionRunner, relayUrls, type SocketLike } from './session-runner.ts';

const settings: EngineSettings = { mode: 'hands-free', link: 'v1', echoCancellation: true, noiseSuppression: true, autoGainControl: true, farField: true };
const policy: SessionCheckBody['policy'] = { mutableFields: ['type', 'audio.input.turn_detection', 'audio.input.noise_reduction'], voice: 'marin', voices: ['marin'], instructions: '', model: 'gpt-realtime' };

interface Stub {
  url: string;
  http: Server;
  wss: WebSocketServer;
  sockets: WebSocket[];
  received: Array<Record<string, unknown> & { type: string }>;
  protocols: string[][];
  checkStatus: number;
  /** The policy the token check answers with (default: `policy` above). */
  policy?: SessionCheckBody['policy'];
  close(): Promise<void>;
}

async function stub(): Promise<Stub> {
  const s = { sockets: [], received: [], protocols: [], checkStatus: 200 } as unknown as Stub;
  s.http = createServer((req, res) => {
    const ok = s.checkStatus === 200 && req.headers.authorization === 'Bearer tok';
    res.writeHead(ok ? 200 : s.checkStatus === 200 ? 401 : s.checkStatus, { 'content-type': 'application/json' });
    res.end(JSON.stringify(ok ? { user: 'ann', tokenId: 't', expiresAt: 0, policy: s.policy ?? policy, backend: 'simulator' } : { error: { code: s.checkStatus === 503 ? 'shutting_down' : 'token_expired', message: 'no' } }));
  });
  s.wss = new WebSocketServer({ server: s.http, handleProtocols: (p) => (p.has('earshot.v1') ? 'earshot.v1' : false) });
  s.wss.on('connection', (ws, req) => {
    s.protocols.push(String(req.headers['sec-websocket-protocol']).split(',').map((p) => p.trim()));
    s.sockets.push(ws);
    ws.on('message', (d) => s.received.push(JSON.parse(d.toString())));
    ws.send(JSON.stringify({ type: 'session.created', event_id: 'e', session: {} }));
  });
  await new Promise<void>((r) => s.http.listen(0, '127.0.0.1', r));
  const addr = s.http.address();
  s.url = `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}`;
  s.close = () =>
    new Promise<void>((r) => {
      for (const ws of s.sockets) ws.terminate();
      s.wss.close();
      s.http.close(() => r());
      s.http.closeAllConnections();
    });
  return s;
}

/** `now`: the runner's monotonic clock (default: the real one). */
function makeRunner(now: () => number = () => performance.now()) {
  const events: EngineEvent[] = [];
  const playbackMsgs: SessionToPlayback[] = [];
  const timers = new Set<ReturnType<typeof setTimeout>>();
  const runner = new SessionRunner({
    fetch: async (url, init) => {
      const res = await fetch(url, { headers: init.headers });
      return { status: res.status, json: () => res.json() };
    },
    openSocket: (url, protocols) => new WebSocket(url, protocols) as unknown as SocketLike,
    setTimeout: (fn, ms) => {
      const t = setTimeout(() => {
        timers.delete(t);
        fn();
      }, ms);
      timers.add(t);
      return t;
    },
    clearTimeout: (t) => clearTimeout(t as ReturnType<typeof setTimeout>),
    random: () => 0,
    now,
    wallNow: () => Date.now(),
    emit: (e) => events.push(e),
    playback: new PlaybackFeeder({ postMessage: (m) => playbackMsgs.push(m) }, 48_000),
    contextRate: 48_000,
    opus: null,
  });
  return { runner, events, playbackMsgs, cleanup: () => timers.forEach(clearTimeout) };
}

async function until<T>(what: string, fn: () => T | undefined | false | null, timeoutMs = 5000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = fn();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

const states = (events: EngineEvent[]) => events.filter((e) => e.kind === 'state').map((e) => (e as { state: { kind: string } }).state.kind);

let cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const c of cleanups.reverse()) await c();
  cleanups = [];
});

/** A runner listening on a stub relay that has sent 0.2 s of assistant audio (item `a`), queued for playback. */
async function listeningWithReplyQueued() {
  const s = await stub();
  const r = makeRunner();
  cleanups.push(() => s.close(), () => r.runner.stop(), r.cleanup);
  r.runner.start({ relayUrl: s.url, token: 'tok', settings });
  await until('listening', () => states(r.events).includes('listening'));
  const delta = Buffer.alloc(4800 * 2).toString('base64');
  s.sockets[0]!.send(JSON.stringify({ type: 'response.output_audio.delta', event_id: 'e', response_id: 'r', item_id: 'a', output_index: 0, content_index: 0, delta }));
  await until('chunk', () => r.playbackMsgs.find((m) => m.kind === 'chunk'));
  return { s, r };
}

describe('SessionRunner on the v1 (debugging) link', () => {
  it('derives the check and socket URLs from the relay URL', () => {
    expect(relayUrls('https://earshot.example/app/')).toEqual({ check: 'https://earshot.example/api/session-check', socket: 'wss://earshot.example/v1/realtime' });
    expect(relayUrls('http://127.0.0.1:8080')).toEqual({ check: 'http://127.0.0.1:8080/api/session-check', socket: 'ws://127.0.0.1:8080/v1/realtime' });
  });

  it('checks the token, offers the earshot subprotocols and configures the session', async () => {
    const s = await stub();
    const r = makeRunner();
    cleanups.push(() => s.close(), () => r.runner.stop(), r.cleanup);
    r.runner.start({ relayUrl: s.url, token: 'tok', settings });
    await until('listening', () => states(r.events).includes('listening'));
    expect(s.protocols[0]).toEqual(['earshot.v1', 'earshot-token.tok']);
    expect(r.events.find((e) => e.kind === 'session')).toMatchObject({ user: 'ann', backend: 'simulator' });
    const update = await until('session.update', () => s.received.find((e) => e.type === 'session.update'));
    expect(JSON.stringify(update)).toContain('far_field');
    // `connecting` was announced by the main thread before the worker started; the runner goes on from there.
    expect(states(r.events)).toEqual(['listening']);
  });

  it('sends 20 ms appends for capture frames once connected', async () => {
    const s = await stub();
    const r = makeRunner();
    cleanups.push(() => s.close(), () => r.runner.stop(), r.cleanup);
    r.runner.start({ relayUrl: s.url, token: 'tok', settings });
    await until('listening', () => states(r.events).includes('listening'));
    for (let i = 0; i < 5; i++) r.runner.onCaptureFrame(new Float32Array(960).fill(0.1), 0.1, i);
    r.runner.sendText('marker');
    await until('marker', () => s.received.some((e) => e.type === 'conversation.item.create'));
    expect(s.received.filter((e) => e.type === 'input_audio_buffer.append')).toHaveLength(5);
  });

  it('reconnects with backoff and a countdown after the relay drops the socket', async () => {
    const s = await stub();
    const r = makeRunner();
    cleanups.push(() => s.close(), () => r.runner.stop(), r.cleanup);
    r.runner.start({ relayUrl: s.url, token: 'tok', settings });
    await until('listening', () => states(r.events).includes('listening'));
    s.sockets[0]!.close(CloseCode.GoingAway, 'restart');
    const reconnecting = await until('reconnecting', () => r.events.find((e) => e.kind === 'state' && e.state.kind === 'reconnecting'));
    expect(reconnecting).toMatchObject({ state: { kind: 'reconnecting', attempt: 1 } });
    expect((reconnecting as { state: { retryAt: number } }).state.retryAt).toBeGreaterThan(Date.now() - 1000);
    await until('second socket', () => s.sockets.length === 2);
    await until('listening again', () => states(r.events).lastIndexOf('listening') > states(r.events).indexOf('reconnecting'));
  });

  it('keeps retrying while the relay is unreachable and counts the attempts up', async () => {
    const s = await stub();
    const url = s.url;
    await s.close();
    const r = makeRunner();
    cleanups.push(() => r.runner.stop(), r.cleanup);
    r.runner.start({ relayUrl: url, token: 'tok', settings });
    await until('attempt 2', () => r.events.some((e) => e.kind === 'state' && e.state.kind === 'reconnecting' && e.state.attempt === 2));
    expect(r.events.some((e) => e.kind === 'notice' && e.error.reason === 'relay_unreachable')).toBe(true);
  });

  it('starts a fresh session on expiry and carries the conversation so far into it', async () => {
    const s = await stub();
    const r = makeRunner();
    cleanups.push(() => s.close(), () => r.runner.stop(), r.cleanup);
    r.runner.start({ relayUrl: s.url, token: 'tok', settings });
    await until('listening', () => states(r.events).includes('listening'));
    r.runner.sendText('Remember the number forty-two.');
    await until('text sent', () => s.received.some((e) => e.type === 'conversation.item.create'));
    s.sockets[0]!.send(JSON.stringify({ type: 'error', event_id: 'e', error: { type: 'invalid_request_error', code: 'session_expired', message: 'Your session hit the maximum duration of 60 minutes.' } }));
    await until('second socket', () => s.sockets.length === 2);
    const carry = await until('context carried', () => s.received.find((e) => e.type === 'conversation.item.create' && JSON.stringify(e).includes('previous session')));
    expect(JSON.stringify(carry)).toContain('User: Remember the number forty-two.');
    expect(states(r.events)).not.toContain('error');
  });

  it('also renews the session when the relay closes with 4008', async () => {
    const s = await stub();
    const r = makeRunner();
    cleanups.push(() => s.close(), () => r.runner.stop(), r.cleanup);
    r.runner.start({ relayUrl: s.url, token: 'tok', settings });
    await until('listening', () => states(r.events).includes('listening'));
    s.sockets[0]!.close(CloseCode.SessionExpired, 'expired');
    await until('second socket', () => s.sockets.length === 2);
    expect(states(r.events)).not.toContain('reconnecting');
  });

  it('stops with a fatal error when the token is revoked mid-conversation', async () => {
    const s = await stub();
    const r = makeRunner();
    cleanups.push(() => s.close(), () => r.runner.stop(), r.cleanup);
    r.runner.start({ relayUrl: s.url, token: 'tok', settings });
    await until('listening', () => states(r.events).includes('listening'));
    s.sockets[0]!.close(CloseCode.Revoked, 'revoked');
    const error = await until('error', () => r.events.find((e) => e.kind === 'state' && e.state.kind === 'error'));
    expect(error).toMatchObject({ state: { error: { reason: 'token_revoked', fatal: true } } });
    await new Promise((res) => setTimeout(res, 400));
    expect(s.sockets).toHaveLength(1);
  });

  it('refuses to connect with a rejected token and says why', async () => {
    const s = await stub();
    const r = makeRunner();
    cleanups.push(() => s.close(), () => r.runner.stop(), r.cleanup);
    r.runner.start({ relayUrl: s.url, token: 'wrong', settings });
    const error = await until('error', () => r.events.find((e) => e.kind === 'state' && e.state.kind === 'error'));
    expect(error).toMatchObject({ state: { error: { reason: 'token_expired', fatal: true } } });
    expect(s.sockets).toHaveLength(0);
  });

  it('retries instead of failing while the relay is shutting down', async () => {
    const s = await stub();
    s.checkStatus = 503;
    const r = makeRunner();
    cleanups.push(() => s.close(), () => r.runner.stop(), r.cleanup);
    r.runner.start({ relayUrl: s.url, token: 'tok', settings });
    await until('reconnecting', () => states(r.events).includes('reconnecting'));
    s.checkStatus = 200;
    await until('listening', () => states(r.events).includes('listening'));
  });

  it('queues assistant audio for the playback worklet at the context rate', async () => {
    const { s, r } = await listeningWithReplyQueued();
    const chunk = r.playbackMsgs.find((m) => m.kind === 'chunk') as { samples: Float32Array; itemId: string };
    expect(chunk.itemId).toBe('a');
    expect(chunk.samples.length).toBe(9600);
  });
});

describe('SessionRunner and the barge-in guard', () => {
  /** Assistant audio queued, then `progressRms` reported playing (null: no report yet), then 8 loud frames (−20 dBFS). */
  async function loudOverReply(progressRms: number | null): Promise<number> {
    const { s, r } = await listeningWithReplyQueued();
    r.runner.onPlaybackReport({ kind: 'started', itemId: 'a', frame: 0 });
    if (progressRms !== null) r.runner.onPlaybackReport({ kind: 'progress', itemId: 'a', played: 960, taken: 960, frame: 960, rms: progressRms, jitterMs: 60 });
    for (let i = 0; i < 8; i++) r.runner.onCaptureFrame(new Float32Array(960).fill(0.1), 0.1, i);
    r.runner.sendText('marker');
    await until('marker', () => s.received.some((e) => e.type === 'conversation.item.create'));
    return s.received.filter((e) => e.type === 'input_audio_buffer.append').length;
  }

  it('lets 8 loud frames over a reply through (7 of 10), with no voice onset reported', async () => {
    expect(await loudOverReply(null)).toBe(8);
  });

  it('holds the same 8 frames just after the playback reported a voice onset (12 of 14 there)', async () => {
    expect(await loudOverReply(0.2)).toBe(0);
  });

  // A reply's voice resuming after a 240 ms pause (too short to count as an onset), 1 s past the reply's onset
  // window, and its echo coming through the canceller ~0.3 s later: levels from the speakerphone bench (trace
  // tr0/cell-4 of echo-likeness.test.ts, 0 dB), extended by two loud frames so that it would open 7 of 10.
  const RESUME_PLAY = [-22, -31, -28, -30, -31, -30, -24, -40, -43, -48, -90, -90, -88, -91, -90, -91, -93, -93, -55, -40, -35, -36, -40, -30, -24, -18, -18, -19, -21, -21, -22, -24, -24, -28, -76, -78, -51, -49, -50, -59, -64, -68, -72, -83, -88, -80, -80];
  const RESUME_MIC = [-120, -120, -120, -120, -120, -120, -99, -93, -90, -87, -69, -72, -73, -65, -64, -69, -93, -94, -107, -110, -108, -101, -99, -100, -107, -110, -110, -111, -111, -111, -114, -115, -103, -70, -60, -72, -72, -43, -37, -29, -23, -25, -26, -24, -28, -27, -26];

  /** A second of steady voice, then `play`/`mic` per 20 ms (a progress report, then a capture frame; fake clock). */
  async function replayOverReply(play: number[], mic: number[]): Promise<number> {
    let t = 0;
    const s = await stub();
    const r = makeRunner(() => t);
    cleanups.push(() => s.close(), () => r.runner.stop(), r.cleanup);
    r.runner.start({ relayUrl: s.url, token: 'tok', settings });
    await until('listening', () => states(r.events).includes('listening'));
    const delta = Buffer.alloc(4800 * 2).toString('base64');
    s.sockets[0]!.send(JSON.stringify({ type: 'response.output_audio.delta', event_id: 'e', response_id: 'r', item_id: 'a', output_index: 0, content_index: 0, delta }));
    await until('chunk', () => r.playbackMsgs.find((m) => m.kind === 'chunk'));
    r.runner.onPlaybackReport({ kind: 'started', itemId: 'a', frame: 0 });
    const rms = (db: number) => 10 ** (db / 20);
    const levels = [...Array.from({ length: 50 }, () => ({ p: play[0]!, m: mic[0]! })), ...play.map((p, i) => ({ p, m: mic[i]! }))];
    levels.forEach(({ p, m }, i) => {
      t = i * 20;
      r.runner.onPlaybackReport({ kind: 'progress', itemId: 'a', played: 960 * i, taken: 960 * i, frame: 960 * i, rms: rms(p), jitterMs: 60 });
      r.runner.onCaptureFrame(new Float32Array(960).fill(rms(m)), rms(m), i);
    });
    r.runner.sendText('marker');
    await until('marker', () => s.received.some((e) => e.type === 'conversation.item.create'));
    return s.received.filter((e) => e.type === 'input_audio_buffer.append').length;
  }

  it('lets the same loud frames through over steady playback (7 of 10: nothing to follow)', async () => {
    expect(await replayOverReply(RESUME_PLAY.map(() => -22), RESUME_MIC)).toBeGreaterThan(0);
  });

  it('holds the echo of a voice resuming after a short pause, past any onset window: it follows the playback', async () => {
    expect(await replayOverReply(RESUME_PLAY, RESUME_MIC)).toBe(0);
  });
});

describe('SessionRunner resilience', () => {
  it('drops a delta with corrupt base64 and keeps playing the next one', async () => {
    const s = await stub();
    const r = makeRunner();
    cleanups.push(() => s.close(), () => r.runner.stop(), r.cleanup);
    r.runner.start({ relayUrl: s.url, token: 'tok', settings });
    await until('listening', () => states(r.events).includes('listening'));
    const errors: unknown[] = [];
    const original = console.error;
    console.error = (...args: unknown[]) => errors.push(args);
    cleanups.push(() => (console.error = original));
    const good = Buffer.alloc(480 * 2).toString('base64');
    for (const delta of ['!!!not base64!!!', good]) {
      s.sockets[0]!.send(JSON.stringify({ type: 'response.output_audio.delta', event_id: 'e', response_id: 'r', item_id: 'a', output_index: 0, content_index: 0, delta }));
    }
    await until('good chunk', () => r.playbackMsgs.some((m) => m.kind === 'chunk'));
    expect(errors).toHaveLength(1);
  });
});

describe('SessionRunner voice policy', () => {
  const voicePolicy: SessionCheckBody['policy'] = { ...policy, mutableFields: [...policy.mutableFields, 'audio.output.voice', 'instructions'], voices: ['marin', 'cedar', 'sage'] };
  const updates = (s: Stub) => s.received.filter((m) => m.type === 'session.update');
  const voiceOf = (m: Record<string, unknown>) => (m.session as { audio?: { output?: { voice?: string } } }).audio?.output?.voice;

  it('sends a voice change before the first audio, and none when only the instructions changed', async () => {
    const s = await stub();
    s.policy = voicePolicy;
    const r = makeRunner();
    cleanups.push(() => s.close(), () => r.runner.stop(), r.cleanup);
    r.runner.start({ relayUrl: s.url, token: 'tok', settings });
    await until('listening', () => states(r.events).includes('listening'));
    await until('first update', () => updates(s).length === 1);
    expect(updates(s).map(voiceOf)).toEqual([undefined]);
    r.runner.configure({ voice: 'cedar' });
    await until('voice update', () => updates(s).length === 2);
    expect(voiceOf(updates(s)[1]!)).toBe('cedar');
    r.runner.configure({ instructions: 'Be very brief.' });
    await until('instructions update', () => updates(s).length === 3);
    expect(voiceOf(updates(s)[2]!)).toBeUndefined();
    expect((updates(s)[2]!.session as { instructions: string }).instructions).toBe('Be very brief.');
  });

  it('after assistant audio sends no voice change and says it applies to the next conversation', async () => {
    const s = await stub();
    s.policy = voicePolicy;
    const r = makeRunner();
    cleanups.push(() => s.close(), () => r.runner.stop(), r.cleanup);
    r.runner.start({ relayUrl: s.url, token: 'tok', settings });
    await until('listening', () => states(r.events).includes('listening'));
    s.sockets[0]!.send(JSON.stringify({ type: 'response.output_audio.delta', event_id: 'e', response_id: 'r', item_id: 'a', output_index: 0, content_index: 0, delta: Buffer.alloc(960).toString('base64') }));
    await until('chunk', () => r.playbackMsgs.find((m) => m.kind === 'chunk'));
    r.runner.configure({ voice: 'sage' });
    await until('notice', () => r.events.find((e) => e.kind === 'notice' && /next conversation/.test(e.error.message)));
    expect(updates(s).some((m) => voiceOf(m) === 'sage')).toBe(false);
  });

  it('a cannot_update_voice refusal is a plain sentence, and the voice is not sent again', async () => {
    const s = await stub();
    s.policy = voicePolicy;
    const r = makeRunner();
    cleanups.push(() => s.close(), () => r.runner.stop(), r.cleanup);
    r.runner.start({ relayUrl: s.url, token: 'tok', settings });
    await until('listening', () => states(r.events).includes('listening'));
    r.runner.configure({ voice: 'cedar' });
    await until('voice update', () => updates(s).some((m) => voiceOf(m) === 'cedar'));
    // The provider had spoken already (e.g. a greeting the app had not played yet): it refuses.
    s.sockets[0]!.send(JSON.stringify({ type: 'error', event_id: 'e', error: { type: 'invalid_request_error', code: 'cannot_update_voice', message: "Cannot update a conversation's voice if assistant audio is present.", param: null, event_id: null } }));
    const notice = await until('notice', () => r.events.find((e) => e.kind === 'notice'));
    expect(notice).toMatchObject({ error: { message: 'The new voice applies to your next conversation: the assistant keeps its voice once it has spoken.', fatal: false } });
    const before = updates(s).length;
    r.runner.configure({ instructions: 'Again.' });
    await until('next update', () => updates(s).length > before);
    expect(voiceOf(updates(s).at(-1)!)).toBeUndefined();
  });
});
