// The session runner on the earshot.v2 link against a real `ws` server on 127.0.0.1 that plays the relay's part of
// protocol/app-link.ts (a stand-in until the relay side lands). The server encodes and decodes Opus with
// @evan/opus's *native* libopus binding, so what the runner sends is judged by a different Opus implementation than
// the WASM shell it uses itself. Time is a manual clock: the heartbeat and dead-link detection are driven by
// `advance`, never by waiting.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { createServer, type Server } from 'node:http';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import WebSocket, { WebSocketServer } from 'ws';
import { AudioDownFlags, AudioUpFlags, decodeAppFrame, encodeAudioDown, LINK_DEAD_MS, type AudioUpHeader, type LinkSession } from '../../../../protocol/app-link.ts';
import type { SessionCheckBody } from '../../../../protocol/relay-http.ts';
import type { SessionToPlayback } from '../../audio/messages.ts';
import type { EngineEvent, EngineSettings } from '../engine-api.ts';
import { wasmOpusFactory, type OpusFactory } from './opus/opus-codec.ts';
import { WasmOpusModule } from './opus/wasm-opus.ts';
import { PlaybackFeeder } from './playback-feeder.ts';
import { SessionRunner, type SocketLike } from './session-runner.ts';

const require = createRequire(import.meta.url);
// The native binding (a different build of libopus than the WASM the client uses).
const native = require('@evan/opus/node/index.js') as {
  Encoder: new (o: { channels: number; sample_rate: number; application?: string }) => { encode(pcm: Uint8Array): Uint8Array };
  Decoder: new (o: { channels: number; sample_rate: number }) => { decode(packet: Uint8Array): Uint8Array };
};

const settings: EngineSettings = { mode: 'hands-free', echoCancellation: true, noiseSuppression: true, autoGainControl: true, farField: false };
const policy: SessionCheckBody['policy'] = { mutableFields: ['type', 'audio.input.turn_detection', 'audio.input.noise_reduction'], voice: 'marin', voices: ['marin'], instructions: '', model: 'gpt-realtime' };

let opus: OpusFactory;
beforeAll(async () => {
  opus = wasmOpusFactory(await WasmOpusModule.load(readFileSync(require.resolve('@evan/opus/wasm/opus.wasm'))));
});

interface Conn {
  ws: WebSocket;
  protocols: string[];
  text: Array<Record<string, unknown> & { type: string }>;
  audio: Array<{ header: AudioUpHeader; pcm: Int16Array }>;
  /** Everything received in arrival order: a packet's capture time, or an event's type. */
  arrivals: Array<number | string>;
  /** Frames this connection has sent that count toward ack. */
  sentCount: number;
  sendCounted(data: string | Uint8Array): void;
}

interface V2Stub {
  url: string;
  conns: Conn[];
  /** What to answer a resume offer with. */
  resumeReply: 'resume' | LinkSession['resume_failed'];
  /** Answer pings (false = a silently dead link). */
  answerPings: boolean;
  /** Play a relay that predates earshot.v2 (chooses earshot.v1, speaks the verbatim protocol). */
  v1Only: boolean;
  /** Leave WebSocket upgrades unanswered (a SYN or a handshake lost in an outage), while true. */
  holdUpgrades: boolean;
  /** Refuse WebSocket upgrades with 401 (a revoked token), while true. */
  refuseUpgrades: boolean;
  /** Upgrade requests seen, and HTTP session checks answered. */
  upgrades: number;
  checks: number;
  close(): Promise<void>;
}

