// Backpressure toward a slow client: the relay pauses the upstream instead of buffering without bound, loses
// nothing once the client reads again, and closes with 4004 if an upstream ignores the pause.
import { describe, expect, it } from 'vitest';
import type { Socket } from 'node:net';
import { CloseCode } from '../../../protocol/close-codes.ts';
import { RealtimeTestClient } from '../testing/realtime-client.ts';
import { startTestRelay } from '../testing/start-relay.ts';
import { createSimulatorUpstreamFactory } from '../simulator/in-process.ts';
import type { UpstreamFactory } from '../upstream/upstream.ts';

const limits = { clientBufferSoftBytes: 256 * 1024, clientBufferHardBytes: 2 * 1024 * 1024, maxFrameBytes: 256 * 1024, maxMessagesPerSecond: 10_000 };
const append = (i: number) => JSON.stringify({ type: 'input_audio_buffer.append', event_id: `e${i}`, audio: Buffer.alloc(150_000, i & 0xff).toString('base64') });

function tcp(c: RealtimeTestClient): Socket {
  return (c.socket as unknown as { _socket: Socket })._socket;
}

describe('backpressure', () => {
  it('pauses the upstream while the client does not read, then delivers every frame in order', async () => {
    let pauses = 0;
    const sim = createSimulatorUpstreamFactory({ benchmark: true });
    const counting: UpstreamFactory = (o, h) => {
      const up = sim(o, h);
      return { ...up, pause: () => (pauses++, up.pause()) };
    };
    const relay = await startTestRelay({ limits }, { upstreamFactory: counting });
    const c = await RealtimeTestClient.connect(relay.wsUrl, { headers: { authorization: `Bearer ${await relay.mint('slow')}` } });
    await c.waitFor('session.updated');
    tcp(c).pause(); // the client stops reading: the relay's send buffer toward it fills up
    for (let i = 0; i < 200; i++) c.send(append(i)); // 200 × 200 KB echoes ≈ 40 MB: past the kernel's socket buffers and the hard limit
    await new Promise((r) => setTimeout(r, 1500));
    expect(pauses).toBeGreaterThan(0);
    expect(relay.sessions().size).toBe(1); // paused, not closed
    tcp(c).resume();
    const last = await c.waitFor('response.output_audio.delta', { where: (e) => e.event_id === 'e199', timeoutMs: 20_000 });
    expect(last.event_id).toBe('e199');
    expect(c.of('response.output_audio.delta').map((e) => e.event_id)).toEqual(Array.from({ length: 200 }, (_, i) => `e${i}`));
    await c.close();
    await relay.stop();
  });

  it('closes with 4004 when an upstream ignores the pause and the client buffer passes the hard limit', async () => {
    const sim = createSimulatorUpstreamFactory({ benchmark: true });
    const deaf: UpstreamFactory = (o, h) => ({ ...sim(o, h), pause() {}, resume() {} });
    const relay = await startTestRelay({ limits }, { upstreamFactory: deaf });
    const c = await RealtimeTestClient.connect(relay.wsUrl, { headers: { authorization: `Bearer ${await relay.mint('stuck')}` } });
    await c.waitFor('session.updated');
    tcp(c).pause();
    for (let i = 0; i < 200; i++) c.send(append(i));
    await new Promise((r) => setTimeout(r, 1500));
    tcp(c).resume();
    const closed = await c.closed;
    expect(closed.code).toBe(CloseCode.Backpressure);
    await relay.stop();
  });
});
