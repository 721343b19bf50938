// The app link (`earshot.v2`) end to end: the real relay on loopback, real `ws` clients speaking v2 with their
// own Opus encoder/decoder, the real simulator (its VAD decides turns), and for what the provider received a
// real WebSocket upstream that records frames with JSON.parse.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocketServer, type WebSocket as WsSocket } from 'ws';
import { AudioUpFlags } from '../../../protocol/app-link.ts';
import { CloseCode } from '../../../protocol/close-codes.ts';
import { AppLinkTestClient, decodeStream, encodeOpusPackets, isEndOfStream, type DownPacket } from '../testing/app-link-client.ts';
import { RealtimeTestClient, speechPcm16 } from '../testing/realtime-client.ts';
import { startTestRelay, type TestRelay } from '../testing/start-relay.ts';
import { until } from '../testing/until.ts';
import { createWsUpstreamFactory } from '../upstream/ws-upstream.ts';
import type { SessionHooksFactory } from '../session/hooks.ts';

let relay: TestRelay;
let speech: Buffer;
let packets: ReturnType<typeof encodeOpusPackets>;
/** What the accounting hooks saw, per session: proves a resumed session is metered once. */
const metered = new Map<string, { ends: number; outputDeltas: number; appends: number }>();
const recordingHooks: SessionHooksFactory = (info) => {
  const m = { ends: 0, outputDeltas: 0, appends: 0 };
  metered.set(info.sessionId, m);
  return {
    onClientFrame: (type) => {
      if (type === 'input_audio_buffer.append') m.appends++;
    },
    onServerFrame: (type) => {
      if (type === 'response.output_audio.delta') m.outputDeltas++;
    },
    onEnd: () => m.ends++,
  };
};

beforeAll(async () => {
  relay = await startTestRelay({ limits: { failedAuthPerMinute: 1000 }, appLink: { transcodeWorkers: 2 } }, { hooksFactory: recordingHooks });
  speech = speechPcm16('hello relay, can you hear me', 0.8);
  packets = encodeOpusPackets(speech);
});
afterAll(async () => {
  await relay.stop();
});

async function v2(user: string, resume?: { token: string; received: number }, target: TestRelay = relay): Promise<AppLinkTestClient> {
  const token = await target.mint(user);
  const c = await AppLinkTestClient.connect(target.wsUrl, token, resume);
  await c.waitUntil('earshot.session', () => c.session);
  return c;
}

async function closesWith(code: number): Promise<number> {
  const metric = await relay.metrics.closes.get();
  return metric.values.find((v) => v.labels.code === String(code))?.value ?? 0;
}

function sendAll(c: AppLinkTestClient, list = packets): void {
  for (const p of list) c.sendAudio(p.captureMs, p.opus);
}

/** The reply's packets: one stream, offsets contiguous from 0, ended once. */
function wholeStream(list: DownPacket[]): DownPacket[] {
  expect(list.length).toBeGreaterThan(3);
  let offset = 0;
  for (const p of list) {
    expect(p.sampleOffset).toBe(offset);
    offset += p.samples;
  }
  expect(list.filter(isEndOfStream)).toHaveLength(1);
  expect(isEndOfStream(list.at(-1)!)).toBe(true);
  return list;
}

/** Peak normalised cross-correlation over lags up to ±maxLag samples (codec delay, VAD edges). */
function correlation(a: Int16Array, b: Int16Array, maxLag = 1200): number {
  const n = Math.min(a.length, b.length) - maxLag;
  let best = 0;
  for (let lag = -maxLag; lag <= maxLag; lag += 2) {
    let ab = 0;
    let aa = 0;
    let bb = 0;
    for (let i = maxLag; i < n; i += 2) {
      const x = a[i]!;
      const y = b[i + lag] ?? 0;
      ab += x * y;
      aa += x * x;
      bb += y * y;
    }
    best = Math.max(best, ab / Math.sqrt(aa * bb || 1));
  }
  return best;
}