async function v2stub(): Promise<V2Stub> {
  const s = { conns: [], resumeReply: 'resume', answerPings: true, v1Only: false, holdUpgrades: false, refuseUpgrades: false, upgrades: 0, checks: 0 } as unknown as V2Stub;
  const http: Server = createServer((req, res) => {
    s.checks++;
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ user: 'ann', tokenId: 't', expiresAt: 0, policy, backend: 'simulator' } satisfies SessionCheckBody));
  });
  const wss = new WebSocketServer({
    server: http,
    verifyClient: (_info: unknown, done: (ok: boolean, code?: number) => void) => {
      s.upgrades++;
      if (s.refuseUpgrades) done(false, 401);
      else if (!s.holdUpgrades) done(true);
      else held.push(done);
    },
    handleProtocols: (p) => (!s.v1Only && p.has('earshot.v2') ? 'earshot.v2' : p.has('earshot.v1') ? 'earshot.v1' : false),
  });
  let sessionCounter = 0;
  const held: Array<(ok: boolean) => void> = [];
  wss.on('connection', (ws, req) => {
    const protocols = String(req.headers['sec-websocket-protocol']).split(',').map((p) => p.trim());
    const decoder = new native.Decoder({ channels: 1, sample_rate: 24_000 });
    const conn: Conn = {
      ws,
      protocols,
      text: [],
      audio: [],
      arrivals: [],
      sentCount: 0,
      sendCounted(data) {
        ws.send(data);
        conn.sentCount++;
      },
    };
    s.conns.push(conn);
    ws.on('message', (data, isBinary) => {
      if (isBinary) {
        const frame = decodeAppFrame(new Uint8Array(data as Buffer));
        if (!frame.ok || frame.header.kind !== 1) throw new Error('bad AudioUp');
        const pcm = decoder.decode(frame.payload);
        conn.audio.push({ header: frame.header, pcm: new Int16Array(pcm.buffer, pcm.byteOffset, pcm.byteLength / 2) });
        conn.arrivals.push(frame.header.captureMs);
        return;
      }
      const event = JSON.parse(String(data));
      conn.text.push(event);
      if (!String(event.type).startsWith('earshot.')) conn.arrivals.push(event.type);
      if (event.type === 'earshot.ping' && s.answerPings) ws.send(JSON.stringify({ type: 'earshot.pong', id: event.id, t: event.t }));
    });
    if (s.v1Only) {
      ws.send(JSON.stringify({ type: 'session.created', event_id: 'e', session: {} }));
      return;
    }
    const resume = protocols.find((p) => p.startsWith('earshot-resume.'));
    const base: Omit<LinkSession, 'resumed'> = {
      type: 'earshot.session',
      session_id: `s${++sessionCounter}`,
      resume_token: `rt${sessionCounter}`,
      resume_grace_ms: 30_000,
      heartbeat_ms: 1000,
      audio: { codec: 'opus', sample_rate: 24_000, up_frame_ms: 40, down_frame_ms: 60 },
    };
    if (resume && s.resumeReply === 'resume') {
      ws.send(JSON.stringify({ ...base, resumed: true } satisfies LinkSession)); // not counted on a resumed link
      return;
    }
    conn.sendCounted(JSON.stringify({ ...base, resumed: false, ...(resume ? { resume_failed: s.resumeReply } : {}) } as LinkSession));
    conn.sendCounted(JSON.stringify({ type: 'session.created', event_id: 'e', session: {} }));
  });
  await new Promise<void>((r) => http.listen(0, '127.0.0.1', r));
  const addr = http.address();
  s.url = `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}`;
  s.close = () =>
    new Promise<void>((r) => {
      for (const c of s.conns) c.ws.terminate();
      for (const done of held.splice(0)) done(false);
      wss.close();
      http.close(() => r());
      http.closeAllConnections();
    });
  return s;
}

/** A manual clock: timers run only when the test advances time. */
function manualClock() {
  let now = 0;
  let seq = 0;
  const timers = new Map<number, { at: number; fn: () => void }>();
  return {
    now: () => now,
    setTimeout: (fn: () => void, ms: number) => {
      const id = ++seq;
      timers.set(id, { at: now + ms, fn });
      return id;
    },
    clearTimeout: (id: unknown) => void timers.delete(id as number),
    advance(ms: number) {
      const end = now + ms;
      for (;;) {
        const due = [...timers.entries()].filter(([, t]) => t.at <= end).sort((a, b) => a[1].at - b[1].at)[0];
        if (!due) break;
        timers.delete(due[0]);
        now = Math.max(now, due[1].at);
        due[1].fn();
      }
      now = end;
    },
  };
}

/**
 * The same libopus answering as WebCodecs does: packets come back on a later task, and flush() resolves once every
 * packet of the blocks handed in before it has been delivered.
 */
