// The bench's byte breakdown from hand-built IPv4/TCP packets carrying hand-built WebSocket frames (RFC 6455 byte
// layouts written out here, deflate by node:zlib), so the tally is checked against the wire format, not itself.
import { deflateRawSync, constants } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { WireTally, wireGroup } from './wire-tally.ts';

const PHONE = [10, 0, 0, 1];
const RELAY = [10, 0, 0, 2];

function tcp(o: { up: boolean; seq: number; flags?: number; payload?: Uint8Array }): Uint8Array {
  const payload = o.payload ?? new Uint8Array(0);
  const p = new Uint8Array(20 + 32 + payload.byteLength); // 32: a TCP header with timestamps, as Linux sends
  p[0] = 0x45;
  p[2] = p.byteLength >> 8;
  p[3] = p.byteLength & 0xff;
  p[9] = 6;
  p.set(o.up ? PHONE : RELAY, 12);
  p.set(o.up ? RELAY : PHONE, 16);
  const [sp, dp] = o.up ? [40000, 8080] : [8080, 40000];
  p.set([sp >> 8, sp & 0xff, dp >> 8, dp & 0xff], 20);
  new DataView(p.buffer).setUint32(24, o.seq >>> 0);
  p[32] = 8 << 4;
  p[33] = o.flags ?? 0x18; // PSH|ACK
  p.set(payload, 52);
  return p;
}

/** A client frame: FIN, opcode, MASK bit, 7-bit length, mask key, masked payload. */
function maskedFrame(opcode: number, payload: Uint8Array, rsv1 = false): Uint8Array {
  const key = [0x11, 0x22, 0x33, 0x44];
  const out = new Uint8Array(2 + 4 + payload.byteLength);
  out[0] = 0x80 | (rsv1 ? 0x40 : 0) | opcode;
  out[1] = 0x80 | payload.byteLength;
  out.set(key, 2);
  payload.forEach((b, i) => (out[6 + i] = b ^ key[i % 4]!));
  return out;
}

function serverFrame(opcode: number, payload: Uint8Array, rsv1 = false): Uint8Array {
  const long = payload.byteLength > 125;
  const out = new Uint8Array((long ? 4 : 2) + payload.byteLength);
  out[0] = 0x80 | (rsv1 ? 0x40 : 0) | opcode;
  if (long) {
    out[1] = 126;
    out[2] = payload.byteLength >> 8;
    out[3] = payload.byteLength & 0xff;
  } else out[1] = payload.byteLength;
  out.set(payload, long ? 4 : 2);
  return out;
}

const text = (s: string) => new TextEncoder().encode(s);
/** permessage-deflate: raw deflate, sync flush, the trailing 00 00 ff ff removed (RFC 7692 §7.2.1). */
const deflated = (s: string) => {
  const d = deflateRawSync(text(s), { finishFlush: constants.Z_SYNC_FLUSH });
  return d.subarray(0, d.byteLength - 4);
};