describe('earshot.v2: a spoken turn', () => {
  it('echoes earshot.v2, numbers earshot.session as message 1 and carries the session parameters', async () => {
    const c = await v2('v2-hello');
    expect(c.socket.protocol).toBe('earshot.v2');
    expect(c.events[0]).toMatchObject({ type: 'earshot.session', seq: 1, resumed: false, heartbeat_ms: 1000, resume_grace_ms: 30_000, audio: { codec: 'opus', sample_rate: 24_000 } });
    expect(c.session!.resume_token).toMatch(/^[A-Za-z0-9_-]{32}$/);
    await c.close();
  });

  it('Opus up → the simulator hears the speech → the reply arrives as Opus that decodes to the same echo as the v1 path', async () => {
    // v1 reference: the same speech as base64 pcm16.
    const v1 = await RealtimeTestClient.connect(relay.wsUrl, { headers: { authorization: `Bearer ${await relay.mint('v1-ref')}` } });
    await v1.waitFor('session.updated');
    v1.appendAudio(speech);
    await v1.waitFor('response.done');
    const reference = new Int16Array(Buffer.concat(v1.of('response.output_audio.delta').map((d) => Buffer.from(d.delta, 'base64'))).buffer.slice(0));
    await v1.close();

    const c = await v2('v2-turn');
    const updated = await c.waitFor('session.updated');
    const silenceMs = (updated.session as { audio: { input: { turn_detection: { silence_duration_ms: number } } } }).audio.input.turn_detection.silence_duration_ms;
    sendAll(c);
    const stopped = await c.waitFor('input_audio_buffer.speech_stopped');
    const clock = await c.waitFor('earshot.capture_clock', { where: (e) => e.event === 'input_audio_buffer.speech_stopped' });
    expect(clock.item_id).toBe(stopped.item_id);
    // The provider's audio clock maps back to the capture clock of the packets sent (they start at 0); its
    // audio_end_ms includes the silence window that confirmed the end, the capture stamp is where the voice stopped.
    expect(silenceMs).toBeGreaterThan(0);
    expect(clock.capture_ms).toBe((stopped.audio_end_ms as number) - silenceMs);
    const done = await c.waitFor('response.done');
    expect((done.response as { status: string }).status).toBe('completed');
    const announced = c.of('earshot.audio.stream');
    expect(announced).toHaveLength(1);
    const ref = announced[0]!.ref as number;
    // The stream is announced before its first packet, and output_audio.done follows its last.
    const list = wholeStream(c.streamPackets(ref));
    expect(announced[0]!.seq).toBeLessThan(list[0]!.seq);
    expect(c.of('response.output_audio.done')[0]!.seq).toBeGreaterThan(list.at(-1)!.seq);
    expect(c.of('response.output_audio.delta')).toHaveLength(0);
    const decoded = decodeStream(list);
    expect(Math.abs(decoded.length - reference.length)).toBeLessThan(24_000 * 0.3);
    const r = correlation(decoded, reference);
    console.log(`v2 reply vs v1 reply: ${decoded.length} vs ${reference.length} samples, correlation ${r.toFixed(3)}`);
    expect(r).toBeGreaterThan(0.6);
    await c.close();
  });

  it('with DTX (nothing sent during silence) the relay fills silence in real time, so server VAD still ends the turn', async () => {
    const c = await v2('v2-dtx');
    await c.waitFor('session.updated');
    // Send only packets with speech in them; after the last one, send nothing at all.
    const voiced = packets.filter((p) => p.level > 500);
    expect(voiced.length).toBeLessThan(packets.length - 20);
    sendAll(c, voiced);
    await c.waitFor('input_audio_buffer.speech_stopped');
    await c.waitFor('response.done');
    await c.close();
  });
});