function answeringLater(base: OpusFactory): OpusFactory {
  return {
    engine: base.engine,
    createDecoder: (cb) => base.createDecoder(cb),
    createEncoder(cb) {
      const pending: Array<() => void> = [];
      const inner = base.createEncoder({ onPacket: (p, t) => pending.push(() => cb.onPacket(p, t)), onError: (e) => cb.onError(e) });
      const deliver = (n: number) => {
        for (const f of pending.splice(0, n)) f();
      };
      return {
        engine: inner.engine,
        encode(pcm, captureMs) {
          inner.encode(pcm, captureMs);
          setTimeout(() => deliver(1), 0);
        },
        flush() {
          const n = pending.length;
          return new Promise<void>((r) => setTimeout(() => (deliver(n), r()), 0));
        },
        close: () => inner.close(),
      };
    },
  };
}

function makeRunner(
  fetchOverride?: (url: string, init: { headers: Record<string, string>; signal?: AbortSignal }) => Promise<{ status: number; json(): Promise<unknown> }>,
  engine: OpusFactory = opus,
) {
  const clock = manualClock();
  const events: EngineEvent[] = [];
  const playbackMsgs: SessionToPlayback[] = [];
  const runner = new SessionRunner({
    fetch:
      fetchOverride ??
      (async (url, init) => {
        const res = await fetch(url, { headers: init.headers });
        return { status: res.status, json: () => res.json() };
      }),
    openSocket: (url, protocols) => new WebSocket(url, protocols) as unknown as SocketLike,
    setTimeout: clock.setTimeout,
    clearTimeout: clock.clearTimeout,
    random: () => 0,
    now: clock.now,
    wallNow: clock.now,
    emit: (e) => events.push(e),
    playback: new PlaybackFeeder({ postMessage: (m) => playbackMsgs.push(m) }, 48_000),
    contextRate: 48_000,
    opus: engine,
  });
  let frameIndex = 0;
  const speak = (frames: number, amplitude = 0.3) => {
    for (let i = 0; i < frames; i++) {
      const f = new Float32Array(960);
      for (let k = 0; k < 960; k++) f[k] = amplitude * Math.sin(((frameIndex * 960 + k) * 2 * Math.PI * 300) / 48_000);
      runner.onCaptureFrame(f, amplitude / Math.SQRT2, frameIndex++);
    }
  };
  return { runner, clock, events, playbackMsgs, speak };
}

async function until<T>(what: string, fn: () => T | undefined | false | null, timeoutMs = 5000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = fn();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

const states = (events: EngineEvent[]) => events.filter((e) => e.kind === 'state').map((e) => (e as { state: { kind: string } }).state.kind);

let cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const c of cleanups.reverse()) await c();
  cleanups = [];
});

async function connected(mode: EngineSettings['mode'] = 'hands-free', engine: OpusFactory = opus) {
  const s = await v2stub();
  const r = makeRunner(undefined, engine);
  cleanups.push(() => s.close(), () => r.runner.stop());
  r.runner.start({ relayUrl: s.url, token: 'tok', settings: { ...settings, mode } });
  await until('listening', () => states(r.events).includes('listening'));
  return { s, r };
}

