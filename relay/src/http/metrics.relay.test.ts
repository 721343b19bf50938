// The per-frame counters are batched (metrics.ts HotCounters: plain adds on the frame path, folded into
// Prometheus on scrape): what /metrics shows must still be every frame and byte the relay passed, each direction.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LATENCY_SAMPLE_EVERY } from '../session/bridge.ts';
import { createSimulatorUpstreamFactory } from '../simulator/in-process.ts';
import { RealtimeTestClient } from '../testing/realtime-client.ts';
import { fetchMetrics, startTestRelay, type TestRelay } from '../testing/start-relay.ts';

let relay: TestRelay;
beforeAll(async () => {
  relay = await startTestRelay();
});
afterAll(async () => {
  await relay.stop();
});

/** `name{direction="…"} value` from a Prometheus text page, or 0 when absent. */
function sample(page: string, name: string, direction: string): number {
  const line = page.split('\n').find((l) => l.startsWith(`${name}{`) && l.includes(`direction="${direction}"`));
  return line ? Number(line.slice(line.lastIndexOf(' ') + 1)) : 0;
}

describe('relay metrics on /metrics', () => {
  it('count every frame and byte relayed each way, and sample one frame in LATENCY_SAMPLE_EVERY (32) for latency', async () => {
    const token = await relay.mint('metered');
    const c = await RealtimeTestClient.connect(relay.wsUrl, { headers: { authorization: `Bearer ${token}` } });
    await c.waitFor('session.updated');
    // From here on this client is the only traffic: compare what the relay counts to what we send and receive.
    const before = await (await fetchMetrics(relay.url)).text();
    let downFrames = 0;
    let downBytes = 0;
    c.socket.on('message', (d: Buffer) => {
      downFrames++;
      downBytes += d.byteLength;
    });
    // Silence: the simulator's VAD answers nothing, so the relay's own counts can be checked against ours.
    const append = JSON.stringify({ type: 'input_audio_buffer.append', audio: Buffer.alloc(960).toString('base64') });
    // Enough frames that one-in-LATENCY_SAMPLE_EVERY sampling takes several, so the count below is not 0 or 1 by luck.
    const frames = 101;
    for (let i = 0; i < frames; i++) c.send(append);
    // Frames on one socket arrive in order: once the relay answers the probe, it has relayed every append before it.
    c.send({ type: 'input_audio_buffer.clear', event_id: 'probe' });
    await c.waitFor('input_audio_buffer.cleared');
    const after = await (await fetchMetrics(relay.url)).text();
    const delta = (name: string, direction: string) => sample(after, name, direction) - sample(before, name, direction);
    const clearBytes = Buffer.byteLength(JSON.stringify({ type: 'input_audio_buffer.clear', event_id: 'probe' }));
    expect(delta('earshot_messages_total', 'client_to_upstream')).toBe(frames + 1);
    expect(delta('earshot_bytes_total', 'client_to_upstream')).toBe(frames * Buffer.byteLength(append) + clearBytes);
    expect(downFrames).toBeGreaterThan(0);
    expect(delta('earshot_messages_total', 'upstream_to_client')).toBe(downFrames);
    expect(delta('earshot_bytes_total', 'upstream_to_client')).toBe(downBytes);
    // This relay's only session so far: each direction's samples are exactly one in LATENCY_SAMPLE_EVERY of its frames.
    for (const direction of ['client_to_upstream', 'upstream_to_client']) {
      expect(sample(after, 'earshot_relay_latency_seconds_count', direction)).toBe(Math.floor(sample(after, 'earshot_messages_total', direction) / LATENCY_SAMPLE_EVERY));
    }
    // A second scrape adds nothing that was already folded in.
    const again = await (await fetchMetrics(relay.url)).text();
    expect(sample(again, 'earshot_messages_total', 'client_to_upstream')).toBe(sample(after, 'earshot_messages_total', 'client_to_upstream'));
    await c.close();
  });

  it('sample both directions of a conversation whose frames alternate, each one frame in LATENCY_SAMPLE_EVERY', async () => {
    // The benchmark simulator answers each append with one audio delta: up, down, up, down… A counter shared by the
    // two directions hit its multiple of 32 on the same direction every time, so the other had no samples at all.
    const echo = await startTestRelay({}, { upstreamFactory: createSimulatorUpstreamFactory({ benchmark: true }) });
    try {
      const c = await RealtimeTestClient.connect(echo.wsUrl, { headers: { authorization: `Bearer ${await echo.mint('pairs')}` } });
      await c.waitFor('session.updated');
      const before = await (await fetchMetrics(echo.url)).text();
      const pairs = 4 * LATENCY_SAMPLE_EVERY;
      for (let i = 0; i < pairs; i++) {
        c.send({ type: 'input_audio_buffer.append', event_id: `p${i}`, audio: Buffer.alloc(960).toString('base64') });
        await c.waitFor('response.output_audio.delta', { where: (e) => e.event_id === `p${i}` });
      }
      const after = await (await fetchMetrics(echo.url)).text();
      const count = (direction: string) => sample(after, 'earshot_relay_latency_seconds_count', direction) - sample(before, 'earshot_relay_latency_seconds_count', direction);
      // Each direction relayed `pairs` frames in the window (give or take the setup frames before it): 3 to 4 samples.
      expect(count('client_to_upstream')).toBeGreaterThanOrEqual(pairs / LATENCY_SAMPLE_EVERY - 1);
      expect(count('upstream_to_client')).toBeGreaterThanOrEqual(pairs / LATENCY_SAMPLE_EVERY - 1);
      await c.close();
    } finally {
      await echo.stop();
    }
  });

  it('show on earshot_event_loop_delay_seconds how long something synchronous held the relay\'s event loop', async () => {
    const bucket = (page: string, le: string) => Number(page.split('\n').find((l) => l.startsWith(`earshot_event_loop_delay_seconds_bucket{le="${le}"}`))?.split(' ')[1]);
    const count = (page: string) => Number(/^earshot_event_loop_delay_seconds_count (\S+)$/m.exec(page)?.[1]);
    const before = await (await fetchMetrics(relay.url)).text();
    // This test runs in the relay's process: a 120 ms busy wait is a synchronous block on the relay's own loop.
    const until = performance.now() + 120;
    while (performance.now() < until) {
      // hold the loop
    }
    await new Promise((r) => setTimeout(r, 50)); // the sampler runs once the loop is free
    const after = await (await fetchMetrics(relay.url)).text();
    expect(count(after)).toBeGreaterThan(count(before));
    // The block is counted beyond the 100 ms bucket: the sample due during it ran at least ~110 ms late. (At
    // least one: on a loaded machine the scheduler can add another late sample of its own between the scrapes.)
    const longBefore = count(before) - bucket(before, '0.1');
    const longAfter = count(after) - bucket(after, '0.1');
    expect(longAfter - longBefore).toBeGreaterThanOrEqual(1);
  });
});
