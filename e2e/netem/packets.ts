// Just enough IPv4/TCP/UDP header reading for the link emulator (link-model.ts): the addresses and ports that name a
// flow (for in-order jitter and the one-connection black hole). Packets are never modified.

export interface PacketInfo {
  /** Dotted IPv4 addresses; null for anything that is not IPv4 (the namespaces run with IPv6 off). */
  src: string | null;
  dst: string | null;
  /** `tcp`/`udp`/`icmp`/…; ports are 0 for protocols without them. */
  protocol: 'tcp' | 'udp' | 'icmp' | 'other';
  srcPort: number;
  dstPort: number;
  /** TCP SYN without ACK: a new connection being opened. */
  syn: boolean;
}

const ip = (p: Uint8Array, at: number): string => `${p[at]}.${p[at + 1]}.${p[at + 2]}.${p[at + 3]}`;

export function readPacket(p: Uint8Array): PacketInfo {
  const unknown: PacketInfo = { src: null, dst: null, protocol: 'other', srcPort: 0, dstPort: 0, syn: false };
  if (p.byteLength < 20 || p[0]! >> 4 !== 4) return unknown;
  const ihl = (p[0]! & 0x0f) * 4;
  const proto = p[9]!;
  const src = ip(p, 12);
  const dst = ip(p, 16);
  const protocol = proto === 6 ? 'tcp' : proto === 17 ? 'udp' : proto === 1 ? 'icmp' : 'other';
  if ((protocol !== 'tcp' && protocol !== 'udp') || p.byteLength < ihl + 4) return { ...unknown, src, dst, protocol };
  const srcPort = (p[ihl]! << 8) | p[ihl + 1]!;
  const dstPort = (p[ihl + 2]! << 8) | p[ihl + 3]!;
  const flags = protocol === 'tcp' && p.byteLength > ihl + 13 ? p[ihl + 13]! : 0;
  return { src, dst, protocol, srcPort, dstPort, syn: (flags & 0x12) === 0x02 };
}

/** The same key for both directions of one connection (the black hole drops both). */
export function connectionKey(info: PacketInfo): string {
  const a = `${info.src}:${info.srcPort}`;
  const b = `${info.dst}:${info.dstPort}`;
  return `${info.protocol} ${a < b ? `${a} ${b}` : `${b} ${a}`}`;
}

/** One direction of one connection (for keeping packet order under jitter). */
export function directedKey(info: PacketInfo): string {
  return `${info.protocol} ${info.src}:${info.srcPort}>${info.dst}:${info.dstPort}`;
}

/** Builds a minimal IPv4 packet (tests only need headers that readPacket understands). */
export function makeIpv4Packet(o: { src: string; dst: string; protocol?: 'tcp' | 'udp'; srcPort?: number; dstPort?: number; bytes?: number; syn?: boolean }): Uint8Array {
  const size = Math.max(40, o.bytes ?? 40);
  const p = new Uint8Array(size);
  p[0] = 0x45;
  p[2] = size >> 8;
  p[3] = size & 0xff;
  p[8] = 64;
  p[9] = (o.protocol ?? 'tcp') === 'tcp' ? 6 : 17;
  p.set(o.src.split('.').map(Number), 12);
  p.set(o.dst.split('.').map(Number), 16);
  const sp = o.srcPort ?? 40000;
  const dp = o.dstPort ?? 8080;
  p.set([sp >> 8, sp & 0xff, dp >> 8, dp & 0xff], 20);
  p[33] = o.syn ? 0x02 : 0x10;
  return p;
}
