// Where the phone link's bytes go, counted from the IP packets the emulator delivered (emulator.ts `tap`): every
// byte of every delivered packet lands in exactly one category, so the categories add up to the emulator's own
// delivered-bytes counter. Deterministic: bytes, not time, so the machine's load does not change the figures.
//
// Per direction it reassembles each TCP stream in sequence order (packets the link lost never arrive; their
// retransmissions do), tells the WebSocket connection from plain HTTP by its first bytes, parses RFC 6455 frames
// (unmasking client frames), splits earshot.v2's binary frames into our header and the Opus packet, and names every
// text frame by its JSON `type`. A compressed text frame (permessage-deflate, RSV1) is inflated to read its type,
// with the window the negotiation asked for (context takeover: the sender's earlier plaintext is the dictionary),
// and is counted at its compressed size: what the phone paid for.
//
// Pure, no clock: tests feed it hand-built packets. Runs on the bench's main thread.
import { constants, inflateRawSync } from 'node:zlib';
import { AppFrameKind, AUDIO_DOWN_HEADER_BYTES, AUDIO_UP_HEADER_BYTES } from '../../protocol/app-link.ts';
import type { Direction } from './link-model.ts';

export type WireCategory =
  /** Whole packets without TCP payload: ACKs, SYN/FIN/RST. */
  | 'tcp:ack-only'
  /** IPv4 + TCP headers (with options) of packets that carry payload. */
  | 'tcp:headers'
  /** Payload bytes the receiver already had (a retransmission whose original did arrive, or an overlap). */
  | 'tcp:duplicate'
  /** Whole packets of TCP connections that are not a WebSocket (page, assets, session check), headers and ACKs too. */
  | 'http'
  /** The WebSocket's HTTP upgrade request and its 101. */
  | 'ws:handshake'
  /** WebSocket frame headers (2–14 bytes, the mask key included). */
  | 'ws:framing'
  /** WebSocket ping/pong/close payloads (uWS's automatic pings). */
  | 'ws:control'
  /** earshot.v2's binary header (AudioUp 8 B, AudioDown 10 B). */
  | 'audio:header'
  | 'audio:opus'
  /** A binary frame that is not an AudioUp/AudioDown. */
  | 'binary:other'
  /** Text frames, by JSON `type` (`json:?` when unreadable). */
  | `json:${string}`
  /** Bytes of a stream the tally joined late (no SYN seen) or IP packets it cannot read. */
  | 'unknown';

export interface DirectionTally {
  bytes: Map<WireCategory, number>;
  /** Text frames: how many, how many compressed, their payload before compression (bytes). */
  textFrames: number;
  compressedTextFrames: number;
  binaryFrames: number;
  compressedBinaryFrames: number;
  textPlainBytes: number;
  packets: number;
}

const SYN = 0x02;
const FIN = 0x01;
const RST = 0x04;
const DEFLATE_TAIL = Buffer.from([0x00, 0x00, 0xff, 0xff]);

interface Deflate {
  /** false: every message starts with an empty window (`*_no_context_takeover`). */
  takeover: boolean;
  windowBytes: number;
  history: Buffer;
}

/**
 * One TCP connection, both ways: whether it is the WebSocket or plain HTTP decides where its TCP/IP overhead goes,
 * and that is known only from its first payload bytes, so overhead seen before (the SYNs) waits here.
 */
class Connection {
  kind: 'unknown' | 'ws' | 'http' = 'unknown';
  private pending: Array<[Direction, WireCategory, number]> = [];
  constructor(private readonly owner: WireTally) {}

  overhead(direction: Direction, category: WireCategory, bytes: number): void {
    if (this.kind === 'unknown') this.pending.push([direction, category, bytes]);
    else this.owner.add(direction, this.kind === 'http' ? 'http' : category, bytes);
  }

  is(kind: 'ws' | 'http'): void {
    if (this.kind !== 'unknown') return;
    this.kind = kind;
    for (const [d, c, b] of this.pending.splice(0)) this.overhead(d, c, b);
  }