describe('earshot.v2: what the provider receives', () => {
  let upstream: WebSocketServer;
  let received: Array<{ type: string; audio?: string }> = [];
  let recRelay: TestRelay;

  beforeAll(async () => {
    upstream = new WebSocketServer({ port: 0, host: '127.0.0.1' });
    await new Promise((r) => upstream.once('listening', r));
    upstream.on('connection', (socket: WsSocket) => {
      socket.send(JSON.stringify({ type: 'session.created', event_id: 'e0', session: {} }));
      socket.on('message', (data) => received.push(JSON.parse(data.toString()) as { type: string }));
    });
    const port = (upstream.address() as { port: number }).port;
    recRelay = await startTestRelay(
      { appLink: { transcodeWorkers: 1 } },
      { upstreamFactory: createWsUpstreamFactory({ url: `ws://127.0.0.1:${port}/v1/realtime`, authHeader: 'authorization', connectTimeoutMs: 2000 }) },
    );
  });
  afterAll(async () => {
    await recRelay.stop();
    await new Promise((r) => upstream.close(r));
  });

  it('a DISCONTINUITY packet clears the provider input buffer before the fresh audio, and a commit follows the audio sent before it', async () => {
    received = [];
    const c = await v2('v2-cut', undefined, recRelay);
    sendAll(c, packets.slice(0, 5)); // 200 ms: one 120 ms append goes out, 80 ms pending
    for (const [i, p] of packets.slice(40, 43).entries()) c.sendAudio(5_000 + i * 40, p.opus, i === 0 ? AudioUpFlags.Discontinuity : 0);
    c.send({ type: 'input_audio_buffer.commit' });
    await until('the commit at the provider', () => received.some((e) => e.type === 'input_audio_buffer.commit'));
    const types = received.map((e) => e.type);
    expect(types).toEqual(['session.update', 'input_audio_buffer.append', 'input_audio_buffer.clear', 'input_audio_buffer.append', 'input_audio_buffer.commit']);
    const ms = (e: { audio?: string }) => Buffer.from(e.audio!, 'base64').byteLength / 48;
    expect(ms(received[1]!)).toBe(120);
    expect(ms(received[3]!)).toBe(120); // the 3 fresh packets; the 80 ms pending before the cut were dropped
    await c.close();
  });

  it('while the app is away the provider still hears time pass: silence goes on in real time after the link drops', async () => {
    received = [];
    const c = await v2('v2-away-fill', undefined, recRelay);
    sendAll(c, packets.slice(0, 10)); // 400 ms said, then the link drops mid-sentence
    await until('the speech at the provider', () => received.some((e) => e.type === 'input_audio_buffer.append'));
    const audioMs = () => received.filter((e) => e.type === 'input_audio_buffer.append').reduce((ms, e) => ms + Buffer.from(e.audio!, 'base64').byteLength / 48, 0);
    c.dropTcp();
    await c.closed;
    const atDrop = audioMs();
    // 1.5 s more audio (silence) reaches the provider with nobody attached: enough for its VAD to end the turn.
    await until('silence after the drop', () => audioMs() >= atDrop + 1500, 10_000);
    const after = received.filter((e) => e.type === 'input_audio_buffer.append').slice(-3);
    expect(after.every((e) => Buffer.from(e.audio!, 'base64').every((b) => b === 0))).toBe(true);
    expect(received.some((e) => e.type === 'input_audio_buffer.clear')).toBe(false);
    // Come back and hang up, so this session's silence stops before the next test records.
    const back = await v2('v2-away-fill', { token: c.session!.resume_token, received: c.received }, recRelay);
    expect(back.session).toMatchObject({ resumed: true });
    await back.close(1000);
    await until('the session to end', () => !recRelay.sessions().has(c.session!.session_id));
  });

  it('coalesces 20 ms packets into appends of at least 100 ms', async () => {
    received = [];
    const c = await v2('v2-coalesce', undefined, recRelay);
    const small = encodeOpusPackets(speech.subarray(0, 24_000 * 2), 20); // 1 s in 50 packets
    sendAll(c, small);
    c.send({ type: 'input_audio_buffer.commit' });
    await until('the commit at the provider', () => received.some((e) => e.type === 'input_audio_buffer.commit'));
    const appends = received.filter((e) => e.type === 'input_audio_buffer.append');
    const lengths = appends.map((e) => Buffer.from(e.audio!, 'base64').byteLength / 48);
    expect(lengths.reduce((a, b) => a + b, 0)).toBe(1000);
    expect(lengths.slice(0, -1).every((ms) => ms >= 100)).toBe(true);
    expect(appends.length).toBeLessThanOrEqual(10);
    await c.close();
  });
});

