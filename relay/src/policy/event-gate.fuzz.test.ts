// Fuzz of the client-event gate through the real relay process over real sockets (issue 11): random JSON shapes —
// deep nesting, duplicate and escaped keys, huge numbers, long strings, lone surrogates, invalid UTF-8, binary and
// truncated frames — from real ws clients, and a capturing `ws` upstream that reads what arrived with JSON.parse.
// Nothing disallowed may arrive there (a type not allowed, a locked field, an unlisted voice, anything too deep),
// and the relay must be alive after. Prints: frames tried, forwarded, refused, connections dropped, relay alive.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import WebSocket from 'ws';
import { startCapturingUpstream, spawnRelayBehind, type CapturingUpstream, type RelayBehindCapture } from '../testing/capturing-upstream.ts';
import { RealtimeTestClient } from '../testing/realtime-client.ts';

const ALLOWED = ['session.update', 'input_audio_buffer.append', 'input_audio_buffer.clear', 'input_audio_buffer.commit', 'conversation.item.delete'];
const FORBIDDEN = ['response.create', 'conversation.item.create', 'session.close', 'output_audio_buffer.clear'];
const VOICES = ['marin', 'cedar'];
const OPERATOR = 'Operator instructions.';
const CONFIG = {
  limits: { maxFrameBytes: 2 * 1024 * 1024, maxMessagesPerSecond: 100_000, failedAuthPerMinute: 100_000 },
  policy: { instructions: OPERATOR, voice: 'marin', voices: VOICES, clientMutableFields: ['type', 'audio.output.voice'], allowedClientEvents: ALLOWED },
};

/** Container depth of a parsed value, computed here (not with the relay's code): `{}` is 1. */
function depth(value: unknown): number {
  let max = 0;
  const stack: Array<[unknown, number]> = [[value, 1]];
  while (stack.length > 0) {
    const [v, d] = stack.pop()!;
    if (typeof v !== 'object' || v === null) continue;
    max = Math.max(max, d);
    for (const child of Object.values(v)) stack.push([child, d + 1]);
  }
  return max;
}

// ---- what the fuzzer sends ---------------------------------------------------------------------------------

const str = (s: string) => JSON.stringify(s);
const typeKey = fc.constantFrom('"type"', '"\\u0074ype"', '"typ\\u0065"', '"\\u0074\\u0079\\u0070\\u0065"');
const typeValue = fc.oneof(
  fc.constantFrom(...ALLOWED, ...FORBIDDEN, 'response.bogus', '__proto__', '').map(str),
  fc.constantFrom('"session\\u002eupdate"', '"input_audio_buffer\\u002eappend"', '"response\\u002ecreate"', '"conversation.item.creat\\u0065"'),
  fc.constantFrom('1', 'null', '[]', '{}', 'true'),
);
const scalar = fc.oneof(
  fc.constantFrom('1e400', '-1e400', '123456789012345678901234567890', '-0', '0.1e-999', '"\\ud800"', '"\\udfff\\ud800"', '"\\u0000"', 'null', 'true'),
  fc.string({ maxLength: 40 }).map(str),
  fc.integer().map(String),
  fc.integer({ min: 1, max: 80_000 }).map((n) => str('x'.repeat(n))),
);
const nested = fc.tuple(fc.oneof(fc.integer({ min: 1, max: 100 }), fc.integer({ min: 60, max: 10_000 }), fc.integer({ min: 1, max: 100_000 })), fc.constantFrom('{"a":', '[', '{"type":'), scalar).map(([n, open, leaf]) => open.repeat(n) + leaf + (open === '[' ? ']' : '}').repeat(n));
const lockedSession = fc
  .record(
    {
      instructions: fc.constantFrom('pwned', OPERATOR),
      model: fc.constantFrom('gpt-realtime', 'gpt-expensive'),
      max_output_tokens: fc.constantFrom(5, 'inf'),
      tools: fc.constant([{ type: 'function', name: 'evil' }]),
      tracing: fc.constant('auto'),
      type: fc.constantFrom('realtime', 'transcription'),
      bogus: fc.constant(1),
      audio: fc.record({ output: fc.record({ voice: fc.constantFrom(...VOICES, 'unlisted', 'MARIN'), speed: fc.constantFrom(1, 2) }, { requiredKeys: [] }) }, { requiredKeys: [] }),
    },
    { requiredKeys: [] },
  )
  .map((s) => JSON.stringify(s));