  /** Overhead of a connection that never carried a byte (counted as TCP when the tally is read). */
  flushUnknown(): void {
    for (const [d, c, b] of this.pending.splice(0)) this.owner.add(d, c, b);
  }
}

/** One direction of one TCP connection: in-order bytes and what they are. */
class Stream {
  private next: number;
  private readonly early = new Map<number, Uint8Array>();
  private buf: Buffer = Buffer.alloc(0);
  private mode: 'start' | 'http' | 'handshake' | 'frames' = 'start';
  /** The message being continued by continuation frames: its kind and compression. */
  private message: { binary: boolean; compressed: boolean; parts: Buffer[] } | null = null;
  deflate: Deflate | null = null;

  constructor(
    isn: number,
    private readonly direction: Direction,
    private readonly owner: WireTally,
    readonly connection: Connection,
    private readonly peer: () => Stream | undefined,
  ) {
    this.next = (isn + 1) >>> 0;
  }

  segment(seq: number, payload: Uint8Array): void {
    let offset = (seq - this.next) | 0;
    if (offset < 0) {
      const dup = Math.min(-offset, payload.byteLength);
      this.connection.overhead(this.direction, 'tcp:duplicate', dup);
      payload = payload.subarray(dup);
      offset = 0;
      if (payload.byteLength === 0) return;
    }
    if (offset > 0) {
      const at = (this.next + offset) >>> 0;
      if (this.early.has(at)) this.connection.overhead(this.direction, 'tcp:duplicate', payload.byteLength);
      else this.early.set(at, payload);
      return;
    }
    this.take(payload);
    // Segments that arrived ahead of a lost one, now in order.
    for (;;) {
      let advanced = false;
      for (const [at, p] of this.early) {
        const d = (at - this.next) | 0;
        if (d > 0) continue;
        this.early.delete(at);
        const fresh = p.subarray(Math.min(-d, p.byteLength));
        this.connection.overhead(this.direction, 'tcp:duplicate', p.byteLength - fresh.byteLength);
        if (fresh.byteLength > 0) this.take(fresh);
        advanced = true;
      }
      if (!advanced) return;
    }
  }

  private take(bytes: Uint8Array): void {
    this.next = (this.next + bytes.byteLength) >>> 0;
    this.buf = this.buf.length === 0 ? Buffer.from(bytes) : Buffer.concat([this.buf, bytes]);
    this.parse();
  }

  private parse(): void {
    for (;;) {
      if (this.mode === 'start') {
        if (this.buf.length < 16) return;
        const head = this.buf.subarray(0, 16).toString('latin1');
        this.mode = head.startsWith('GET /v1/realtime') || head.startsWith('HTTP/1.1 101') ? 'handshake' : 'http';
        this.connection.is(this.mode === 'http' ? 'http' : 'ws');
      }
      if (this.mode === 'http') {
        this.owner.add(this.direction, 'http', this.buf.length);
        this.buf = Buffer.alloc(0);
        return;
      }
      if (this.mode === 'handshake') {
        const end = this.buf.indexOf('\r\n\r\n');
        if (end < 0) return;
        const head = this.buf.subarray(0, end).toString('latin1');
        this.owner.add(this.direction, 'ws:handshake', end + 4);
        this.buf = this.buf.subarray(end + 4);
        this.mode = 'frames';
        if (head.startsWith('HTTP/1.1 101')) this.negotiated(head);
        continue;
      }
      if (!this.frame()) return;
    }
  }

  /** The server's 101: what permessage-deflate each side compresses with. */
  private negotiated(response: string): void {
    const ext = /^sec-websocket-extensions:\s*(.*)$/im.exec(response)?.[1] ?? '';
    if (!/permessage-deflate/i.test(ext)) return;
    const bits = (name: string) => Number(new RegExp(`${name}=(\\d+)`, 'i').exec(ext)?.[1] ?? 15);
    const make = (side: 'server' | 'client'): Deflate => ({
      takeover: !new RegExp(`${side}_no_context_takeover`, 'i').test(ext),
      windowBytes: 1 << bits(`${side}_max_window_bits`),
      history: Buffer.alloc(0),
    });
    this.deflate = make(this.direction === 'down' ? 'server' : 'client');
    const up = this.peer();
    if (up) up.deflate = make('client');
  }