describe('earshot.v2: audio rate limit by duration', () => {
  it('a 5 s backlog of 20 ms packets in one burst (250 messages, over the 200/s message limit) does not trip 4007', async () => {
    const backlog = encodeOpusPackets(Buffer.concat([speech, speech]).subarray(0, 24_000 * 2 * 5), 20);
    const c = await v2('v2-burst');
    expect(backlog).toHaveLength(250);
    sendAll(c, backlog);
    c.send({ type: 'input_audio_buffer.commit' });
    await c.waitFor('input_audio_buffer.committed');
    expect(c.socket.readyState).toBe(c.socket.OPEN);
    await c.close();
  });

  it('30 s of audio sent at once is refused with 4007', async () => {
    // Encoded before connecting: the test shares the relay's thread, and encoding would stall its heartbeat.
    const flood = encodeOpusPackets(Buffer.concat(Array.from({ length: 8 }, () => speech)).subarray(0, 24_000 * 2 * 30), 60);
    const c = await v2('v2-flood');
    const closesBefore = await closesWith(CloseCode.RateLimited);
    sendAll(c, flood);
    await c.closed;
    // The relay sends an error event and closes with 4007, but the client is still writing then, so a TCP reset
    // may swallow both on its side: the code is read from the relay's own close counter.
    expect(await closesWith(CloseCode.RateLimited)).toBe(closesBefore + 1);
    expect(relay.sessions().has(c.session!.session_id)).toBe(false);
    for (const e of c.of('error')) expect(e).toMatchObject({ error: { code: 'rate_limited' } });
  });
});

