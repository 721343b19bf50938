// Idle connections (issue 2, item 5): the relay pings quiet clients itself, keeps those that answer, and
// closes those that do not, together with their upstream session, so a vanished phone (no FIN ever arrives)
// cannot hold a provider session open until the provider's own limit.
import { connect, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { fetchMetrics, startTestRelay, type TestRelay } from './testing/start-relay.ts';
import { startSimulatorServer, type SimulatorServer } from './simulator/server.ts';
import { createWsUpstreamFactory } from './upstream/ws-upstream.ts';
import { until } from './testing/until.ts';

// The smallest timeout uWS accepts (0 disables it); its timers tick every 4 s, so the real close comes later.
const IDLE_SECONDS = 8;

let sim: SimulatorServer;
let relay: TestRelay;
let token: string;

beforeAll(async () => {
  // A real simulator over the network, so "the upstream session closed" is the simulator's own count.
  sim = await startSimulatorServer({ port: 0 });
  relay = await startTestRelay(
    { limits: { idleTimeoutSeconds: IDLE_SECONDS } },
    { upstreamFactory: createWsUpstreamFactory({ url: sim.url, authHeader: 'authorization', connectTimeoutMs: 5000 }) },
  );
  token = await relay.mint('idler', { user: { maxSessions: 10 } });
});
afterAll(async () => {
  await relay.stop();
  await sim.close();
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function sessionsGauge(): Promise<number> {
  const text = await (await fetchMetrics(relay.url)).text();
  const line = text.split('\n').find((l) => l.startsWith('earshot_sessions_active '));
  if (!line) throw new Error('earshot_sessions_active missing from /metrics');
  return Number(line.split(' ')[1]);
}

interface SilentPeer {
  socket: Socket;
  /** Opcodes of every server frame, in order (9 = ping, 8 = close). */
  opcodes: number[];
  closedAt: Promise<number>;
}

/**
 * A WebSocket handshake done by hand over TCP, after which the peer reads but never writes a byte: no pong,
 * no close reply. That is what a phone that lost its network looks like from the relay (the kernel still
 * acknowledges TCP, so only the WebSocket layer can notice). A `ws` client cannot be made to skip pongs.
 */
function silentPeer(): Promise<SilentPeer> {
  return new Promise((resolve, reject) => {
    const socket = connect(relay.port, '127.0.0.1');
    const opcodes: number[] = [];
    const closedAt = new Promise<number>((r) => socket.once('close', () => r(Date.now())));
    let buffer = Buffer.alloc(0);
    let upgraded = false;
    socket.on('error', () => {});
    socket.on('data', (chunk: Buffer) => {
      buffer = Buffer.concat([buffer, chunk]);
      if (!upgraded) {
        const end = buffer.indexOf('\r\n\r\n');
        if (end < 0) return;
        const head = buffer.subarray(0, end).toString('latin1');
        if (!head.startsWith('HTTP/1.1 101')) return reject(new Error(`handshake refused: ${head.split('\r\n')[0]}`));
        upgraded = true;
        buffer = buffer.subarray(end + 4);
        resolve({ socket, opcodes, closedAt });
      }
      // Server frames are unmasked: 2 header bytes, then a 16- or 64-bit length when the 7-bit one says so.
      for (;;) {
        if (buffer.length < 2) return;
        const short = buffer[1]! & 0x7f;
        const headerBytes = short === 126 ? 4 : short === 127 ? 10 : 2;
        if (buffer.length < headerBytes) return;
        const length = short === 126 ? buffer.readUInt16BE(2) : short === 127 ? Number(buffer.readBigUInt64BE(2)) : short;
        if (buffer.length < headerBytes + length) return;
        opcodes.push(buffer[0]! & 0x0f);
        buffer = buffer.subarray(headerBytes + length);
      }
    });
    socket.write(
      [
        'GET /v1/realtime?model=gpt-realtime HTTP/1.1',
        `Host: 127.0.0.1:${relay.port}`,
        'Upgrade: websocket',
        'Connection: Upgrade',
        'Sec-WebSocket-Version: 13',
        `Sec-WebSocket-Key: ${Buffer.alloc(16, 7).toString('base64')}`,
        `Authorization: Bearer ${token}`,
        '',
        '',
      ].join('\r\n'),
    );
  });
}

describe('idle timeout with automatic pings', () => {
  it('keeps a quiet client that answers pings and closes one that does not, upstream included', async () => {
    const started = Date.now();
    // (a) `ws` answers pings on its own; this client then sends nothing at all.
    const quiet = new WebSocket(relay.wsUrl, { headers: { authorization: `Bearer ${token}` }, perMessageDeflate: false });
    let pings = 0;
    let quietClosed: number | null = null;
    quiet.on('ping', () => pings++);
    quiet.on('close', (code) => (quietClosed = code));
    await new Promise<void>((resolve, reject) => {
      quiet.once('open', () => resolve());
      quiet.once('error', reject);
    });
    // (b) never answers.
    const silent = await silentPeer();
    await until('both upstream sessions', () => sim.sessions() === 2, 5000, 100);
    expect(relay.sessions().size).toBe(2);

    const silentClosedAt = await Promise.race([silent.closedAt, sleep(4 * IDLE_SECONDS * 1000).then(() => null)]);
    expect(silentClosedAt, 'the relay never closed the peer that ignores pings').not.toBeNull();
    const silentAfter = (silentClosedAt! - started) / 1000;
    // Load only delays timers, so a floor is safe; it is loose because uWS timers tick every 4 s.
    expect(silentAfter).toBeGreaterThanOrEqual(IDLE_SECONDS / 2);
    // It was pinged first (9), i.e. closed for not answering rather than for some other reason.
    expect(silent.opcodes).toContain(9);
    await until('the silent peer\'s upstream session to close', () => sim.sessions() === 1, 5000);
    expect(relay.sessions().size).toBe(1);

    // Quiet for twice the timeout, counted from the connect.
    await sleep(Math.max(0, started + 2 * IDLE_SECONDS * 1000 + 1000 - Date.now()));
    const quietFor = (Date.now() - started) / 1000;
    console.log(
      `idle timeout ${IDLE_SECONDS} s: silent peer closed after ${silentAfter.toFixed(1)} s (server frames: ${silent.opcodes.join(',')}); ` +
        `pinging client still open after ${quietFor.toFixed(1)} s, ${pings} ping(s) answered`,
    );
    expect(quietClosed).toBeNull();
    expect(quiet.readyState).toBe(WebSocket.OPEN);
    expect(pings).toBeGreaterThanOrEqual(1);
    expect(sim.sessions()).toBe(1);
    expect(await sessionsGauge()).toBe(1);

    quiet.close(1000);
    await until('all sessions to end', async () => sim.sessions() === 0 && (await sessionsGauge()) === 0, 5000, 100);
  }, 60_000);
});
