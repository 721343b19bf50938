// permessage-deflate on the app link, observed on the wire: a raw TCP client (its own RFC 6455 framing, written out
// here) offers the extension as a browser does and reads each frame's RSV1 bit — the bit that says "compressed".
// The real relay on loopback, the real simulator answering real Opus speech.
import { connect, type Socket } from 'node:net';
import { constants, deflateRawSync, inflateRawSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { APP_SUBPROTOCOL, AppFrameKind, encodeAudioUp } from '../../../protocol/app-link.ts';
import { OPENAI_KEY_SUBPROTOCOL_PREFIX, TOKEN_SUBPROTOCOL_PREFIX } from '../../../protocol/relay-http.ts';
import { encodeOpusPackets } from '../testing/app-link-client.ts';
import { speechPcm16 } from '../testing/realtime-client.ts';
import { startTestRelay, type TestRelay } from '../testing/start-relay.ts';
import { until } from '../testing/until.ts';

let relay: TestRelay;
beforeAll(async () => {
  relay = await startTestRelay({ limits: { failedAuthPerMinute: 1000 }, appLink: { transcodeWorkers: 1 } });
});
afterAll(async () => {
  await relay.stop();
});

interface RawFrame {
  rsv1: boolean;
  opcode: number;
  payload: Buffer;
}

interface RawClient {
  response: string;
  frames: RawFrame[];
  sendBinary(payload: Uint8Array): void;
  /** Any client frame, masked; `rsv1` claims it is compressed. */
  sendFrame(opcode: number, payload: Uint8Array, rsv1: boolean): void;
  /** Resolves when the relay's TCP connection ends. */
  ended: Promise<void>;
  close(): void;
}

/** A WebSocket client on a bare socket: the handshake as text, frames parsed by hand, client frames masked. */
function rawClient(url: string, protocols: string[], extensions: string): Promise<RawClient> {
  const u = new URL(url.replace(/^ws/, 'http'));
  return new Promise((resolve, reject) => {
    const socket: Socket = connect(Number(u.port), u.hostname);
    const frames: RawFrame[] = [];
    let buf = Buffer.alloc(0);
    let response: string | null = null;
    const client: RawClient = {
      response: '',
      frames,
      sendBinary(payload) {
        client.sendFrame(0x2, payload, false);
      },
      sendFrame(opcode, payload, rsv1) {
        const mask = Buffer.from([1, 2, 3, 4]);
        const b0 = 0x80 | (rsv1 ? 0x40 : 0) | opcode;
        const n = payload.byteLength;
        const head = n < 126 ? Buffer.from([b0, 0x80 | n]) : n < 65536 ? Buffer.from([b0, 0x80 | 126, n >> 8, n & 0xff]) : Buffer.concat([Buffer.from([b0, 0x80 | 127]), Buffer.from(new BigUint64Array([BigInt(n)]).buffer).reverse()]);
        const body = Buffer.from(payload).map((b, i) => b ^ mask[i % 4]!);
        socket.write(Buffer.concat([head, mask, body]));
      },
      ended: new Promise<void>((done) => socket.once('close', () => done())),
      close: () => socket.destroy(),
    };
    socket.on('error', reject);
    socket.on('data', (chunk: Buffer) => {
      buf = Buffer.concat([buf, chunk]);
      if (response === null) {
        const end = buf.indexOf('\r\n\r\n');
        if (end < 0) return;
        response = buf.subarray(0, end).toString('latin1');
        buf = buf.subarray(end + 4);
        client.response = response;
        if (!response.startsWith('HTTP/1.1 101')) return reject(new Error(response));
        resolve(client);
      }
      for (;;) {
        if (buf.length < 2) return;
        let length = buf[1]! & 0x7f;
        let at = 2;
        if (length === 126) {
          if (buf.length < 4) return;
          length = buf.readUInt16BE(2);
          at = 4;
        } else if (length === 127) {
          if (buf.length < 10) return;
          length = Number(buf.readBigUInt64BE(2));
          at = 10;
        }
        if (buf.length < at + length) return;
        frames.push({ rsv1: (buf[0]! & 0x40) !== 0, opcode: buf[0]! & 0x0f, payload: Buffer.from(buf.subarray(at, at + length)) });
        buf = buf.subarray(at + length);
      }
    });
    socket.write(
      `GET ${u.pathname}${u.search} HTTP/1.1\r\nHost: ${u.host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
        `Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: ${protocols.join(', ')}\r\n` +
        (extensions ? `Sec-WebSocket-Extensions: ${extensions}\r\n` : '') +
        '\r\n',
    );
  });
}

/** A fresh app link still opens and gets its earshot.session: the relay process is alive and serving. */
async function anotherLinkWorks(): Promise<boolean> {
  const token = await relay.mint('deflate-after');
  const c = await rawClient(relay.wsUrl, [APP_SUBPROTOCOL, `${TOKEN_SUBPROTOCOL_PREFIX}${token}`], CHROMIUM_OFFER);
  await until('earshot.session', () => c.frames.some((f) => f.opcode === 0x1));
  c.close();
  return true;
}

const CHROMIUM_OFFER = 'permessage-deflate; client_max_window_bits';
const extensionsOf = (response: string) => /^sec-websocket-extensions:\s*(.*)$/im.exec(response)?.[1] ?? null;

describe('app link compression (permessage-deflate)', () => {
  it('compresses every JSON text frame and never an Opus frame; the text inflates to the GA event', async () => {
    const token = await relay.mint('deflate-app');
    const c = await rawClient(relay.wsUrl, [APP_SUBPROTOCOL, `${TOKEN_SUBPROTOCOL_PREFIX}${token}`], CHROMIUM_OFFER);
    expect(extensionsOf(c.response)).toMatch(/permessage-deflate/);
    const speech = speechPcm16('hello relay, can you hear me', 0.8);
    for (const p of encodeOpusPackets(speech)) c.sendBinary(encodeAudioUp({ captureMs: p.captureMs, flags: 0 }, p.opus));
    // The reply's audio: binary frames. Wait for some, then for the turn's response.done among the text frames.
    await until('reply audio', () => c.frames.filter((f) => f.opcode === 0x2).length > 5, 15_000);
    const text = c.frames.filter((f) => f.opcode === 0x1);
    const binary = c.frames.filter((f) => f.opcode === 0x2);
    expect(text.length).toBeGreaterThan(3);
    expect(text.every((f) => f.rsv1)).toBe(true);
    expect(binary.every((f) => !f.rsv1)).toBe(true);
    expect(binary.every((f) => f.payload[0] === AppFrameKind.AudioDown)).toBe(true);
    // The first message of the stream starts with an empty window, so it inflates on its own.
    const first = JSON.parse(inflateRawSync(Buffer.concat([text[0]!.payload, Buffer.from([0, 0, 0xff, 0xff])]), { finishFlush: constants.Z_SYNC_FLUSH }).toString()) as { type: string };
    expect(first.type).toBe('earshot.session');
    c.close();
  });

  it('a compressed frame that inflates past the frame limit (a zip bomb) ends that link only; the relay goes on', async () => {
    const token = await relay.mint('deflate-bomb');
    const c = await rawClient(relay.wsUrl, [APP_SUBPROTOCOL, `${TOKEN_SUBPROTOCOL_PREFIX}${token}`], CHROMIUM_OFFER);
    const bomb = deflateRawSync(Buffer.alloc(64 * 1024 * 1024, 0x20), { finishFlush: constants.Z_SYNC_FLUSH }); // 64 MB of spaces, ~64 KB
    c.sendFrame(0x1, bomb.subarray(0, bomb.byteLength - 4), true);
    await c.ended;
    const close = c.frames.find((f) => f.opcode === 0x8);
    // uWS stops inflating at maxPayloadLength and drops the connection (this build sends no close frame first).
    expect(close === undefined || close.payload.readUInt16BE(0) === 1009).toBe(true);
    await expect(anotherLinkWorks()).resolves.toBe(true);
  });

  it('a frame marked compressed that is not deflate ends that link only; the relay goes on', async () => {
    const token = await relay.mint('deflate-junk');
    const c = await rawClient(relay.wsUrl, [APP_SUBPROTOCOL, `${TOKEN_SUBPROTOCOL_PREFIX}${token}`], CHROMIUM_OFFER);
    c.sendFrame(0x1, Buffer.from([0xff, 0xfe, 0xfd, 0xfc, 0x01, 0x02, 0x03]), true);
    await c.ended;
    await expect(anotherLinkWorks()).resolves.toBe(true);
  });

  it('sends plain text frames to an app that does not offer the extension', async () => {
    const token = await relay.mint('plain-app');
    const c = await rawClient(relay.wsUrl, [APP_SUBPROTOCOL, `${TOKEN_SUBPROTOCOL_PREFIX}${token}`], '');
    expect(extensionsOf(c.response)).toBeNull();
    await until('a first frame', () => c.frames.length > 0);
    expect(c.frames[0]!.rsv1).toBe(false);
    expect((JSON.parse(c.frames[0]!.payload.toString()) as { type: string }).type).toBe('earshot.session');
    c.close();
  });

  it('leaves the verbatim /v1/realtime path uncompressed: an SDK client offering the extension is not given it', async () => {
    const token = await relay.mint('deflate-v1');
    const c = await rawClient(relay.wsUrl, ['realtime', `${OPENAI_KEY_SUBPROTOCOL_PREFIX}${token}`], CHROMIUM_OFFER);
    expect(extensionsOf(c.response)).toBeNull();
    await until('a first frame', () => c.frames.length > 0);
    expect(c.frames.every((f) => !f.rsv1)).toBe(true);
    c.close();
  });
});
