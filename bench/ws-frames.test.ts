// The load generator's framing checked against an independent implementation: frames it builds are parsed by
// the `ws` library's server-side Receiver (which insists on masking and unmasks for real), and frames made by
// `ws`'s Sender are scanned by FrameScanner, split at every possible point.
import { createRequire } from 'node:module';
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { FrameScanner, maskedFrame, OPCODE_PING, OPCODE_TEXT, writeMaskedDigits } from './ws-frames.ts';

// @types/ws does not declare these two classes; the shapes below are the parts used here (ws 8).
type WsReceiver = Writable & {
  on(event: 'message', fn: (data: Buffer, isBinary: boolean) => void): WsReceiver;
  on(event: 'ping', fn: (data: Buffer) => void): WsReceiver;
  on(event: 'error', fn: (err: Error) => void): WsReceiver;
};
interface WsSenderStatic {
  frame(data: Buffer, options: { fin: boolean; opcode: number; mask: boolean; readOnly: boolean; rsv1: boolean }): Buffer[];
}
const require = createRequire(import.meta.url);
const wsLib = require('ws') as { Receiver: new (options: { isServer: boolean; binaryType?: string }) => WsReceiver; Sender: WsSenderStatic };
const { Receiver, Sender } = wsLib;

/** What `ws`, acting as the relay's server side, reads out of `bytes`. */
function receivedByWs(bytes: Buffer): Promise<{ texts: string[]; pings: number; error: string | null }> {
  return new Promise((resolve) => {
    const r = new Receiver({ isServer: true, binaryType: 'nodebuffer' });
    const texts: string[] = [];
    let pings = 0;
    r.on('message', (data, isBinary) => {
      if (!isBinary) texts.push(data.toString('utf8'));
    });
    r.on('ping', () => pings++);
    r.on('error', (err) => resolve({ texts, pings, error: err.message }));
    r.write(bytes, () => resolve({ texts, pings, error: null }));
  });
}

const serverFrame = (payload: Buffer, opcode = OPCODE_TEXT): Buffer => Buffer.concat(Sender.frame(payload, { fin: true, opcode, mask: false, readOnly: false, rsv1: false }));

describe('maskedFrame (the load generator’s client frames)', () => {
  it('builds frames that ws’s server Receiver unmasks to the same text, at every length encoding', async () => {
    const mask = Uint8Array.of(0x12, 0x9a, 0xff, 0x01);
    for (const n of [0, 1, 125, 126, 1337, 65535, 65536, 70_000]) {
      const text = Array.from({ length: n }, (_, i) => String.fromCharCode(33 + ((i * 7) % 90))).join('');
      const { frame } = maskedFrame(Buffer.from(text), mask);
      expect(await receivedByWs(frame)).toEqual({ texts: [text], pings: 0, error: null });
    }
  });

  it('really masks: the payload bytes on the wire differ from the text', () => {
    const text = '{"type":"input_audio_buffer.append"}';
    const { frame, payloadOffset } = maskedFrame(Buffer.from(text), Uint8Array.of(1, 2, 3, 4));
    expect(frame.subarray(payloadOffset).toString('latin1')).not.toBe(text);
    expect(frame[1]! & 0x80).toBe(0x80);
  });

  it('re-stamps digits in place so the frame still decodes, with the new digits', async () => {
    const prefix = '{"type":"input_audio_buffer.append","event_id":"t:';
    const text = `${prefix}${'0'.repeat(16)}:000000","audio":"${'A'.repeat(1280)}"}`;
    const f = maskedFrame(Buffer.from(text), Uint8Array.of(0xde, 0xad, 0xbe, 0xef));
    writeMaskedDigits(f, prefix.length, 16, 1234567890123);
    writeMaskedDigits(f, prefix.length + 17, 6, 42);
    const got = await receivedByWs(f.frame);
    expect(got.texts).toEqual([`${prefix}0001234567890123:000042","audio":"${'A'.repeat(1280)}"}`]);
    expect(() => writeMaskedDigits(f, 0, 2, 100)).toThrow(/does not fit 2 decimal digits/);
  });

  it('builds control frames ws accepts (a masked ping)', async () => {
    expect(await receivedByWs(maskedFrame(Buffer.from('hi'), Uint8Array.of(9, 8, 7, 6), OPCODE_PING).frame)).toMatchObject({ pings: 1, error: null });
  });
});

describe('FrameScanner (headers only, first bytes of each payload)', () => {
  const payloads = [Buffer.from('{"type":"response.output_audio.delta","event_id":"t:0000000000000042:000007","delta":"AAAA"}'), Buffer.alloc(0), Buffer.alloc(300, 0x61), Buffer.alloc(70_000, 0x62)];
  const stream = Buffer.concat([...payloads.map((p) => serverFrame(p)), serverFrame(Buffer.from('p'), OPCODE_PING)]);

  const scan = (cuts: number[]) => {
    const seen: { opcode: number; fin: boolean; length: number; head: string }[] = [];
    const s = new FrameScanner(64, (opcode, fin, length, head, headLength) => seen.push({ opcode, fin, length, head: head.subarray(0, headLength).toString('latin1') }));
    let at = 0;
    for (const c of [...cuts, stream.length]) {
      s.push(stream, at, c);
      at = c;
    }
    return seen;
  };
  const expected = [...payloads.map((p) => ({ opcode: OPCODE_TEXT, fin: true, length: p.length, head: p.subarray(0, 64).toString('latin1') })), { opcode: OPCODE_PING, fin: true, length: 1, head: 'p' }];

  it('reports every frame ws’s Sender wrote, with its length and first bytes, read in one piece', () => {
    expect(scan([])).toEqual(expected);
  });

  it('gives the same answer however the bytes are split (every single cut point of the first 400 bytes, and byte by byte)', () => {
    for (let cut = 1; cut < 400; cut++) expect(scan([cut])).toEqual(expected);
    expect(scan(Array.from({ length: stream.length - 1 }, (_, i) => i + 1))).toEqual(expected);
  });

  it('refuses a masked frame from the server with a clear error', () => {
    const masked = maskedFrame(Buffer.from('x'), Uint8Array.of(1, 1, 1, 1)).frame;
    expect(() => new FrameScanner(8, () => undefined).push(masked)).toThrow(/server frame is masked/);
  });
});
