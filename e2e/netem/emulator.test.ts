// The emulator's real data path: two network namespaces, a TUN in each, real sockets in processes inside them
// (probe-agent.ts), every packet through the emulator. Needs root and /dev/net/tun (CI runs as root).
// Assertions are on behaviour or on bounds the emulator makes physically impossible to beat (a round trip can
// never be shorter than the configured delay; a transfer never faster than the rate), so a slow machine cannot
// make them fail.
import { readdirSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { MOVED_BROWSER_ADDRESS, startLinkEmulator, type LinkEmulator } from './emulator.ts';
import type { DirectionProfile, LinkProfile } from './link-model.ts';
import { spawnSync } from 'node:child_process';
import { deleteNamespace, ip, removeStaleNamespaces } from './namespaces.ts';
import { startProbe } from './probe.ts';

const clean: DirectionProfile = { delayMs: 0, jitterMs: 0, loss: 0 };
const profile = (up: Partial<DirectionProfile> = {}, down: Partial<DirectionProfile> = {}): LinkProfile => ({ up: { ...clean, ...up }, down: { ...clean, ...down } });

let emulator: LinkEmulator | null = null;
afterEach(async () => {
  const names = emulator?.names;
  await emulator?.close();
  emulator = null;
  // Torn down even when the test failed: no namespace of this run is left.
  if (names) expect(readdirSync('/run/netns').filter((n) => n === names.browserNs || n === names.relayNs)).toEqual([]);
});

async function wsPair(e: LinkEmulator) {
  const server = await startProbe(e, 'relay');
  const client = await startProbe(e, 'browser');
  const { port } = await server.call<{ port: number }>({ cmd: 'ws-listen', host: e.relayAddress, port: 0 });
  const url = `ws://${e.relayAddress}:${port}`;
  return { server, client, url };
}

describe('link emulator: the real data path between two namespaces', () => {
  it('carries a WebSocket round trip, never faster than the configured delay, and only over the emulated link', async () => {
    emulator = await startLinkEmulator({ profile: profile({ delayMs: 40 }, { delayMs: 40 }) });
    const { client, url } = await wsPair(emulator);
    await client.call({ cmd: 'ws-connect', conn: 'a', url });
    for (let i = 0; i < 5; i++) {
      const { rttMs } = await client.call<{ rttMs: number }>({ cmd: 'ws-echo', conn: 'a', timeoutMs: 10_000 });
      expect(rttMs).toBeGreaterThanOrEqual(79);
    }
    expect(emulator.model.counters.up.deliveredPackets).toBeGreaterThan(5);
    expect(emulator.model.counters.down.deliveredPackets).toBeGreaterThan(5);
    // Nothing else is reachable from either side: the only route is the link's own /24.
    for (const ns of [emulator.names.browserNs, emulator.names.relayNs]) expect(ip(['-n', ns, '-4', 'route', 'show']).trim().split('\n')).toEqual([expect.stringMatching(/^10\.0\.0\.0\/24 dev es[0-9a-f]{8}[br] /)]);
  });

  it('never lets a bulk upload go faster than the rate limit, and a download is limited only by its own direction', async () => {
    emulator = await startLinkEmulator({ profile: profile({ delayMs: 20, rateBitsPerSecond: 1_000_000, queueBytes: 64 * 1024 }, { delayMs: 20 }) });
    const { client, url } = await wsPair(emulator);
    await client.call({ cmd: 'ws-connect', conn: 'a', url });
    const bytes = 250_000;
    const up = await client.call<{ ms: number }>({ cmd: 'ws-upload', conn: 'a', bytes });
    // 250 kB of payload is 2 s at 1 Mbit/s before any header; the emulator may release a packet 0.5 ms early.
    expect(up.ms).toBeGreaterThanOrEqual(1_950);
    expect(emulator.model.counters.up.deliveredBytes).toBeGreaterThan(bytes);
    const down = await client.call<{ ms: number }>({ cmd: 'ws-download', conn: 'a', bytes });
    expect(down.ms).toBeGreaterThan(0);
  });

  it('drops every packet sent during an outage (one gap, nothing late) and TCP carries on once it ends', async () => {
    emulator = await startLinkEmulator({ profile: profile({ delayMs: 10 }, { delayMs: 10 }) });
    const e = emulator;
    const { server, client, url } = await wsPair(e);
    await client.call({ cmd: 'ws-connect', conn: 'a', url });
    await server.call({ cmd: 'udp-listen', host: e.relayAddress, port: 9999 });
    const sending = client.call({ cmd: 'udp-send', host: e.relayAddress, port: 9999, count: 100, intervalMs: 20 });
    await new Promise((r) => setTimeout(r, 500));
    e.outage(600);
    await sending;
    await new Promise((r) => setTimeout(r, 200));
    const { received } = await server.call<{ received: number[] }>({ cmd: 'udp-received' });
    const missing = Array.from({ length: 100 }, (_, i) => i).filter((i) => !received.includes(i));
    expect(missing.length).toBeGreaterThan(0);
    expect(missing.at(-1)! - missing[0]! + 1).toBe(missing.length); // one contiguous gap: the outage
    expect(received).toEqual([...received].sort((a, b) => a - b)); // nothing held back and delivered late
    expect(e.model.counters.up.drops.outage).toBeGreaterThanOrEqual(missing.length);
    expect((await client.call<{ rttMs?: number }>({ cmd: 'ws-echo', conn: 'a', timeoutMs: 20_000 })).rttMs).toBeGreaterThan(0);
  });

  it('black-holes the live connection silently while a new connection from the same phone works', async () => {
    emulator = await startLinkEmulator({ profile: profile({ delayMs: 5 }, { delayMs: 5 }) });
    const { client, url } = await wsPair(emulator);
    await client.call({ cmd: 'ws-connect', conn: 'live', url });
    await client.call({ cmd: 'ws-connect', conn: 'idle', url });
    await client.call({ cmd: 'ws-download', conn: 'live', bytes: 200_000 }); // the busy one
    expect(emulator.blackholeLiveConnection()).toMatch(/^tcp /);
    expect(await client.call({ cmd: 'ws-echo', conn: 'live', timeoutMs: 3_000 })).toMatchObject({ timeout: true });
    expect(await client.call({ cmd: 'ws-echo', conn: 'idle', timeoutMs: 20_000 })).toHaveProperty('rttMs');
    await client.call({ cmd: 'ws-connect', conn: 'new', url });
    expect(await client.call({ cmd: 'ws-echo', conn: 'new', timeoutMs: 20_000 })).toHaveProperty('rttMs');
    expect(emulator.model.counters.up.drops.blackhole + emulator.model.counters.down.drops.blackhole).toBeGreaterThan(0);
  });

  it('after an address change, the old connection is dead without a word and a new one comes from the new address', async () => {
    emulator = await startLinkEmulator({ profile: profile({ delayMs: 5 }, { delayMs: 5 }) });
    const { server, client, url } = await wsPair(emulator);
    await client.call({ cmd: 'ws-connect', conn: 'old', url });
    expect(emulator.changeBrowserAddress()).toBe(MOVED_BROWSER_ADDRESS);
    expect(await client.call({ cmd: 'ws-echo', conn: 'old', timeoutMs: 3_000 })).toMatchObject({ timeout: true });
    await client.call({ cmd: 'ws-connect', conn: 'new', url });
    expect(await client.call({ cmd: 'ws-echo', conn: 'new', timeoutMs: 20_000 })).toHaveProperty('rttMs');
    const { peers } = await server.call<{ peers: string[] }>({ cmd: 'ws-peers' });
    expect(peers).toEqual(['10.0.0.1', MOVED_BROWSER_ADDRESS]);
  });

  it('removes namespaces left by a run that was killed, and never those of a live run', () => {
    const dead = spawnSync('true').pid!; // a pid that has just exited
    const stale = `esh-${dead}-0-b`;
    const live = `esh-${process.ppid}-0-b`;
    ip(['netns', 'add', stale]);
    ip(['netns', 'add', live]);
    try {
      expect(removeStaleNamespaces()).toContain(stale);
      const left = readdirSync('/run/netns');
      expect(left).not.toContain(stale);
      expect(left).toContain(live);
    } finally {
      deleteNamespace(stale);
      deleteNamespace(live);
    }
  });
});