describe('SessionRunner on earshot.v2', () => {
  it('offers earshot.v2 with the token and configures the fresh session', async () => {
    const { s } = await connected();
    expect(s.conns[0]!.protocols).toEqual(['earshot.v2', 'earshot-token.tok', 'earshot.v1']);
    expect(s.conns[0]!.ws.protocol).toBe('earshot.v2');
    await until('session.update', () => s.conns[0]!.text.find((e) => e.type === 'session.update'));
  });

  it('sends speech as 40 ms Opus packets stamped with the capture clock, which a native libopus decodes', async () => {
    const { s, r } = await connected();
    r.speak(20); // 400 ms
    const audio = await until('10 packets', () => (s.conns[0]!.audio.length >= 10 ? s.conns[0]!.audio : null));
    expect(audio.map((a) => a.header.captureMs)).toEqual([0, 40, 80, 120, 160, 200, 240, 280, 320, 360]);
    expect(audio.every((a) => a.pcm.length === 960 && a.header.flags === 0)).toBe(true);
    // The decoded audio carries the tone (not silence).
    const last = audio.at(-1)!.pcm;
    const rms = Math.sqrt(last.reduce((a, v) => a + v * v, 0) / last.length) / 32768;
    expect(rms).toBeGreaterThan(0.1);
  });

  it('sends (almost) nothing in silence: Opus DTX packets stay off the link', async () => {
    const { s, r } = await connected();
    r.speak(10);
    r.speak(100, 0); // 2 s of digital silence
    r.runner.sendText('marker');
    await until('marker', () => s.conns[0]!.text.some((e) => e.type === 'conversation.item.create'));
    const during = s.conns[0]!.audio.filter((a) => a.header.captureMs >= 600);
    // libopus sends a comfort-noise update every ~400 ms in DTX, instead of 50 packets.
    expect(during.length).toBeLessThanOrEqual(8);
    expect(r.runner.stats.dtxSkipped).toBeGreaterThan(35);
  });

  it('pings every heartbeat with ack, answers the relay’s pings with ack, and reports the round trip', async () => {
    const { s, r } = await connected();
    r.clock.advance(1000);
    const ping = await until('ping', () => s.conns[0]!.text.find((e) => e.type === 'earshot.ping'));
    expect(ping).toMatchObject({ type: 'earshot.ping', ack: 2 }); // earshot.session + session.created
    s.conns[0]!.ws.send(JSON.stringify({ type: 'earshot.ping', id: 77, t: 5 }));
    const pong = await until('pong', () => s.conns[0]!.text.find((e) => e.type === 'earshot.pong'));
    expect(pong).toEqual({ type: 'earshot.pong', id: 77, t: 5, ack: 2 });
    await until('link health', () => r.events.find((e) => e.kind === 'link'));
  });

  it('declares a silently dead link dead, says so, and resumes the same session offering its ticket', async () => {
    const { s, r } = await connected();
    s.answerPings = false;
    s.conns[0]!.sendCounted(JSON.stringify({ type: 'conversation.item.added', event_id: 'x', item: { id: 'i1', type: 'message', role: 'user', content: [] } }));
    await until('3 counted', () => r.runner.stats.received === 3);
    for (let t = 0; t < LINK_DEAD_MS - 250; t += 250) r.clock.advance(250);
    expect(states(r.events)).not.toContain('reconnecting');
    r.clock.advance(500);
    expect(r.events.find((e) => e.kind === 'state' && e.state.kind === 'reconnecting')).toMatchObject({ state: { attempt: 1 } });
    r.clock.advance(0); // the first retry goes at once
    const second = await until('second connection', () => s.conns[1]);
    expect(second.protocols).toEqual(['earshot.v2', 'earshot-token.tok', 'earshot-resume.rt1.3', 'earshot.v1']);
    await until('listening again', () => states(r.events).lastIndexOf('listening') > states(r.events).indexOf('reconnecting'));
    expect(r.runner.stats.resumes).toBe(1);
    expect(r.runner.stats.sessions).toBe(1);
    // The count goes on from what was presented: the resumed link's session message is not a numbered message.
    expect(r.runner.stats.received).toBe(3);
    // The same provider session goes on: no second session.update, no carried context.
    r.runner.sendText('after');
    await until('text on the resumed link', () => second.text.some((e) => e.type === 'conversation.item.create'));
    expect(second.text.filter((e) => e.type === 'session.update')).toEqual([]);
    expect(r.events.filter((e) => e.kind === 'notice')).toEqual([]);
  });

  it('when the relay reports the fragment said into a dying link was cut, says so in words and stops showing "hearing"', async () => {
    const { s, r } = await connected();
    s.conns[0]!.sendCounted(JSON.stringify({ type: 'input_audio_buffer.speech_started', event_id: 'e1', audio_start_ms: 0, item_id: 'u1' }));
    await until('hearing', () => states(r.events).at(-1) === 'hearing');
    s.answerPings = false;
    for (let t = 0; t <= LINK_DEAD_MS; t += 250) r.clock.advance(250);
    r.clock.advance(0);
    const second = await until('second connection', () => s.conns[1]);
    await until('resumed', () => r.runner.stats.resumes === 1);
    // The relay's replay on the resumed link: the cut, then the provider's confirmation.
    second.sendCounted(JSON.stringify({ type: 'earshot.input_cut', reason: 'link_lost' }));
    second.sendCounted(JSON.stringify({ type: 'input_audio_buffer.cleared', event_id: 'e2' }));
    const notice = await until('a notice', () => r.events.find((e) => e.kind === 'notice'));
    expect(notice).toMatchObject({ error: { fatal: false, message: expect.stringMatching(/dropped while you were speaking.*say it again/) } });
    expect(states(r.events).at(-1)).toBe('listening');
    expect(r.events.filter((e) => e.kind === 'notice')).toHaveLength(1);
    // Counted like any relay message, so the next ack and resume present the right number.
    expect(r.runner.stats.received).toBe(5);
  });

  it('in hold-to-talk sends the whole hold, silence and the last partial block included, and commits only after it', async () => {
    const { s, r } = await connected('hold-to-talk');
    r.speak(5, 0); // not held: nothing goes
    r.runner.setTalking(true);
    r.speak(10); // 200 ms of voice (capture clock 100–300 ms) …
    r.speak(41, 0); // … then 820 ms of silence, still held; the hold ends 20 ms into a block
    r.runner.setTalking(false);
    const c = s.conns[0]!;
    await until('response.create', () => c.text.some((e) => e.type === 'response.create'));
    const held = Array.from({ length: 26 }, (_, i) => 100 + i * 40); // 100 … 1100: the hold's 1020 ms, padded to a block
    expect(c.arrivals.filter((a) => a !== 'session.update')).toEqual(['input_audio_buffer.clear', ...held, 'input_audio_buffer.commit', 'response.create']);
    // Every packet is a whole 40 ms block to a native libopus, the DTX ones of the silence too.
    expect(c.audio.every((a) => a.pcm.length === 960 && a.header.flags === 0)).toBe(true);
  });

  it('with an encoder that answers later (WebCodecs), commits a hold after its last packet, and a press meanwhile after that commit', async () => {
    const { s, r } = await connected('hold-to-talk', answeringLater(opus));
    r.runner.setTalking(true);
    r.speak(10); // 0–200 ms, held
    r.runner.setTalking(false);
    r.runner.setTalking(true); // at once: the encoder has not answered yet
    r.speak(4); // 200–280 ms: before the release is through, so not part of either turn
    await new Promise((res) => setTimeout(res, 0));
    r.speak(4); // 280–360 ms: the second hold
    r.runner.setTalking(false);
    const c = s.conns[0]!;
    await until('two commits', () => c.text.filter((e) => e.type === 'response.create').length === 2);
    expect(c.arrivals.filter((a) => a !== 'session.update')).toEqual([
      'input_audio_buffer.clear',
      0, 40, 80, 120, 160,
      'input_audio_buffer.commit',
      'response.create',
      'input_audio_buffer.clear',
      280, 320,
      'input_audio_buffer.commit',
      'response.create',
    ]);
  });

  it('when the turn is ended (the screen locked on iOS), nothing heard before it follows the clear upstream', async () => {
    const { s, r } = await connected('hands-free', answeringLater(opus));
    r.speak(10); // 200 ms of speech: five 40 ms blocks, the encoder has answered none of them yet
    r.runner.endTurn();
    await new Promise((res) => setTimeout(res, 20)); // the encoder answers now, after the end of the turn
    r.runner.sendText('marker');
    const c = s.conns[0]!;
    await until('marker', () => c.text.some((e) => e.type === 'conversation.item.create'));
    const after = c.arrivals.slice(c.arrivals.lastIndexOf('input_audio_buffer.clear') + 1);
    expect(after.filter((a) => typeof a === 'number')).toEqual([]);
  });

  it('keeps only the freshest 300 ms of speech while the link is down and marks it with Discontinuity', async () => {
    const { s, r } = await connected();
    s.conns[0]!.ws.terminate();
    await until('reconnecting', () => states(r.events).includes('reconnecting'));
    r.speak(100); // 2 s spoken into a dead link
    r.clock.advance(0);
    const second = await until('second connection', () => s.conns[1]);
    const audio = await until('audio on the resumed link', () => (second.audio.length > 0 ? second.audio : null));
    await new Promise((res) => setTimeout(res, 50));
    expect(second.audio.length).toBeLessThanOrEqual(300 / 40);
    expect(audio[0]!.header.flags & AudioUpFlags.Discontinuity).toBe(AudioUpFlags.Discontinuity);
    expect(audio[0]!.header.captureMs).toBeGreaterThanOrEqual(2000 - 300 - 40);
    expect(second.audio.slice(1).every((a) => a.header.flags === 0)).toBe(true);
    expect(r.runner.stats.framesDropped).toBeGreaterThan(40);
  });

  it('never sends what was said to a dead link once silence followed it: only what is said after the link is back', async () => {
    const { s, r } = await connected();
    s.conns[0]!.ws.terminate();
    await until('reconnecting', () => states(r.events).includes('reconnecting'));
    r.speak(50); // "Hello? Are you still there?" into a dead link (1 s) …
    r.speak(150, 0); // … then 3 s of silence: no packet follows the last word
    r.clock.advance(0);
    const second = await until('second connection', () => s.conns[1]);
    await until('listening again', () => states(r.events).lastIndexOf('listening') > states(r.events).indexOf('reconnecting'));
    r.speak(10); // 200 ms said after the link is back (capture clock 4000–4200 ms)
    const audio = await until('fresh audio on the resumed link', () => (second.audio.length >= 5 ? second.audio : null));
    await new Promise((res) => setTimeout(res, 50));
    expect(second.audio.map((a) => a.header.captureMs)).toEqual([4000, 4040, 4080, 4120, 4160]);
    expect(audio[0]!.header.flags & AudioUpFlags.Discontinuity).toBe(AudioUpFlags.Discontinuity);
  });

  it('resumes straight over the WebSocket: no HTTP session check (a round trip, maybe on a connection that died)', async () => {
    const { s, r } = await connected();
    expect(s.checks).toBe(1);
    s.conns[0]!.ws.terminate();
    await until('reconnecting', () => states(r.events).includes('reconnecting'));
    r.clock.advance(0);
    await until('listening again', () => states(r.events).lastIndexOf('listening') > states(r.events).indexOf('reconnecting'));
    expect(r.runner.stats.resumes).toBe(1);
    expect(s.checks).toBe(1);
  });

  it('asks the session check again after a resume try was refused before the socket opened (it says why in words)', async () => {
    const { s, r } = await connected();
    s.refuseUpgrades = true;
    s.conns[0]!.ws.terminate();
    await until('reconnecting', () => states(r.events).includes('reconnecting'));
    r.clock.advance(0);
    await until('the refused try', () => s.upgrades === 2 && r.events.filter((e) => e.kind === 'state' && e.state.kind === 'reconnecting').length >= 2);
    s.refuseUpgrades = false;
    r.clock.advance(500);
    await until('listening again', () => states(r.events).lastIndexOf('listening') > states(r.events).indexOf('reconnecting'));
    expect(s.checks).toBe(2);
  });

  it('abandons a WebSocket that has not opened in 2.5 s and tries again within 500 ms (a fresh SYN, not the kernel’s next retry)', async () => {
    const { s, r } = await connected();
    s.holdUpgrades = true;
    s.conns[0]!.ws.terminate();
    await until('reconnecting', () => states(r.events).includes('reconnecting'));
    r.clock.advance(0);
    await until('the second try at the relay', () => s.upgrades === 2);
    r.clock.advance(2_400);
    expect(s.upgrades).toBe(2);
    s.holdUpgrades = false; // the link is back
    r.clock.advance(100); // 2.5 s: given up
    r.clock.advance(500); // the next try
    await until('the third try', () => s.upgrades === 3);
    await until('listening again', () => states(r.events).lastIndexOf('listening') > states(r.events).indexOf('reconnecting'));
    expect(r.runner.stats.resumes).toBe(1);
    expect(r.runner.stats.sessions).toBe(1);
  });

  it('gives up a session check that does not answer in 5 s, says the relay is unreachable, and tries again', async () => {
    const s = await v2stub();
    let calls = 0;
    const r = makeRunner(async (url, init) => {
      if (++calls === 1) {
        // The request sits on a dead connection: only the runner's timeout ends it.
        return new Promise((_, reject) => init.signal?.addEventListener('abort', () => reject(new Error('aborted'))));
      }
      const res = await fetch(url, { headers: init.headers });
      return { status: res.status, json: () => res.json() };
    });
    cleanups.push(() => s.close(), () => r.runner.stop());
    r.runner.start({ relayUrl: s.url, token: 'tok', settings });
    await until('the first check sent', () => calls === 1);
    r.clock.advance(4_900);
    expect(calls).toBe(1);
    r.clock.advance(100);
    await until('a notice', () => r.events.find((e) => e.kind === 'notice'));
    r.clock.advance(0);
    await until('listening', () => states(r.events).includes('listening'));
    expect(calls).toBe(2);
  });

  it('when the resume fails, starts fresh, carries the conversation as a lost link (not a time limit) and says so', async () => {
    const { s, r } = await connected();
    r.runner.sendText('Remember the number forty-two.');
    await until('text sent', () => s.conns[0]!.text.some((e) => e.type === 'conversation.item.create'));
    s.resumeReply = 'expired';
    s.conns[0]!.ws.terminate();
    await until('reconnecting', () => states(r.events).includes('reconnecting'));
    r.clock.advance(0);
    const second = await until('second connection', () => s.conns[1]);
    const carry = await until('context carried', () => second.text.find((e) => e.type === 'conversation.item.create'));
    const text = JSON.stringify(carry);
    expect(text).toContain('User: Remember the number forty-two.');
    expect(text).toContain('connection to the user dropped');
    expect(text).not.toContain('time limit');
    const notice = r.events.find((e) => e.kind === 'notice');
    expect(notice).toMatchObject({ error: { fatal: false } });
    expect((notice as { error: { message: string } }).error.message).toMatch(/connection dropped/);
    expect(r.runner.stats.sessions).toBe(2);
  });

  it('plays AudioDown packets of an announced stream, trimmed, and never twice after a resume replay', async () => {
    const { s, r } = await connected();
    const enc = new native.Encoder({ channels: 1, sample_rate: 24_000, application: 'voip' });
    const packet = () => enc.encode(new Uint8Array(1440 * 2));
    const c = s.conns[0]!;
    c.sendCounted(JSON.stringify({ type: 'earshot.audio.stream', ref: 3, response_id: 'r', item_id: 'a1', output_index: 0, content_index: 0 }));
    c.sendCounted(encodeAudioDown({ flags: 0, streamRef: 3, sampleOffset: 0, samples: 1440 }, packet()));
    c.sendCounted(encodeAudioDown({ flags: 0, streamRef: 3, sampleOffset: 1440, samples: 1440 }, packet()));
    // A replay of the second packet (as after an off-by-one resume), then the padded last one.
    c.sendCounted(encodeAudioDown({ flags: 0, streamRef: 3, sampleOffset: 1440, samples: 1440 }, packet()));
    c.sendCounted(encodeAudioDown({ flags: AudioDownFlags.EndOfStream, streamRef: 3, sampleOffset: 2880, samples: 500 }, packet()));
    c.sendCounted(JSON.stringify({ type: 'response.output_audio.done', event_id: 'e', response_id: 'r', item_id: 'a1', output_index: 0, content_index: 0 }));
    await until('end posted', () => r.playbackMsgs.some((m) => m.kind === 'end'));
    const chunks = r.playbackMsgs.filter((m) => m.kind === 'chunk') as Array<{ itemId: string; samples: Float32Array }>;
    const total = chunks.reduce((n, m) => n + m.samples.length, 0);
    // 1440 + 1440 + 500 samples at 24 kHz = 3380 -> 6760 at 48 kHz, plus the resampler's filter tail (~100);
    // a replayed packet would add 2880 more.
    expect(total).toBeGreaterThanOrEqual(6760);
    expect(total).toBeLessThan(6760 + 200);
    expect(chunks.every((m) => m.itemId === 'a1')).toBe(true);
    // `end` came after every chunk: the JSON event did not overtake the audio.
    expect(r.playbackMsgs.at(-1)).toEqual({ kind: 'end', itemId: 'a1' });
  });

  it('falls back to the verbatim v1 link with a relay that does not speak earshot.v2', async () => {
    const s = await v2stub();
    s.v1Only = true;
    const r = makeRunner();
    cleanups.push(() => s.close(), () => r.runner.stop());
    r.runner.start({ relayUrl: s.url, token: 'tok', settings });
    await until('listening', () => states(r.events).includes('listening'));
    r.speak(5);
    await until('appends', () => s.conns[0]!.text.filter((e) => e.type === 'input_audio_buffer.append').length === 5);
    expect(r.runner.stats.link).toBe('v1');
  });
});
