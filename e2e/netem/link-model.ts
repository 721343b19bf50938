// The link emulator's decisions, with no I/O and no clock of its own: for each IP packet offered at time `now`,
// when it arrives at the far end or why it is dropped. The shell (emulator.ts) feeds it packets from the TUN pair
// and real time; the tests feed it made-up packets and a fake clock. Deterministic for a seed: the same packets at
// the same times give the same verdicts.
//
// Per direction, in the order a cellular link applies them:
//   1. link-wide conditions: a scripted outage (everything dropped), a black-holed connection, a retired address;
//   2. the rate limit: a bottleneck that serialises packets at `rateBitsPerSecond` behind a drop-tail queue
//      bounded in bytes (what a base station buffers for one phone);
//   3. random loss (after the queue: a radio loss still used the link's capacity);
//   4. propagation delay + jitter, never reordering packets of one flow (real links mostly keep order; TCP
//      would otherwise see reordering as loss).
// Conditions in 1 are checked again at delivery: a packet in flight when an outage starts never arrives either.
import { connectionKey, directedKey, readPacket, type PacketInfo } from './packets.ts';

export type Direction = 'up' | 'down'; // up: browser (phone) → relay; down: relay → browser

export interface DirectionProfile {
  /** One-way propagation delay, ms. */
  delayMs: number;
  /** Each packet's delay varies uniformly within ±jitterMs (never below 0), order kept per flow. */
  jitterMs: number;
  /** Probability that a packet is lost, 0..1. */
  loss: number;
  /** Bottleneck rate; absent = unlimited (no queue). */
  rateBitsPerSecond?: number;
  /** Drop-tail bound of the bottleneck queue, bytes (default 64 KiB). */
  queueBytes?: number;
}

export interface LinkProfile {
  up: DirectionProfile;
  down: DirectionProfile;
}

export type DropReason = 'outage' | 'blackhole' | 'retired_address' | 'queue_full' | 'loss';

export type Verdict = { kind: 'deliver'; at: number } | { kind: 'drop'; reason: DropReason };

export interface DirectionCounters {
  /** IP bytes and packets the sender put on the link. */
  offeredBytes: number;
  offeredPackets: number;
  /** IP bytes and packets that reached the far end. */
  deliveredBytes: number;
  deliveredPackets: number;
  drops: Record<DropReason, number>;
  /** TCP connections opened in this direction (SYN without ACK offered): a reconnect shows up here. */
  connectionsOpened: number;
  /** Every SYN offered (retransmissions included), newest last, at most SYN_LOG_MAX: when a reconnect really tried. */
  syns: Array<{ at: number; dstPort: number; srcPort: number; dropped: boolean }>;
}

const SYN_LOG_MAX = 500;

/** mulberry32: a small, well-mixed 32-bit PRNG; one stream per direction so each is reproducible on its own. */
export function makeRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const DEFAULT_QUEUE_BYTES = 64 * 1024;

/** One direction's bottleneck, loss and delay. */
export class DirectionModel {
  private readonly random: () => number;
  /** Packets still being serialised or waiting in the bottleneck queue: [time they leave it, bytes]. */
  private queue: Array<[number, number]> = [];
  private queuedBytes = 0;
  private busyUntil = 0;
  /** Per flow, the latest arrival time given so far: a later packet of the flow never arrives before it. */
  private lastArrival = new Map<string, number>();
  private offers = 0;

  constructor(
    private profile: DirectionProfile,
    seed: number,
  ) {
    this.random = makeRandom(seed);
  }

  setProfile(profile: DirectionProfile): void {
    this.profile = profile;
  }

  /** Bytes waiting in the bottleneck queue at `now`. */
  queued(now: number): number {
    this.drain(now);
    return this.queuedBytes;
  }

  schedule(now: number, bytes: number, flow: string): Verdict {
    // Two draws for every packet, used or not, so one packet's fate never shifts the next one's.
    const lossDraw = this.random();
    const jitterDraw = this.random();
    const p = this.profile;
    let leaves = now;
    if (p.rateBitsPerSecond !== undefined) {
      this.drain(now);
      if (this.queuedBytes + bytes > (p.queueBytes ?? DEFAULT_QUEUE_BYTES)) return { kind: 'drop', reason: 'queue_full' };
      leaves = Math.max(now, this.busyUntil) + (bytes * 8 * 1000) / p.rateBitsPerSecond;
      this.busyUntil = leaves;
      this.queue.push([leaves, bytes]);
      this.queuedBytes += bytes;
    }
    if (lossDraw < p.loss) return { kind: 'drop', reason: 'loss' };
    const jitter = p.jitterMs * (2 * jitterDraw - 1);
    const at = Math.max(leaves + Math.max(0, p.delayMs + jitter), this.lastArrival.get(flow) ?? 0);
    this.lastArrival.set(flow, at);
    if (++this.offers % 1024 === 0) this.forgetQuietFlows(now);
    return { kind: 'deliver', at };
  }

