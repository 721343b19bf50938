// The emulator's scheduling on a fake clock: every `now` below is a made-up time in ms, so nothing here depends on
// how fast the machine is.
import { describe, expect, it } from 'vitest';
import { LinkModel, type DirectionProfile, type LinkProfile, type Verdict } from './link-model.ts';
import { makeIpv4Packet } from './packets.ts';

const PHONE = '10.0.0.1';
const RELAY = '10.0.0.2';
const clean: DirectionProfile = { delayMs: 0, jitterMs: 0, loss: 0 };
const link = (up: Partial<DirectionProfile>, down: Partial<DirectionProfile> = {}, seed = 1): LinkModel =>
  new LinkModel({ profile: { up: { ...clean, ...up }, down: { ...clean, ...down } } satisfies LinkProfile, seed });
const upPacket = (bytes = 100, srcPort = 40000) => makeIpv4Packet({ src: PHONE, dst: RELAY, srcPort, dstPort: 8080, bytes });
const downPacket = (bytes = 100, dstPort = 40000) => makeIpv4Packet({ src: RELAY, dst: PHONE, srcPort: 8080, dstPort, bytes });
const at = (v: Verdict): number => {
  if (v.kind !== 'deliver') throw new Error(`dropped: ${v.reason}`);
  return v.at;
};

describe('link model: delay and jitter', () => {
  it('delivers every packet exactly the one-way delay later when there is no jitter', () => {
    const m = link({ delayMs: 25 });
    for (const now of [0, 3, 3, 1000]) expect(at(m.offer('up', now, upPacket()))).toBe(now + 25);
  });

  it('spreads delays within ±jitter but never reorders packets of one flow', () => {
    const m = link({ delayMs: 75, jitterMs: 25 });
    let last = 0;
    const delays: number[] = [];
    for (let i = 0; i < 2000; i++) {
      const now = i * 2; // a packet every 2 ms: closer than the jitter, so order has to be enforced
      const arrival = at(m.offer('up', now, upPacket()));
      expect(arrival).toBeGreaterThanOrEqual(last);
      last = arrival;
      delays.push(arrival - now);
    }
    expect(Math.min(...delays)).toBeGreaterThanOrEqual(50);
    expect(Math.max(...delays)).toBeLessThanOrEqual(100 + 2); // the order rule may hold one back by a send interval
    expect(new Set(delays.map(Math.round)).size).toBeGreaterThan(20); // really jittered
  });

  it('lets packets of different flows overtake each other (order is per flow only)', () => {
    const m = link({ delayMs: 75, jitterMs: 25 });
    const a = Array.from({ length: 200 }, (_, i) => at(m.offer('up', i, upPacket(100, 40000))));
    const b = Array.from({ length: 200 }, (_, i) => at(m.offer('up', i, upPacket(100, 40001))));
    expect(a.some((t, i) => t !== b[i])).toBe(true);
  });
});

describe('link model: random loss', () => {
  it('loses about the configured share, the same packets for the same seed, other ones for another seed', () => {
    const run = (seed: number) => {
      const m = link({ loss: 0.03 }, {}, seed);
      return Array.from({ length: 20_000 }, (_, i) => m.offer('up', i, upPacket()).kind === 'drop');
    };
    const first = run(7);
    const lost = first.filter(Boolean).length / first.length;
    expect(lost).toBeGreaterThan(0.025);
    expect(lost).toBeLessThan(0.035);
    expect(run(7)).toEqual(first);
    expect(run(8)).not.toEqual(first);
  });

  it('draws each direction from its own stream: traffic down does not change which packets up are lost', () => {
    const quiet = link({ loss: 0.1 }, { loss: 0.1 }, 3);
    const busy = link({ loss: 0.1 }, { loss: 0.1 }, 3);
    const upQuiet: string[] = [];
    const upBusy: string[] = [];
    for (let i = 0; i < 500; i++) {
      upQuiet.push(quiet.offer('up', i, upPacket()).kind);
      busy.offer('down', i, downPacket());
      busy.offer('down', i, downPacket());
      upBusy.push(busy.offer('up', i, upPacket()).kind);
    }
    expect(upBusy).toEqual(upQuiet);
  });
});