const value = fc.oneof({ weight: 4, arbitrary: scalar }, { weight: 2, arbitrary: lockedSession }, { weight: 1, arbitrary: nested }, { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 4 }).map((v) => JSON.stringify(v)) });
const key = fc.oneof({ weight: 3, arbitrary: typeKey }, { weight: 6, arbitrary: fc.constantFrom('"session"', '"audio"', '"event_id"', '"item"', '"response"', '"__proto__"', '"\\u0073ession"') }, { weight: 1, arbitrary: fc.string({ maxLength: 8 }).map(str) });
const member = fc.oneof(fc.tuple(typeKey, typeValue), fc.tuple(key, value), fc.tuple(fc.constant('"audio"'), fc.constant(str(Buffer.alloc(960, 9).toString('base64'))))).map(([k, v]) => `${k}:${v}`);
const object = fc.array(member, { minLength: 1, maxLength: 6 }).map((ms) => `{${ms.join(',')}}`);

/** Well-formed events of every type, with locked, mutable and unknown fields: most of what real clients send. */
const wellFormed = fc.oneof(
  fc.tuple(lockedSession, fc.option(fc.string({ maxLength: 12 }))).map(([session, id]) => `{"type":"session.update",${id === null ? '' : `"event_id":${str(id)},`}"session":${session}}`),
  fc.tuple(fc.constantFrom(...ALLOWED, ...FORBIDDEN), fc.dictionary(fc.constantFrom('item_id', 'item', 'response', 'audio', 'event_id'), fc.jsonValue({ maxDepth: 3 }), { maxKeys: 3 })).map(([type, rest]) => JSON.stringify({ ...rest, type })),
  fc.string({ maxLength: 12 }).map((id) => JSON.stringify({ type: 'input_audio_buffer.append', event_id: id, audio: Buffer.alloc(960, 1).toString('base64') })),
);

type Frame = { kind: 'text'; text: string } | { kind: 'binary'; bytes: Uint8Array } | { kind: 'bad-utf8'; bytes: Uint8Array };
const frame: fc.Arbitrary<Frame> = fc.oneof(
  { weight: 10, arbitrary: object.map((text): Frame => ({ kind: 'text', text })) },
  { weight: 6, arbitrary: wellFormed.map((text): Frame => ({ kind: 'text', text })) },
  { weight: 2, arbitrary: fc.tuple(object, fc.nat()).map(([t, cut]): Frame => ({ kind: 'text', text: t.slice(0, cut % (t.length + 1)) })) },
  { weight: 2, arbitrary: fc.oneof(nested, fc.jsonValue({ maxDepth: 6 }).map((v) => JSON.stringify(v)), fc.string({ maxLength: 200 })).map((text): Frame => ({ kind: 'text', text })) },
  { weight: 1, arbitrary: fc.uint8Array({ maxLength: 300 }).map((bytes): Frame => ({ kind: 'binary', bytes })) },
  { weight: 1, arbitrary: fc.uint8Array({ minLength: 1, maxLength: 40 }).map((b): Frame => ({ kind: 'bad-utf8', bytes: Uint8Array.from([0x7b, 0x22, ...b, 0xc3, 0x28, 0x22, 0x7d]) })) },
);

// ---- the run -------------------------------------------------------------------------------------------------

let upstream: CapturingUpstream;
let relay: RelayBehindCapture;
beforeAll(async () => {
  upstream = await startCapturingUpstream();
  relay = await spawnRelayBehind(upstream, CONFIG, ['fuzzer', 'normal']);
}, 60_000);
afterAll(async () => {
  await relay?.stop();
  await upstream?.close();
});

let earlyDrops = 0;
/**
 * A fresh session. A connection may drop before its first event when the upstream server runs in this test process
 * (seen on main's code too, never with the upstream in its own process, never once a session is up): retry those.
 */
async function connectFuzzer(): Promise<RealtimeTestClient> {
  for (let attempt = 1; ; attempt++) {
    const c = await RealtimeTestClient.connect(relay.wsUrl, { headers: { authorization: `Bearer ${relay.token('fuzzer')}` } });
    try {
      await c.waitFor('session.updated');
      return c;
    } catch (err) {
      if (c.events.length > 0 || attempt === 5) throw err;
      earlyDrops++;
    }
  }
}