describe('earshot.v2: resume', () => {
  it('a TCP drop mid-reply, then a resume: the reply goes on from the next message, nothing repeated or lost, metered once', async () => {
    // Reference: an undisturbed v2 turn with the same audio (the simulator and the Opus encoder are deterministic).
    const ref = await v2('v2-resume-ref');
    await ref.waitFor('session.updated');
    sendAll(ref);
    await ref.waitFor('response.done');
    const refSamples = decodeStream(ref.packets).length;
    const refTranscript = ref.of('response.output_audio_transcript.delta').length;
    await ref.close();

    const opened = relay.upstreamsOpened();
    const a = await v2('v2-resume');
    const sessionId = a.session!.session_id;
    await a.waitFor('session.updated');
    sendAll(a);
    await a.waitUntil('the first reply packets', () => a.packets.length >= 3);
    a.dropTcp();
    await a.closed;
    const received = a.received;
    // Let the provider go on while the app is away, so there is something to replay.
    const deltasAtDrop = metered.get(sessionId)!.outputDeltas;
    await until('more reply from the provider while detached', () => metered.get(sessionId)!.outputDeltas >= deltasAtDrop + 2);
    const b = await v2('v2-resume', { token: a.session!.resume_token, received });
    expect(b.session).toMatchObject({ type: 'earshot.session', resumed: true, session_id: sessionId });
    expect(b.session!.resume_token).not.toBe(a.session!.resume_token);
    await b.waitFor('response.done');
    // Numbers continue where the first socket stopped: no gap, no duplicate.
    const seqs = [...a.events.map((e) => e.seq), ...a.packets.map((p) => p.seq), ...b.events.filter((e) => e.type !== 'earshot.session').map((e) => e.seq), ...b.packets.map((p) => p.seq)].sort((x, y) => x - y);
    expect(seqs.filter((s) => s <= received)).toHaveLength(received);
    expect(new Set(seqs).size).toBe(seqs.length);
    expect(seqs).toEqual(Array.from({ length: seqs.length }, (_, i) => i + 1));
    const all = [...a.packets, ...b.packets];
    const list = wholeStream(all);
    expect(decodeStream(list).length).toBe(refSamples);
    expect(a.of('response.output_audio_transcript.delta').length + b.of('response.output_audio_transcript.delta').length).toBe(refTranscript);
    // One provider session, metered once.
    expect(relay.upstreamsOpened()).toBe(opened + 1);
    await b.close();
    await until('the session to end', () => metered.get(sessionId)?.ends === 1);
    expect(metered.get(sessionId)!.outputDeltas).toBe(metered.get(ref.session!.session_id)!.outputDeltas);
  });

  it('a used resume token cannot be used again; a token of another user is refused and stays valid for its owner', async () => {
    const a = await v2('v2-owner');
    const first = a.session!;
    a.dropTcp();
    await a.closed;
    const other = await v2('v2-thief', { token: first.resume_token, received: a.received });
    expect(other.session).toMatchObject({ resumed: false, resume_failed: 'unknown' });
    expect(other.session!.session_id).not.toBe(first.session_id);
    await other.close();
    const b = await v2('v2-owner', { token: first.resume_token, received: a.received });
    expect(b.session).toMatchObject({ resumed: true, session_id: first.session_id });
    b.dropTcp();
    await b.closed;
    const again = await v2('v2-owner', { token: first.resume_token, received: b.received });
    expect(again.session).toMatchObject({ resumed: false, resume_failed: 'unknown' });
    await again.close();
    // The live session still resumes with the token it was last given.
    const c = await v2('v2-owner', { token: b.session!.resume_token, received: b.received });
    expect(c.session).toMatchObject({ resumed: true, session_id: first.session_id });
    await c.close();
  });

  it('a resume does not count as a second concurrent session for a user limited to one', async () => {
    const token = await relay.mint('v2-single', { user: { maxSessions: 1 } });
    const a = await AppLinkTestClient.connect(relay.wsUrl, token);
    await a.waitUntil('earshot.session', () => a.session);
    a.dropTcp();
    await a.closed;
    const b = await AppLinkTestClient.connect(relay.wsUrl, token, { token: a.session!.resume_token, received: a.received });
    await b.waitUntil('earshot.session', () => b.session);
    expect(b.session).toMatchObject({ resumed: true });
    await b.close();
  });

  it('a clean close (1000) ends the provider session at once, with no grace period', async () => {
    const a = await v2('v2-clean');
    const id = a.session!.session_id;
    expect(relay.sessions().has(id)).toBe(true);
    await a.close(1000);
    await until('the session to end', () => !relay.sessions().has(id));
    const b = await v2('v2-clean', { token: a.session!.resume_token, received: a.received });
    expect(b.session).toMatchObject({ resumed: false, resume_failed: 'unknown' });
    await b.close();
  });

  it('past the grace period the provider session is gone and a resume gets a fresh session with resume_failed: expired', async () => {
    const short = await startTestRelay({ appLink: { resumeGraceSeconds: 0.2, transcodeWorkers: 1 } });
    try {
      const a = await v2('v2-late', undefined, short);
      const id = a.session!.session_id;
      a.dropTcp();
      await a.closed;
      await until('the grace period to end the session', () => !short.sessions().has(id));
      const b = await v2('v2-late', { token: a.session!.resume_token, received: a.received }, short);
      expect(b.session).toMatchObject({ resumed: false, resume_failed: 'expired' });
      expect(b.session!.session_id).not.toBe(id);
      expect(b.events[0]).toMatchObject({ type: 'earshot.session', seq: 1 });
      await b.close();
    } finally {
      await short.stop();
    }
  });
});