describe('link model: rate limit with a drop-tail queue', () => {
  it('serialises packets at the rate: 1250-byte packets at 1 Mbit/s leave 10 ms apart', () => {
    const m = link({ rateBitsPerSecond: 1_000_000, delayMs: 20 });
    const arrivals = Array.from({ length: 5 }, () => at(m.offer('up', 0, upPacket(1250))));
    expect(arrivals).toEqual([30, 40, 50, 60, 70]);
  });

  it('never delivers more than the rate allows in any window, however hard the sender pushes', () => {
    const rate = 384_000;
    const m = link({ rateBitsPerSecond: rate, queueBytes: 48_000 });
    const arrivals: Array<[number, number]> = [];
    for (let now = 0; now < 10_000; now++) {
      // 1500 B every ms = 12 Mbit/s offered into a 384 kbit/s link
      const v = m.offer('up', now, upPacket(1500));
      if (v.kind === 'deliver') arrivals.push([v.at, 1500]);
    }
    for (let from = 0; from < 10_000; from += 250) {
      const bytes = arrivals.filter(([t]) => t > from && t <= from + 1000).reduce((s, [, b]) => s + b, 0);
      expect(bytes * 8).toBeLessThanOrEqual(rate + 1500 * 8);
    }
    expect(m.counters.up.drops.queue_full).toBeGreaterThan(0);
  });

  it('drops the newest packets when the queue is full and keeps the ones already queued', () => {
    const m = link({ rateBitsPerSecond: 80_000, queueBytes: 1000 }); // 10 B/ms
    const kinds = Array.from({ length: 15 }, () => m.offer('up', 0, upPacket(100)).kind);
    expect(kinds).toEqual([...Array(10).fill('deliver'), ...Array(5).fill('drop')]);
    expect(m.directions.up.queued(0)).toBe(1000);
    expect(m.directions.up.queued(50)).toBe(500); // half of it has left after 50 ms
    expect(m.offer('up', 50, upPacket(100)).kind).toBe('deliver');
  });

  it('limits each direction on its own', () => {
    const m = link({ rateBitsPerSecond: 8_000 });
    expect(at(m.offer('up', 0, upPacket(100)))).toBe(100);
    expect(at(m.offer('down', 0, downPacket(100)))).toBe(0);
  });
});

describe('link model: outages, black holes and address changes', () => {
  it('drops a packet sent during an outage, and one in flight when the outage starts; passes both once it ends', () => {
    const m = link({ delayMs: 100 }, { delayMs: 100 });
    const inFlight = upPacket();
    expect(at(m.offer('up', 0, inFlight))).toBe(100);
    m.addOutage(50, 10_000);
    expect(m.offer('up', 60, upPacket())).toEqual({ kind: 'drop', reason: 'outage' });
    expect(m.offer('down', 9_000, downPacket())).toEqual({ kind: 'drop', reason: 'outage' });
    expect(m.arrive('up', 100, inFlight)).toBe(false);
    const after = upPacket();
    expect(at(m.offer('up', 10_050, after))).toBe(10_150);
    expect(m.arrive('up', 10_150, after)).toBe(true);
    expect(m.counters.up.drops.outage).toBe(2);
    expect(m.counters.down.drops.outage).toBe(1);
  });

  it('black-holes one connection both ways and leaves a new connection from the same phone alone', () => {
    const m = link({});
    for (let i = 0; i < 50; i++) m.offer('down', i, downPacket(1400, 40000)); // the busy WebSocket
    m.offer('up', 50, upPacket(60, 40001)); // a quiet keep-alive
    const live = m.busiestConnection(60);
    expect(live?.info.dstPort).toBe(40000);
    m.blackhole(live!.key);
    expect(m.offer('down', 70, downPacket(1400, 40000))).toEqual({ kind: 'drop', reason: 'blackhole' });
    expect(m.offer('up', 70, upPacket(60, 40000))).toEqual({ kind: 'drop', reason: 'blackhole' });
    expect(m.offer('up', 70, makeIpv4Packet({ src: PHONE, dst: RELAY, srcPort: 40002, syn: true })).kind).toBe('deliver');
    expect(m.offer('up', 70, upPacket(60, 40001)).kind).toBe('deliver');
    expect(m.counters.up.connectionsOpened).toBe(1); // the new one; a retransmitted SYN is not a second
    m.offer('up', 80, makeIpv4Packet({ src: PHONE, dst: RELAY, srcPort: 40002, syn: true }));
    expect(m.counters.up.connectionsOpened).toBe(1);
  });

  it('after an address change, drops everything from or to the old address and passes the new one', () => {
    const m = link({});
    m.retireAddress(PHONE);
    expect(m.offer('up', 0, upPacket())).toEqual({ kind: 'drop', reason: 'retired_address' });
    expect(m.offer('down', 0, downPacket())).toEqual({ kind: 'drop', reason: 'retired_address' });
    expect(m.offer('up', 0, makeIpv4Packet({ src: '10.0.0.3', dst: RELAY })).kind).toBe('deliver');
  });

  it('counts IP bytes offered and delivered per direction', () => {
    const m = link({ loss: 0 });
    const p = upPacket(500);
    m.offer('up', 0, p);
    m.arrive('up', 0, p);
    m.offer('down', 0, downPacket(200));
    expect(m.counters.up).toMatchObject({ offeredBytes: 500, deliveredBytes: 500, offeredPackets: 1, deliveredPackets: 1 });
    expect(m.counters.down).toMatchObject({ offeredBytes: 200, deliveredBytes: 0 });
  });
});
