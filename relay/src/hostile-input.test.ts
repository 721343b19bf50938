// Hostile input against a running relay: property-based junk frames, header abuse, slow upgrades, floods.
// The relay must never crash, never forward a refused event, and keep serving. Counts of inputs are printed.
import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { SignJWT } from 'jose';
import WebSocket from 'ws';
import { RealtimeTestClient } from './testing/realtime-client.ts';
import { startTestRelay, type TestRelay } from './testing/start-relay.ts';
import { createSimulatorUpstreamFactory } from './simulator/in-process.ts';
import type { UpstreamFactory } from './upstream/upstream.ts';
import { peekType } from './policy/peek-type.ts';

const ALLOWED = ['input_audio_buffer.append', 'input_audio_buffer.clear', 'session.update', 'response.cancel'] as const;
let relay: TestRelay;
let token: string;
const forwarded: string[] = [];

beforeAll(async () => {
  const sim = createSimulatorUpstreamFactory();
  const counting: UpstreamFactory = (o, h) => {
    const up = sim(o, h);
    return {
      ...up,
      send(frame) {
        forwarded.push(peekType(typeof frame === 'string' ? Buffer.from(frame) : frame) ?? 'UNREADABLE');
        up.send(frame);
      },
    };
  };
  relay = await startTestRelay(
    { limits: { maxFrameBytes: 256 * 1024, maxMessagesPerSecond: 100_000, failedAuthPerMinute: 100_000 }, policy: { allowedClientEvents: [...ALLOWED], clientMutableFields: ['audio.output.voice'] } },
    { upstreamFactory: counting },
  );
  token = await relay.mint('fuzzer', { user: { maxSessions: 100 } });
});
afterAll(async () => {
  await relay.stop();
});

async function healthy(): Promise<boolean> {
  return (await fetch(`${relay.url}/healthz`)).status === 200;
}

describe('hostile input', () => {
  it('survives random frames and forwards only allowed, readable events', async () => {
    const c = await RealtimeTestClient.connect(relay.wsUrl, { headers: { authorization: `Bearer ${token}` } });
    await c.waitFor('session.updated');
    const deep = (n: number) => '{"type":"session.update","session":'.concat('{"a":'.repeat(n), '1', '}'.repeat(n), '}');
    const frame = fc.oneof(
      fc.uint8Array({ maxLength: 2000 }).map((b) => Buffer.from(b)), // random bytes, often bad UTF-8
      fc.string({ maxLength: 500 }),
      fc.jsonValue({ maxDepth: 4 }).map((v) => JSON.stringify(v)),
      fc.record({ type: fc.oneof(fc.constantFrom(...ALLOWED, 'response.create', 'conversation.item.create', '__proto__'), fc.string(), fc.integer(), fc.constant(null)), event_id: fc.oneof(fc.string(), fc.integer(), fc.object()) }).map((v) => JSON.stringify(v)),
      fc.record({ type: fc.constant('session.update'), session: fc.oneof(fc.object({ maxDepth: 3 }), fc.string(), fc.constant(null), fc.record({ audio: fc.record({ output: fc.record({ voice: fc.oneof(fc.string(), fc.integer()) }) }) })) }).map((v) => JSON.stringify(v)),
      fc.integer({ min: 10, max: 3000 }).map(deep),
      fc.integer({ min: 1, max: 200 }).map((kb) => JSON.stringify({ type: 'input_audio_buffer.append', audio: 'A'.repeat(kb * 1024) })),
    );
    let tried = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(frame, { minLength: 1, maxLength: 20 }), async (frames) => {
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
    await c.waitFor('input_audio_buffer.cleared', { timeoutMs: 15_000, where: () => forwarded.filter((t) => t === 'input_audio_buffer.clear').length > 0 });
    console.log(`hostile frames tried: ${tried}; forwarded upstream: ${forwarded.length}; error events back: ${c.of('error').length}`);
    const unexpected = forwarded.filter((t) => !(ALLOWED as readonly string[]).includes(t));
    expect(unexpected).toEqual([]);
    expect(await healthy()).toBe(true);
    await c.close();
  });

  it('drops a connection that sends invalid UTF-8 as text (RFC 6455) and forwards nothing from it', async () => {
    const before = forwarded.length;
    const c = await RealtimeTestClient.connect(relay.wsUrl, { headers: { authorization: `Bearer ${token}` } });
    await c.waitFor('session.updated');
    c.socket.send(Buffer.from([0x7b, 0x22, 0x74, 0xff, 0xfe, 0x22, 0x7d]), { binary: false });
    const closed = await c.closed;
    expect([1006, 1007]).toContain(closed.code);
    expect(forwarded.length).toBe(before + 1); // only the relay's own policy session.update
    expect(await healthy()).toBe(true);
  });

  it('refuses abusive headers and tokens of every shape with 4xx, never 5xx, and keeps serving', async () => {
    const before = relay.upstreamsOpened();
    const none = `${Buffer.from('{"alg":"none"}').toString('base64url')}.${Buffer.from('{"sub":"fuzzer","jti":"x","exp":9999999999,"iss":"earshot"}').toString('base64url')}.`;
    const otherSecret = await new SignJWT({}).setProtectedHeader({ alg: 'HS256' }).setIssuer('earshot').setSubject('fuzzer').setJti('x').setExpirationTime('1h').sign(new Uint8Array(32).fill(9));
    const statuses: number[] = [];
    const attempt = (headers: Record<string, string>, protocols: string[] = []) =>
      new Promise<number>((resolve) => {
        let ws: WebSocket;
        try {
          ws = new WebSocket(relay.wsUrl, protocols, { headers, maxPayload: 1024 });
        } catch {
          return resolve(-2); // the client library itself refuses to send such a header
        }
        ws.on('unexpected-response', (_q, res) => resolve(res.statusCode ?? 0));
        ws.on('open', () => {
          ws.close();
          resolve(101);
        });
        ws.on('error', () => resolve(-1));
      });
    const shapes = [none, otherSecret, 'a.b.c', '...', 'x'.repeat(5000), `${token}x`, token.split('.').reverse().join('.'), '\u0000', 'Bearer', ''];
    let tried = 0;
    for (const t of shapes) {
      statuses.push(await attempt({ authorization: `Bearer ${t}` }));
      statuses.push(await attempt({}, ['earshot.v1', `earshot-token.${t.replace(/[^A-Za-z0-9._-]/g, '') || 'x'}`]));
      tried += 2;
    }
    statuses.push(await attempt({ authorization: `Bearer ${'A'.repeat(60_000)}` }));
    statuses.push(await attempt({ authorization: `Bearer ${token}` }, Array.from({ length: 100 }, (_, i) => `p${i}`)));
    tried += 2;
    await fc.assert(
      fc.asyncProperty(fc.string({ maxLength: 300 }), async (junk) => {
        tried++;
        const status = await attempt({ authorization: junk.replace(/[\r\n\u0000-\u001f\u007f-\uffff]/g, '') });
        statuses.push(status);
      }),
      { numRuns: 60 },
    );
    console.log(`abusive upgrades tried: ${tried}; statuses: ${[...new Set(statuses)].sort().join(', ')}`);
    expect(statuses.every((s) => s < 0 || (s >= 400 && s < 500))).toBe(true);
    expect(relay.upstreamsOpened()).toBe(before);
    expect(await healthy()).toBe(true);
  });

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