  private drain(now: number): void {
    while (this.queue.length > 0 && this.queue[0]![0] <= now) this.queuedBytes -= this.queue.shift()![1];
  }

  /** A flow whose last packet has arrived constrains nothing: keep the map small over long runs. */
  private forgetQuietFlows(now: number): void {
    for (const [flow, at] of this.lastArrival) if (at < now) this.lastArrival.delete(flow);
  }
}

export interface LinkModelOptions {
  profile: LinkProfile;
  seed: number;
}

/** Both directions plus the link-wide conditions (outages, black holes, retired addresses) and the byte counters. */
export class LinkModel {
  readonly directions: Record<Direction, DirectionModel>;
  readonly counters: Record<Direction, DirectionCounters>;
  private outages: Array<{ from: number; until: number }> = [];
  private blackholes = new Set<string>();
  private retired = new Set<string>();
  /** Per connection: bytes both ways and when it was last seen, to find "the live connection". */
  private connections = new Map<string, { bytes: number; lastSeen: number; info: PacketInfo }>();

  constructor(options: LinkModelOptions) {
    this.directions = {
      up: new DirectionModel(options.profile.up, options.seed),
      down: new DirectionModel(options.profile.down, (options.seed ^ 0x9e3779b9) >>> 0),
    };
    const zero = (): DirectionCounters => ({
      offeredBytes: 0,
      offeredPackets: 0,
      deliveredBytes: 0,
      deliveredPackets: 0,
      drops: { outage: 0, blackhole: 0, retired_address: 0, queue_full: 0, loss: 0 },
      connectionsOpened: 0,
      syns: [],
    });
    this.counters = { up: zero(), down: zero() };
  }

  setProfile(profile: LinkProfile): void {
    this.directions.up.setProfile(profile.up);
    this.directions.down.setProfile(profile.down);
  }

  /** Everything is dropped from `from` until `from + durationMs` (both directions, including packets in flight). */
  addOutage(from: number, durationMs: number): void {
    this.outages.push({ from, until: from + durationMs });
  }

  inOutage(t: number): boolean {
    return this.outages.some((o) => t >= o.from && t < o.until);
  }

  /** Silently drops every packet of this connection from now on, both ways: a dead connection nobody is told about. */
  blackhole(connection: string): void {
    this.blackholes.add(connection);
  }

  /** Drops every packet from or to `address` (the phone moved to a new address; the old one leads nowhere). */
  retireAddress(address: string): void {
    this.retired.add(address);
  }

  /** The TCP connection that carried the most bytes among those active in the last `windowMs`. */
  busiestConnection(now: number, windowMs = 2_000): { key: string; info: PacketInfo } | null {
    let best: { key: string; info: PacketInfo; bytes: number } | null = null;
    for (const [key, c] of this.connections)
      if (c.info.protocol === 'tcp' && now - c.lastSeen <= windowMs && !this.blackholes.has(key) && (best === null || c.bytes > best.bytes)) best = { key, info: c.info, bytes: c.bytes };
    return best && { key: best.key, info: best.info };
  }

  /** A packet enters the link in `direction` at `now`. */
  offer(direction: Direction, now: number, packet: Uint8Array): Verdict {
    const c = this.counters[direction];
    c.offeredBytes += packet.byteLength;
    c.offeredPackets++;
    const info = readPacket(packet);
    if (info.syn && !this.connections.has(connectionKey(info))) c.connectionsOpened++;
    const key = connectionKey(info);
    const known = this.connections.get(key);
    if (known) {
      known.bytes += packet.byteLength;
      known.lastSeen = now;
    } else this.connections.set(key, { bytes: packet.byteLength, lastSeen: now, info });
    const blocked = this.blocked(now, info, key);
    const verdict: Verdict = blocked ? { kind: 'drop', reason: blocked } : this.directions[direction].schedule(now, packet.byteLength, directedKey(info));
    if (verdict.kind === 'drop') c.drops[verdict.reason]++;
    if (info.syn) {
      c.syns.push({ at: now, dstPort: info.dstPort, srcPort: info.srcPort, dropped: verdict.kind === 'drop' });
      if (c.syns.length > SYN_LOG_MAX) c.syns.shift();
    }
    return verdict;
  }

  /** The packet reaches the far end at `now` (its scheduled time): true if it may be delivered. */
  arrive(direction: Direction, now: number, packet: Uint8Array): boolean {
    const info = readPacket(packet);
    const blocked = this.blocked(now, info, connectionKey(info));
    const c = this.counters[direction];
    if (blocked) {
      c.drops[blocked]++;
      return false;
    }
    c.deliveredBytes += packet.byteLength;
    c.deliveredPackets++;
    return true;
  }

  private blocked(now: number, info: PacketInfo, key: string): DropReason | null {
    if (this.inOutage(now)) return 'outage';
    if (this.blackholes.has(key)) return 'blackhole';
    if ((info.src !== null && this.retired.has(info.src)) || (info.dst !== null && this.retired.has(info.dst))) return 'retired_address';
    return null;
  }
}