describe('fuzzing the client-event gate through the relay', () => {
  it('forwards nothing disallowed, whatever the shape, and the relay stays alive', async () => {
    let tried = 0;
    let dropped = 0;
    const clients: RealtimeTestClient[] = [];
    await fc.assert(
      fc.asyncProperty(fc.array(frame, { minLength: 1, maxLength: 30 }), async (frames) => {
        const c = await connectFuzzer();
        clients.push(c);
        // Invalid UTF-8 fails the connection (RFC 6455), so it goes last: the frames before it are still judged.
        frames.sort((a, b) => Number(a.kind === 'bad-utf8') - Number(b.kind === 'bad-utf8'));
        for (const f of frames) {
          tried++;
          if (f.kind === 'text') c.socket.send(f.text);
          else c.socket.send(f.bytes, { binary: f.kind === 'binary' });
        }
        // The relay handles one connection's frames in order: the marker's answer means all were judged.
        c.send({ type: 'input_audio_buffer.clear', event_id: 'marker' });
        try {
          await c.waitFor('input_audio_buffer.cleared', { timeoutMs: 20_000 });
        } catch (err) {
          // Only invalid UTF-8 in a text frame may end a connection (RFC 6455: the relay must fail it).
          if (!frames.some((f) => f.kind === 'bad-utf8')) throw err;
          dropped++;
        }
        if (c.socket.readyState === WebSocket.OPEN) await c.close();
      }),
      { numRuns: 200, seed: Number(process.env.FUZZ_SEED ?? 20261201) },
    );

    const received = upstream.frames.filter((f) => !(typeof f.value === 'object' && f.value !== null && (f.value as { event_id?: unknown }).event_id === 'relay_policy'));
    const forwarded = received.filter((f) => (f.value as { event_id?: unknown } | undefined)?.event_id !== 'marker');
    const refusedByRelay = clients.flatMap((c) => c.of('error')).filter((e) => e.event_id.startsWith('relay_err_')).length;
    const alive = await relay.healthy();
    console.log(`gate fuzz: ${tried} frames tried, ${forwarded.length} forwarded, ${refusedByRelay} refused by the relay, ${dropped} connections dropped for invalid UTF-8 (${earlyDrops} reconnects before a first event), relay alive: ${alive}`);

    expect(received.filter((f) => f.binary || f.value === undefined || typeof f.value !== 'object' || f.value === null || Array.isArray(f.value))).toEqual([]);
    const events = received.map((f) => f.value as Record<string, unknown>);
    expect(events.filter((e) => typeof e.type !== 'string' || !ALLOWED.includes(e.type)).map((e) => JSON.stringify(e).slice(0, 200))).toEqual([]);
    expect(events.filter((e) => depth(e) > 64).length).toBe(0);
    for (const update of events.filter((e) => e.type === 'session.update')) {
      const session = update.session as Record<string, unknown> & { audio?: { output?: Record<string, unknown> } };
      // Only the mutable fields: `type` and `audio.output.voice`, and only an offered voice.
      expect(Object.keys(session).filter((k) => k !== 'type' && k !== 'audio')).toEqual([]);
      if (session.audio !== undefined) {
        // (an empty `audio` or `audio.output` the client sent changes nothing and may pass)
        expect(Object.keys(session.audio).filter((k) => k !== 'output')).toEqual([]);
        expect(Object.keys(session.audio.output ?? {}).filter((k) => k !== 'voice')).toEqual([]);
        if (session.audio.output?.voice !== undefined) expect(VOICES).toContain(session.audio.output.voice);
      }
    }
    // What the provider made of it: every session it described kept the operator's locked fields.
    for (const updated of clients.flatMap((c) => c.of('session.updated'))) {
      const s = updated.session as { instructions?: string; model?: string; max_output_tokens?: unknown; tools?: unknown[]; audio?: { output?: { voice?: string } } };
      expect([s.instructions, s.model, s.max_output_tokens, s.tools ?? []]).toEqual([OPERATOR, 'gpt-realtime', 'inf', []]);
      expect(VOICES).toContain(s.audio?.output?.voice);
    }

    // Alive: /healthz answers and a normal session still works end to end.
    expect(alive).toBe(true);
    expect(relay.proc.child.exitCode).toBeNull();
    const normal = await RealtimeTestClient.connect(relay.wsUrl, { headers: { authorization: `Bearer ${relay.token('normal')}` } });
    await normal.waitFor('session.updated');
    normal.send({ type: 'session.update', session: { type: 'realtime', audio: { output: { voice: 'cedar' } } } });
    await normal.waitFor('session.updated', { where: (e) => (e.session as { audio?: { output?: { voice?: string } } }).audio?.output?.voice === 'cedar' });
    expect(normal.of('error')).toEqual([]);
    await normal.close();
  }, 120_000);
});
