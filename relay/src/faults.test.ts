// Faults not covered elsewhere: an upstream that accepts TCP but never answers the upgrade, DNS failure, the
// provider's connection ending mid-response (cut abruptly, or closed with 1001), and a data directory the relay
// cannot write.
import { connect, createServer, type Server, type Socket } from 'node:net';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CloseCode } from '../../protocol/close-codes.ts';
import { RealtimeTestClient, speechPcm16 } from './testing/realtime-client.ts';
import { startSimulatorServer } from './simulator/server.ts';
import { fetchMetrics, spawnRelayProcess, startTestRelay, tempDataDir } from './testing/start-relay.ts';
import { until } from './testing/until.ts';
import { createWsUpstreamFactory } from './upstream/ws-upstream.ts';

/** A plain TCP proxy in front of the standalone simulator, so a test can cut the provider's connection for real. */
async function tcpProxy(targetPort: number): Promise<{ port: number; cut(): void; close(): void }> {
  const pairs: Socket[] = [];
  const server: Server = createServer((inbound) => {
    const outbound = connect(targetPort, '127.0.0.1');
    pairs.push(inbound, outbound);
    inbound.pipe(outbound).on('error', () => {});
    outbound.pipe(inbound).on('error', () => {});
    inbound.on('error', () => outbound.destroy());
    outbound.on('error', () => inbound.destroy());
  }).listen(0, '127.0.0.1');
  await new Promise((r) => server.once('listening', r));
  return {
    port: (server.address() as { port: number }).port,
    cut: () => pairs.splice(0).forEach((s) => s.destroy()),
    close: () => server.close(),
  };
}

describe('faults', () => {
  for (const how of ['cut (TCP closed, no WebSocket close)', 'closed with 1001'] as const) {
    it(`tells the client and frees everything when the provider's connection is ${how} mid-response`, async () => {
      const sim = await startSimulatorServer({ port: 0 });
      const proxy = await tcpProxy(sim.port);
      const relay = await startTestRelay({}, { upstreamFactory: createWsUpstreamFactory({ url: `ws://127.0.0.1:${proxy.port}/v1/realtime`, authHeader: 'authorization', connectTimeoutMs: 2000 }) });
      const c = await RealtimeTestClient.connect(relay.wsUrl, { headers: { authorization: `Bearer ${await relay.mint('midway')}` } });
      await c.waitFor('session.updated');
      c.appendAudio(speechPcm16('this answer will be cut short', 0.8));
      await c.waitFor('response.output_audio.delta');
      expect(c.of('response.done')).toHaveLength(0); // really mid-response
      if (how === 'cut (TCP closed, no WebSocket close)') proxy.cut();
      else await sim.close();
      const closed = await c.closed;
      expect(closed.code).toBe(CloseCode.UpstreamUnavailable);
      const error = c.of('error').at(-1)?.error;
      expect(error?.code).toBe('upstream_unavailable');
      expect(error?.message).toMatch(how === 'cut (TCP closed, no WebSocket close)' ? /dropped the connection/ : /ended the connection \(code 1001\)/);
      expect(c.of('response.done')).toHaveLength(0);
      await until('relay and provider sessions to close', () => relay.sessions().size === 0 && sim.sessions() === 0, 3000);
      const metrics = await (await fetchMetrics(relay.url)).text();
      expect(metrics).toMatch(/earshot_sessions_active 0/);
      expect(await (await fetch(`${relay.url}/healthz`)).json()).toMatchObject({ ok: true, sessions: 0 });
      await relay.stop();
      proxy.close();
      await sim.close();
    });
  }

  it('tells the client within the connect timeout when the provider accepts TCP but never answers', async () => {
    const held: Socket[] = [];
    const silent = createServer((s) => held.push(s)).listen(0, '127.0.0.1');
    await new Promise((r) => silent.once('listening', r));
    const port = (silent.address() as { port: number }).port;
    const relay = await startTestRelay({}, { upstreamFactory: createWsUpstreamFactory({ url: `ws://127.0.0.1:${port}/v1/realtime`, authHeader: 'authorization', connectTimeoutMs: 700 }) });
    const c = await RealtimeTestClient.connect(relay.wsUrl, { headers: { authorization: `Bearer ${await relay.mint('waiter')}` } });
    const started = Date.now();
    const closed = await c.closed;
    expect(closed.code).toBe(CloseCode.UpstreamUnavailable);
    expect(Date.now() - started).toBeLessThan(5000);
    expect(c.of('error').at(-1)?.error.code).toBe('upstream_unavailable');
    expect(relay.sessions().size).toBe(0);
    await relay.stop();
    for (const s of held) s.destroy();
    silent.close();
  });

  it('tells the client when the provider host does not resolve', async () => {
    const relay = await startTestRelay({}, { upstreamFactory: createWsUpstreamFactory({ url: 'wss://nowhere.invalid/v1/realtime', authHeader: 'authorization', connectTimeoutMs: 3000 }) });
    const c = await RealtimeTestClient.connect(relay.wsUrl, { headers: { authorization: `Bearer ${await relay.mint('lost')}` } });
    expect((await c.closed).code).toBe(CloseCode.UpstreamUnavailable);
    expect(c.of('error').at(-1)?.error.message).toMatch(/could not be reached/);
    await relay.stop();
  });

  it('refuses to start, with a clear message, when the data directory cannot be created', async () => {
    const file = join(tempDataDir(), 'not-a-dir');
    writeFileSync(file, 'x');
    await expect(spawnRelayProcess({ EARSHOT_DATA_DIR: join(file, 'data') })).rejects.toThrow(/ENOTDIR|not a directory/);
  });
});
