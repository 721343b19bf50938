// Hostile input against a running relay: property-based junk frames, header abuse, slow upgrades, floods.
// The relay must never crash, never forward a refused event, keep serving, and keep its memory bounded. What was
// forwarded is judged where it arrived: a capturing `ws` upstream reads each frame with JSON.parse, as a provider
// would (never with the relay's own parser, which is what is under test). Counts of inputs and memory are printed.
import { rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { SignJWT } from 'jose';
import { RealtimeTestClient } from './testing/realtime-client.ts';
import { InspectorSession } from './testing/live-memory.ts';
import { mintTokens } from './testing/mint-tokens.ts';
import { spawnRelayProcess, startTestRelay, tempDataDir, type TestRelay } from './testing/start-relay.ts';
import { startCapturingUpstream, type CapturingUpstream } from './testing/capturing-upstream.ts';
import { createWsUpstreamFactory } from './upstream/ws-upstream.ts';

const ALLOWED = ['input_audio_buffer.append', 'input_audio_buffer.clear', 'session.update', 'response.cancel'] as const;
const VOICES = ['marin', 'cedar'];
const CONFIG = {
  // maxEventBytes as large as a frame: deep and duplicate-key frames are then parsed, the worst case for the relay.
  limits: { maxFrameBytes: 256 * 1024, maxEventBytes: 256 * 1024, maxMessagesPerSecond: 100_000, failedAuthPerMinute: 100_000 },
  policy: { allowedClientEvents: [...ALLOWED], clientMutableFields: ['audio.output.voice'], voices: VOICES },
};
const deep = (n: number) => '{"type":"session.update","session":'.concat('{"a":'.repeat(n), '1', '}'.repeat(n), '}');
/** Two spellings of `type` in one object: the first, the last, or an escaped one may be what a parser keeps. */
const twoTypes = fc
  .tuple(fc.constantFrom(...ALLOWED, 'response.create', 'conversation.item.create'), fc.constantFrom(...ALLOWED, 'response.create'), fc.constantFrom('"type"', '"\\u0074ype"', '"t\\u0079pe"'), fc.boolean())
  .map(([a, b, key, audioFirst]) => {
    const body = '"session":{"instructions":"pwned","audio":{"output":{"voice":"unlisted"}}},"audio":"AAAA"';
    return audioFirst ? `{${body},"type":"${a}",${key}:"${b}"}` : `{"type":"${a}",${body},${key}:"${b}"}`;
  });
/** One hostile frame: a string is sent as a text frame, a Buffer as a binary frame. */
const junkFrame: fc.Arbitrary<string | Buffer> = fc.oneof(
  fc.uint8Array({ maxLength: 2000 }).map((b) => Buffer.from(b)), // random bytes, often bad UTF-8
  fc.string({ maxLength: 500 }),
  fc.jsonValue({ maxDepth: 4 }).map((v) => JSON.stringify(v)),
  fc.record({ type: fc.oneof(fc.constantFrom(...ALLOWED, 'response.create', 'conversation.item.create', '__proto__'), fc.string(), fc.integer(), fc.constant(null)), event_id: fc.oneof(fc.string(), fc.integer(), fc.object()) }).map((v) => JSON.stringify(v)),
  fc.record({ type: fc.constant('session.update'), session: fc.oneof(fc.object({ maxDepth: 3 }), fc.string(), fc.constant(null), fc.record({ audio: fc.record({ output: fc.record({ voice: fc.oneof(fc.string(), fc.integer()) }) }) })) }).map((v) => JSON.stringify(v)),
  fc.integer({ min: 10, max: 40_000 }).map(deep),
  twoTypes,
  fc.integer({ min: 1, max: 200 }).map((kb) => JSON.stringify({ type: 'input_audio_buffer.append', audio: 'A'.repeat(kb * 1024) })),
);
let relay: TestRelay;
let token: string;
let upstream: CapturingUpstream;

/** Each frame the upstream received, as JSON.parse read it there; the relay's own policy update left out. */
function forwarded(connection?: number): Array<Record<string, unknown>> {
  return upstream.frames
    .filter((f) => connection === undefined || f.connection === connection)
    .map((f) => (typeof f.value === 'object' && f.value !== null && !Array.isArray(f.value) ? (f.value as Record<string, unknown>) : { type: 'NOT A JSON OBJECT', raw: f.unparsed ?? f.value }))
    .filter((e) => e.event_id !== 'relay_policy');
}

beforeAll(async () => {
  upstream = await startCapturingUpstream();
  relay = await startTestRelay(CONFIG, { upstreamFactory: createWsUpstreamFactory({ url: upstream.url, authHeader: 'authorization', connectTimeoutMs: 5000 }) });
  token = await relay.mint('fuzzer', { user: { maxSessions: 100 } });
});
afterAll(async () => {
  await relay.stop();
  await upstream.close();
});

/** An HTTP status, `dropped` (the server closed without sending a byte), `hung` (nothing in 30 s) or `garbled`. */
type UpgradeOutcome = number | 'dropped' | 'hung' | 'garbled';

/** Writes an upgrade request byte for byte (latin1), so no client library can refuse or escape a header. */
function rawUpgrade(port: number, headers: Array<[string, string]>): Promise<UpgradeOutcome> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    let head = '';
    let settled = false;
    const settle = (outcome: UpgradeOutcome) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      resolve(outcome);
    };
    const timer = setTimeout(() => settle('hung'), 30_000);
    socket.on('error', () => {}); // a reset shows up as the close below
    socket.on('data', (chunk: Buffer) => {
      head += chunk.toString('latin1');
      if (!head.includes('\r\n')) return;
      const status = /^HTTP\/1\.1 (\d{3}) /.exec(head);
      settle(status ? Number(status[1]) : 'garbled');
    });
    socket.on('close', () => settle(head === '' ? 'dropped' : 'garbled'));
    const lines = ['GET /v1/realtime?model=gpt-realtime HTTP/1.1', `Host: 127.0.0.1:${port}`, 'Upgrade: websocket', 'Connection: Upgrade', 'Sec-WebSocket-Version: 13', `Sec-WebSocket-Key: ${Buffer.alloc(16, 3).toString('base64')}`];
    socket.write([...lines, ...headers.map(([k, v]) => `${k}: ${v}`), '', ''].join('\r\n'), 'latin1');
  });
}