/** Opens a WebSocket connection on the tally; returns the next sequence numbers each way. */
function open(t: WireTally, extensions: string): { up: number; down: number; handshake: number } {
  t.packet('up', tcp({ up: true, seq: 1000, flags: 0x02 }));
  t.packet('down', tcp({ up: false, seq: 5000, flags: 0x12 }));
  const req = text('GET /v1/realtime HTTP/1.1\r\nHost: x\r\nSec-WebSocket-Protocol: earshot.v2\r\n\r\n');
  const res = text(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n${extensions}\r\n`);
  t.packet('up', tcp({ up: true, seq: 1001, payload: req }));
  t.packet('down', tcp({ up: false, seq: 5001, payload: res }));
  return { up: 1001 + req.byteLength, down: 5001 + res.byteLength, handshake: req.byteLength + res.byteLength };
}

describe('wire tally', () => {
  it('puts every delivered byte in one category: TCP/IP, handshake, WS framing, our header, Opus, JSON by type', () => {
    const t = new WireTally();
    const s = open(t, '');
    const opus = new Uint8Array(60).fill(0xab);
    const audioUp = new Uint8Array([1, 0, 0, 0, 40, 0, 0, 0, ...opus]);
    const up1 = maskedFrame(0x2, audioUp);
    const ping = maskedFrame(0x1, text('{"type":"earshot.ping","id":1,"t":5,"ack":3}'));
    t.packet('up', tcp({ up: true, seq: s.up, payload: up1 }));
    t.packet('up', tcp({ up: true, seq: s.up + up1.byteLength, payload: ping }));
    const audioDown = new Uint8Array([2, 0, 1, 0, 0, 0, 0, 0, 0x40, 0x06, ...opus, ...opus]);
    const down1 = serverFrame(0x2, audioDown);
    const delta = serverFrame(0x1, text('{"type":"response.output_audio_transcript.delta","delta":"One"}'));
    t.packet('down', tcp({ up: false, seq: s.down, payload: new Uint8Array([...down1, ...delta]) }));
    t.packet('down', tcp({ up: false, seq: 9, flags: 0x10 })); // a pure ACK

    expect(t.up.bytes.get('audio:opus')).toBe(60);
    expect(t.up.bytes.get('audio:header')).toBe(8);
    expect(t.up.bytes.get('json:earshot.ping')).toBe(44);
    expect(t.up.bytes.get('ws:framing')).toBe(12); // 2 + 4-byte mask key, twice
    expect(t.down.bytes.get('audio:opus')).toBe(120);
    expect(t.down.bytes.get('audio:header')).toBe(10);
    expect(t.down.bytes.get('ws:framing')).toBe(4 + 2); // 130 B takes the 16-bit length
    expect(t.down.bytes.get('json:response.output_audio_transcript.delta')).toBe(63);
    expect(t.down.bytes.get('tcp:ack-only')).toBe(52 * 2); // SYN-ACK and the ACK
    expect(t.up.bytes.get('tcp:ack-only')).toBe(52);
    expect((t.up.bytes.get('ws:handshake') ?? 0) + (t.down.bytes.get('ws:handshake') ?? 0)).toBe(s.handshake);
    expect(t.up.bytes.get('http')).toBeUndefined();
    expect(t.up.bytes.get('tcp:headers')).toBe(52 * 3);
    expect(wireGroup('json:response.output_audio_transcript.delta')).toBe('json:transcript deltas');
    expect(wireGroup('json:earshot.pong')).toBe('json:heartbeat (earshot.ping/pong)');
  });

  it('counts a plain HTTP connection (the page, its assets) whole as http, its SYNs and ACKs included', () => {
    const t = new WireTally();
    t.packet('up', tcp({ up: true, seq: 1, flags: 0x02 }));
    t.packet('down', tcp({ up: false, seq: 7, flags: 0x12 }));
    const get = text('GET /assets/index.js HTTP/1.1\r\nHost: x\r\n\r\n');
    t.packet('up', tcp({ up: true, seq: 2, payload: get }));
    t.packet('down', tcp({ up: false, seq: 8, payload: text('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok') }));
    t.packet('up', tcp({ up: true, seq: 2 + get.byteLength, flags: 0x10 }));
    expect([...t.up.bytes.keys()]).toEqual(['http']);
    expect([...t.down.bytes.keys()]).toEqual(['http']);
    expect(t.total('up')).toBe(52 * 3 + get.byteLength);
  });

  it('reassembles a stream whose segment was lost and retransmitted, counting the duplicate once as such', () => {
    const t = new WireTally();
    const s = open(t, '');
    const a = serverFrame(0x1, text('{"type":"response.created"}'));
    const b = serverFrame(0x1, text('{"type":"response.done"}'));
    t.packet('down', tcp({ up: false, seq: s.down + a.byteLength, payload: b })); // b arrives first: a was lost
    expect(t.down.bytes.get('json:response.done')).toBeUndefined();
    t.packet('down', tcp({ up: false, seq: s.down, payload: a })); // the retransmission of a
    t.packet('down', tcp({ up: false, seq: s.down + a.byteLength, payload: b })); // a spurious retransmission of b
    expect(t.down.bytes.get('json:response.created')).toBe(27);
    expect(t.down.bytes.get('json:response.done')).toBe(24);
    expect(t.down.bytes.get('tcp:duplicate')).toBe(b.byteLength);
    expect(t.down.textFrames).toBe(2);
  });

  it('inflates compressed frames to name them and counts their compressed size (binary ones too)', () => {
    const t = new WireTally();
    const s = open(t, 'Sec-WebSocket-Extensions: permessage-deflate; client_no_context_takeover\r\n');
    const first = '{"type":"response.output_audio_transcript.delta","event_id":"event_1","delta":"One"}';
    const whole = deflated(first); // the first message alone, as its own flush point
    const f1 = serverFrame(0x1, whole, true);
    t.packet('down', tcp({ up: false, seq: s.down, payload: f1 }));
    expect(t.down.bytes.get('json:response.output_audio_transcript.delta')).toBe(whole.byteLength);
    expect(t.down.compressedTextFrames).toBe(1);
    // A binary frame from the browser, deflated with an empty window (client_no_context_takeover).
    const audioUp = new Uint8Array([1, 0, 0, 0, 40, 0, 0, 0, ...new Uint8Array(60).fill(7)]);
    const d = deflateRawSync(audioUp, { finishFlush: constants.Z_SYNC_FLUSH });
    t.packet('up', tcp({ up: true, seq: s.up, payload: maskedFrame(0x2, d.subarray(0, d.byteLength - 4), true) }));
    expect(t.up.compressedBinaryFrames).toBe(1);
    expect((t.up.bytes.get('audio:header') ?? 0) + (t.up.bytes.get('audio:opus') ?? 0)).toBe(d.byteLength - 4);
  });

  it('reads a second message that refers back into the first (context takeover)', async () => {
    const t = new WireTally();
    const s = open(t, 'Sec-WebSocket-Extensions: permessage-deflate\r\n');
    const { createDeflateRaw } = await import('node:zlib');
    const deflater = createDeflateRaw();
    const chunks: Buffer[] = [];
    deflater.on('data', (c: Buffer) => chunks.push(c));
    const flushOne = (msg: string) =>
      new Promise<Buffer>((resolve) => {
        deflater.write(text(msg));
        deflater.flush(constants.Z_SYNC_FLUSH, () => {
          const out = Buffer.concat(chunks.splice(0));
          resolve(out.subarray(0, out.length - 4));
        });
      });
    const m1 = '{"type":"response.output_audio_transcript.delta","item_id":"item_abc","delta":"One"}';
    const m2 = '{"type":"response.output_audio_transcript.delta","item_id":"item_abc","delta":"two"}';
    const c1 = await flushOne(m1);
    const c2 = await flushOne(m2);
    deflater.close();
    expect(c2.byteLength).toBeLessThan(c1.byteLength / 2); // it really refers back
    const f1 = serverFrame(0x1, c1, true);
    t.packet('down', tcp({ up: false, seq: s.down, payload: f1 }));
    t.packet('down', tcp({ up: false, seq: s.down + f1.byteLength, payload: serverFrame(0x1, c2, true) }));
    expect(t.down.bytes.get('json:response.output_audio_transcript.delta')).toBe(c1.byteLength + c2.byteLength);
    expect(t.down.textPlainBytes).toBe(m1.length + m2.length);
  });
});