  /** One complete frame off the buffer, or false if it has not all arrived. */
  private frame(): boolean {
    const b = this.buf;
    if (b.length < 2) return false;
    const fin = (b[0]! & 0x80) !== 0;
    const rsv1 = (b[0]! & 0x40) !== 0;
    const opcode = b[0]! & 0x0f;
    const masked = (b[1]! & 0x80) !== 0;
    let length = b[1]! & 0x7f;
    let at = 2;
    if (length === 126) {
      if (b.length < 4) return false;
      length = b.readUInt16BE(2);
      at = 4;
    } else if (length === 127) {
      if (b.length < 10) return false;
      length = Number(b.readBigUInt64BE(2));
      at = 10;
    }
    const maskAt = at;
    if (masked) at += 4;
    if (b.length < at + length) return false;
    let payload = Buffer.from(b.subarray(at, at + length));
    if (masked) for (let i = 0; i < payload.length; i++) payload[i]! ^= b[maskAt + (i % 4)]!;
    this.buf = b.subarray(at + length);
    this.owner.add(this.direction, 'ws:framing', at);
    if (opcode >= 0x8) {
      this.owner.add(this.direction, 'ws:control', length);
      return true;
    }
    if (opcode !== 0x0) this.message = { binary: opcode === 0x2, compressed: rsv1, parts: [] };
    const m = this.message;
    if (!m) {
      this.owner.add(this.direction, 'unknown', length);
      return true;
    }
    m.parts.push(payload);
    if (!fin) return true;
    this.message = null;
    payload = m.parts.length === 1 ? payload : Buffer.concat(m.parts);
    const wire = payload.length;
    const plain = m.compressed ? this.inflate(payload) : payload;
    this.owner.message(this.direction, m.binary, m.compressed, wire, plain);
    return true;
  }

  private inflate(payload: Buffer): Buffer {
    const d = this.deflate;
    if (!d) throw new Error('a compressed WebSocket frame on a connection that did not negotiate permessage-deflate');
    const plain = inflateRawSync(Buffer.concat([payload, DEFLATE_TAIL]), {
      windowBits: 15,
      finishFlush: constants.Z_SYNC_FLUSH,
      ...(d.takeover && d.history.length > 0 ? { dictionary: d.history } : {}),
    });
    if (d.takeover) {
      const joined = Buffer.concat([d.history, plain]);
      d.history = joined.subarray(Math.max(0, joined.length - d.windowBytes));
    }
    return plain;
  }
}

export class WireTally {
  readonly up = WireTally.empty();
  readonly down = WireTally.empty();
  private readonly streams = new Map<string, Stream>();
  private readonly connections = new Set<Connection>();

  private static empty(): DirectionTally {
    return { bytes: new Map(), textFrames: 0, compressedTextFrames: 0, binaryFrames: 0, compressedBinaryFrames: 0, textPlainBytes: 0, packets: 0 };
  }

  add(direction: Direction, category: WireCategory, bytes: number): void {
    if (bytes === 0) return;
    const m = this[direction].bytes;
    m.set(category, (m.get(category) ?? 0) + bytes);
  }

