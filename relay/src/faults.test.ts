// Faults not covered elsewhere: an upstream that accepts TCP but never answers the upgrade, DNS failure, and a
// data directory the relay cannot write.
import { createServer, type Socket } from 'node:net';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CloseCode } from '../../protocol/close-codes.ts';
import { RealtimeTestClient } from './testing/realtime-client.ts';
import { spawnRelayProcess, startTestRelay, tempDataDir } from './testing/start-relay.ts';
import { createWsUpstreamFactory } from './upstream/ws-upstream.ts';

describe('faults', () => {
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