async function healthy(): Promise<boolean> {
  return (await fetch(`${relay.url}/healthz`)).status === 200;
}

describe('hostile input', () => {
  it('survives random frames and forwards only allowed, readable events', async () => {
    const c = await RealtimeTestClient.connect(relay.wsUrl, { headers: { authorization: `Bearer ${token}` } });
    await c.waitFor('session.updated');
    let tried = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(junkFrame, { minLength: 1, maxLength: 20 }), async (frames) => {
        for (const f of frames) {
          tried++;
          if (typeof f === 'string') c.socket.send(f);
          else c.socket.send(f, { binary: true });
        }
      }),
      { numRuns: 150 },
    );
    // Fragmented frames: one event split across continuation frames.
    const fragmented = JSON.stringify({ type: 'input_audio_buffer.clear', event_id: 'frag' });
    c.socket.send(fragmented.slice(0, 10), { fin: false });
    c.socket.send(fragmented.slice(10), { fin: true });
    tried++;
    await c.waitFor('input_audio_buffer.cleared', { timeoutMs: 90_000, where: () => forwarded().some((e) => e.event_id === 'frag') });
    const all = forwarded();
    console.log(`hostile frames tried: ${tried}; forwarded upstream: ${all.length}; error events back: ${c.of('error').length}`);
    expect(all.filter((e) => typeof e.type !== 'string' || !(ALLOWED as readonly string[]).includes(e.type))).toEqual([]);
    // A forwarded session.update carries only what a client may change: `audio.output.voice`, an offered one.
    for (const update of all.filter((e) => e.type === 'session.update')) {
      const session = update.session as { audio?: { output?: { voice?: unknown } } } & Record<string, unknown>;
      expect(Object.keys(session).filter((k) => k !== 'audio')).toEqual([]);
      if (session.audio !== undefined) {
        // (an empty `audio` or `audio.output` the client sent changes nothing and may pass)
        expect(Object.keys(session.audio).filter((k) => k !== 'output')).toEqual([]);
        expect(Object.keys(session.audio.output ?? {}).filter((k) => k !== 'voice')).toEqual([]);
        if (session.audio.output?.voice !== undefined) expect(VOICES).toContain(session.audio.output.voice);
      }
    }
    expect(await healthy()).toBe(true);
    await c.close();
  }, 180_000);

  it('drops a connection that sends invalid UTF-8 as text (RFC 6455) and forwards nothing from it', async () => {
    const c = await RealtimeTestClient.connect(relay.wsUrl, { headers: { authorization: `Bearer ${token}` } });
    await c.waitFor('session.updated');
    const connection = upstream.connections();
    c.socket.send(Buffer.from([0x7b, 0x22, 0x74, 0xff, 0xfe, 0x22, 0x7d]), { binary: false });
    const closed = await c.closed;
    expect([1006, 1007]).toContain(closed.code);
    expect(forwarded(connection)).toEqual([]); // only the relay's own policy session.update went up
    expect(await healthy()).toBe(true);
  });

  it('refuses abusive headers and tokens of every shape with 4xx (or a dropped connection for broken HTTP) and keeps serving', async () => {
    const before = relay.upstreamsOpened();
    const none = `${Buffer.from('{"alg":"none"}').toString('base64url')}.${Buffer.from('{"sub":"fuzzer","jti":"x","exp":9999999999,"iss":"earshot"}').toString('base64url')}.`;
    const otherSecret = await new SignJWT({}).setProtectedHeader({ alg: 'HS256' }).setIssuer('earshot').setSubject('fuzzer').setJti('x').setExpirationTime('1h').sign(new Uint8Array(32).fill(9));
    const pending: Array<Promise<{ label: string; sample: string; outcome: UpgradeOutcome; malformed: boolean }>> = [];
    // This uWS build neither answers nor closes a request that breaks HTTP/1.1 framing (a control character other
    // than HTAB in a field value, RFC 9110 §5.5, or more header lines than its fixed table of 50): it sends nothing
    // and closes the connection when its HTTP idle timer fires (~10-12 s). That wait is why attempts run at once.
    const attempt = (label: string, headers: Array<[string, string]>) => {
      const malformed = 5 + headers.length >= 50 || headers.some(([, v]) => /[\x00-\x08\x0a-\x1f]/.test(v));
      const sample = JSON.stringify(headers).slice(0, 120);
      pending.push(rawUpgrade(relay.port, headers).then((outcome) => ({ label, sample, outcome, malformed })));
    };
    const shapes = [none, otherSecret, 'a.b.c', '...', 'x'.repeat(5000), `${token}x`, token.split('.').reverse().join('.'), '\u0000', '\u0001\u007f\u00ff', 'Bearer', ''];
    for (const t of shapes) {
      attempt('bearer', [['authorization', `Bearer ${t}`]]);
      attempt('subprotocol', [['sec-websocket-protocol', `earshot.v1, earshot-token.${t}`]]);
    }
    attempt('60 KB token', [['authorization', `Bearer ${'A'.repeat(60_000)}`]]);
    attempt('100 subprotocols', [['authorization', `Bearer ${token}`], ['sec-websocket-protocol', Array.from({ length: 100 }, (_, i) => `p${i}`).join(', ')]]);
    attempt('60 headers', [['authorization', `Bearer ${token}`], ['origin', 'https://evil.example'], ...Array.from({ length: 60 }, (_, i): [string, string] => [`x-h${i}`, 'v'])]);
    // Any byte but CR and LF (those would end the header, not abuse it), straight onto the wire: a client library
    // would refuse to send most of these, which is how the previous version of this test never reached the relay.
    const anyByte = fc.integer({ min: 0, max: 255 }).filter((b) => b !== 0x0a && b !== 0x0d).map((b) => String.fromCharCode(b));
    fc.assert(
      fc.property(fc.string({ unit: anyByte, maxLength: 300 }), fc.boolean(), (junk, bearer) => {
        attempt('junk', [['authorization', bearer ? `Bearer ${junk}` : junk]]);
      }),
      { numRuns: 80 },
    );
    const outcomes = await Promise.all(pending);
    const tally = new Map<string, number>();
    for (const { outcome, malformed } of outcomes) {
      const key = `${outcome}${malformed ? ' (malformed)' : ''}`;
      tally.set(key, (tally.get(key) ?? 0) + 1);
    }
    console.log(`abusive upgrades tried: ${outcomes.length}; outcomes: ${[...tally].map(([k, n]) => `${n} × ${k}`).join(', ')}`);
    // A refusal is a 4xx; only a request that is not valid HTTP may instead be dropped unanswered (a 400 would
    // be fine too). Never a 5xx, a 101, a connection left open, or a well-formed request dropped.
    const wrong = outcomes.filter(({ outcome, malformed }) => !((typeof outcome === 'number' && outcome >= 400 && outcome < 500) || (outcome === 'dropped' && malformed)));
    expect(wrong).toEqual([]);
    expect(outcomes.filter((o) => o.malformed).length).toBeGreaterThan(0);
    expect(relay.upstreamsOpened()).toBe(before);
    expect(await healthy()).toBe(true);
  }, 60_000);

  it('holds slow, never-finished upgrades without blocking others', async () => {
    const sockets = Array.from({ length: 50 }, () => connect(relay.port, '127.0.0.1'));
    const request = `GET /v1/realtime HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: ${Buffer.alloc(16, 1).toString('base64')}\r\n`;
    for (let i = 0; i < 20; i++) {
      for (const s of sockets) s.write(request[i % request.length]!);
      await new Promise((r) => setTimeout(r, 50));
    }
    // Meanwhile a real user connects and talks.
    const c = await RealtimeTestClient.connect(relay.wsUrl, { headers: { authorization: `Bearer ${token}` } });
    await c.waitFor('session.created');
    await c.close();
    for (const s of sockets) s.destroy();
    expect(await healthy()).toBe(true);
  });

  it('keeps the relay process\'s memory bounded over repeated junk barrages', async () => {
    // A relay process of its own, so its memory is the relay's alone (not vitest's, the clients' or the test's).
    const dataDir = tempDataDir();
    const configFile = join(dataDir, 'config.json');
    writeFileSync(configFile, JSON.stringify(CONFIG));
    const { fuzzer: fuzzerToken } = await mintTokens(dataDir, [{ id: 'fuzzer', maxSessions: 100 }]);
    const proc = await spawnRelayProcess({ EARSHOT_DATA_DIR: dataDir, EARSHOT_CONFIG: configFile }, { nodeArgs: ['--inspect=127.0.0.1:0'] });
    const inspector = await InspectorSession.connect(proc.inspectorUrl!);
    // The same frames every round, so rounds differ only in what the relay kept from the ones before.
    const frames = fc.sample(junkFrame, { numRuns: 1200, seed: 8 });
    const bytesPerRound = frames.reduce((n, f) => n + Buffer.byteLength(f), 0);
    const ROUNDS = 6;
    const rss: number[] = [];
    const live: number[] = [];
    try {
      for (let round = 1; round <= ROUNDS; round++) {
        const c = await RealtimeTestClient.connect(`ws://127.0.0.1:${proc.port}/v1/realtime`, { headers: { authorization: `Bearer ${fuzzerToken}` } });
        await c.waitFor('session.updated');
        for (const f of frames) c.socket.send(f, { binary: typeof f !== 'string' });
        // The relay handles a connection's frames in order, so its refusal of this one means it read them all.
        const marker = `end-of-round-${round}`;
        c.send({ type: 'conversation.item.create', event_id: marker });
        await c.waitFor('error', { timeoutMs: 60_000, where: (e) => e.error.event_id === marker });
        await c.close();
        for (let i = 0; ; i++) {
          const health = (await (await fetch(`${proc.url}/healthz`)).json()) as { sessions: number };
          if (health.sessions === 0) break;
          if (i > 100) throw new Error('session did not end');
          await new Promise((r) => setTimeout(r, 50));
        }
        const m = await inspector.measure();
        rss.push(m.rssBytes);
        live.push(m.heapUsedBytes + m.externalBytes);
      }
    } finally {
      inspector.close();
      await proc.stop();
      rmSync(dataDir, { recursive: true, force: true });
    }
    const mb = (n: number) => (n / 2 ** 20).toFixed(1);
    // Round 1 warms up (JIT, metric children, pools). After it, live memory (heap + Buffers after a full GC) must
    // stay flat: a relay keeping even 5 % of what it is sent would grow > 3 MB over the later rounds.
    const measured = ROUNDS - 1;
    const growth = live[ROUNDS - 1]! - live[0]!;
    console.log(
      `memory under junk: ${frames.length} frames (${mb(bytesPerRound)} MB) per round × ${ROUNDS} rounds = ${frames.length * ROUNDS} inputs; ` +
        `live MB after GC by round ${live.map(mb).join(' → ')}; RSS MB ${rss.map(mb).join(' → ')}; ` +
        `live growth after round 1: ${mb(growth)} MB over ${mb(bytesPerRound * measured)} MB of input`,
    );
    expect(growth).toBeLessThan(3 * 2 ** 20);
  }, 120_000);

  it('answers a flood of bad attempts from one address with 429 too_many_failed_attempts', async () => {
    const r = await startTestRelay({ limits: { failedAuthPerMinute: 20 } });
    const codes: number[] = [];
    for (let i = 0; i < 300; i++) {
      const res = await fetch(`${r.url}/api/session-check`, { headers: { authorization: 'Bearer bad.bad.bad' } });
      codes.push(res.status);
      if (res.status === 429) {
        const body = (await res.json()) as { error: { code: string; message: string } };
        expect(body.error.code).toBe('too_many_failed_attempts');
        expect(res.headers.get('retry-after')).toBe('60');
      } else await res.arrayBuffer();
    }
    console.log(`flood: ${codes.filter((c) => c === 401).length} × 401 then ${codes.filter((c) => c === 429).length} × 429`);
    expect(codes.slice(0, 20).every((c) => c === 401)).toBe(true);
    expect(codes.slice(20).every((c) => c === 429)).toBe(true);
    expect(r.upstreamsOpened()).toBe(0);
    await r.stop();
  });
});