  /** A delivered IPv4 packet, as the receiving side got it. */
  packet(direction: Direction, p: Uint8Array): void {
    this[direction].packets++;
    if (p.byteLength < 20 || p[0]! >> 4 !== 4 || p[9] !== 6) {
      this.add(direction, 'unknown', p.byteLength);
      return;
    }
    const ihl = (p[0]! & 0x0f) * 4;
    const total = Math.min(p.byteLength, (p[2]! << 8) | p[3]!);
    const dataOffset = (p[ihl + 12]! >> 4) * 4;
    const headers = ihl + dataOffset;
    const flags = p[ihl + 13]!;
    const view = new DataView(p.buffer, p.byteOffset, p.byteLength);
    const seq = view.getUint32(ihl + 4);
    const key = flowKey(p, ihl);
    const reverse = flowKey(p, ihl, true);
    if (flags & SYN) {
      // The SYN-ACK joins the connection its SYN opened.
      const connection = this.streams.get(reverse)?.connection ?? new Connection(this);
      this.connections.add(connection);
      this.streams.set(key, new Stream(seq, direction, this, connection, () => this.streams.get(reverse)));
    }
    const stream = this.streams.get(key);
    const connection = stream?.connection ?? this.streams.get(reverse)?.connection;
    const payload = p.subarray(headers, total);
    if (!connection) {
      this.add(direction, 'unknown', p.byteLength);
    } else if (payload.byteLength === 0) {
      connection.overhead(direction, 'tcp:ack-only', p.byteLength);
    } else {
      connection.overhead(direction, 'tcp:headers', headers + (p.byteLength - total));
      if (stream) stream.segment(seq, payload);
      else this.add(direction, 'unknown', payload.byteLength);
    }
    if (flags & (FIN | RST)) this.streams.delete(key);
  }

  /** A complete WebSocket data message: `wire` bytes on the link, `plain` after inflating. */
  message(direction: Direction, binary: boolean, compressed: boolean, wire: number, plain: Buffer): void {
    const t = this[direction];
    if (binary) {
      t.binaryFrames++;
      if (compressed) t.compressedBinaryFrames++;
      const header = plain[0] === AppFrameKind.AudioUp ? AUDIO_UP_HEADER_BYTES : plain[0] === AppFrameKind.AudioDown ? AUDIO_DOWN_HEADER_BYTES : 0;
      if (header === 0 || plain.length <= header) {
        this.add(direction, 'binary:other', wire);
        return;
      }
      // A compressed binary frame (the browser deflates whatever it sends once the extension is negotiated): our
      // header's share scaled to the wire size.
      const headerWire = Math.round((header * wire) / plain.length);
      this.add(direction, 'audio:header', headerWire);
      this.add(direction, 'audio:opus', wire - headerWire);
      return;
    }
    t.textFrames++;
    if (compressed) t.compressedTextFrames++;
    t.textPlainBytes += plain.length;
    this.add(direction, `json:${jsonType(plain)}`, wire);
  }

  total(direction: Direction): number {
    for (const c of this.connections) c.flushUnknown();
    let sum = 0;
    for (const v of this[direction].bytes.values()) sum += v;
    return sum;
  }
}

function flowKey(p: Uint8Array, ihl: number, reverse = false): string {
  const a = `${p[12]}.${p[13]}.${p[14]}.${p[15]}:${(p[ihl]! << 8) | p[ihl + 1]!}`;
  const b = `${p[16]}.${p[17]}.${p[18]}.${p[19]}:${(p[ihl + 2]! << 8) | p[ihl + 3]!}`;
  return reverse ? `${b}>${a}` : `${a}>${b}`;
}

function jsonType(plain: Buffer): string {
  try {
    const v = JSON.parse(plain.toString('utf8')) as { type?: unknown };
    return typeof v.type === 'string' ? v.type : '?';
  } catch {
    return '?';
  }
}

/** The report's groups: what a reader can act on. */
export function wireGroup(category: WireCategory): string {
  if (!category.startsWith('json:')) return category;
  const type = category.slice(5);
  if (type === 'earshot.ping' || type === 'earshot.pong') return 'json:heartbeat (earshot.ping/pong)';
  if (/transcript.*\.delta$/.test(type)) return 'json:transcript deltas';
  if (type.startsWith('response.')) return 'json:response.* lifecycle';
  if (type.startsWith('earshot.')) return 'json:earshot.* (session, audio.stream, capture_clock)';
  if (type.startsWith('session.') || type.startsWith('conversation.') || type.startsWith('input_audio_buffer.') || type.startsWith('rate_limits.')) return 'json:session/conversation/input events';
  return 'json:other';
}