describe('earshot.v2: bounded buffering while away', () => {
  it('a reply larger than the resume buffer while the app is away ends the session; the resume says buffer_overflow', async () => {
    const small = await startTestRelay({ appLink: { resumeBufferBytes: 4 * 1024, transcodeWorkers: 1 } });
    try {
      const a = await v2('v2-overflow', undefined, small);
      const id = a.session!.session_id;
      await a.waitFor('session.updated');
      sendAll(a);
      await a.waitFor('input_audio_buffer.speech_stopped');
      a.dropTcp();
      await a.closed;
      await until('the overflow to end the session', () => !small.sessions().has(id));
      const b = await v2('v2-overflow', { token: a.session!.resume_token, received: a.received }, small);
      expect(b.session).toMatchObject({ resumed: false, resume_failed: 'buffer_overflow' });
      await b.close();
    } finally {
      await small.stop();
    }
  });
});

describe('earshot.v2: liveness', () => {
  it('a client that stops answering heartbeats is detected dead by the relay, which keeps the session for a resume', async () => {
    const fast = await startTestRelay({ appLink: { heartbeatMs: 40, linkDeadMs: 150, transcodeWorkers: 1 } });
    try {
      const a = await v2('v2-silent', undefined, fast);
      await a.waitUntil('a few answered pings', () => a.pingsSeen >= 3);
      expect(a.socket.readyState).toBe(a.socket.OPEN);
      a.answerPings = false;
      await a.closed; // the relay let go of the socket: no close handshake, no waiting for uWS's idle timeout
      expect(fast.sessions().has(a.session!.session_id)).toBe(true);
      const b = await v2('v2-silent', { token: a.session!.resume_token, received: a.received }, fast);
      expect(b.session).toMatchObject({ resumed: true, session_id: a.session!.session_id });
      await b.close();
    } finally {
      await fast.stop();
    }
  });

  it('answers the client heartbeat with a pong echoing id and t (not counted as a message)', async () => {
    const c = await v2('v2-ping');
    const before = c.received;
    const pong = new Promise<{ id: number; t: number }>((resolve) =>
      c.socket.on('message', (data, isBinary) => {
        if (!isBinary) {
          const e = JSON.parse(data.toString()) as { type: string; id: number; t: number };
          if (e.type === 'earshot.pong') resolve(e);
        }
      }),
    );
    c.send({ type: 'earshot.ping', id: 7, t: 1234, ack: c.received });
    expect(await pong).toMatchObject({ id: 7, t: 1234 });
    expect(c.received).toBe(before);
    await c.close();
  });
});

describe('earshot.v2: the transcoding pool', () => {
  it('a crashed worker ends only the sessions it served (1011); others go on and new sessions get a fresh worker', async () => {
    const own = await startTestRelay({ appLink: { transcodeWorkers: 2 } });
    try {
      const a = await v2('v2-crash-a', undefined, own);
      const b = await v2('v2-crash-b', undefined, own);
      expect(own.appLinks.pool.channelCounts()).toEqual([1, 1]);
      await own.appLinks.pool.terminateWorker(0);
      expect((await a.closed).code).toBe(CloseCode.InternalError);
      expect(a.of('error').at(-1)).toMatchObject({ error: { code: 'transcoder_failed' } });
      await b.waitFor('session.updated');
      sendAll(b);
      await b.waitFor('response.done');
      expect(b.packets.length).toBeGreaterThan(3);
      const c = await v2('v2-crash-c', undefined, own);
      await c.waitFor('session.updated');
      sendAll(c);
      await c.waitFor('response.done');
      await b.close();
      await c.close();
      await until('every codec channel closed', () => own.appLinks.pool.channelCounts().every((n) => n === 0));
    } finally {
      await own.stop();
    }
  });
});
