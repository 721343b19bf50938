// A real-WebSocket client speaking `earshot.v2` for tests: counts relay messages as the protocol says, answers
// heartbeats with its count, sends Opus AudioUp frames, and decodes AudioDown streams with its own Opus decoder
// (an instance independent of the relay's workers). It reads the wire with protocol/app-link.ts, which both
// sides share; what it checks (samples, offsets, counts) comes from the bytes received.
import OpusScript from 'opusscript';
import WebSocket from 'ws';
import {
  APP_SUBPROTOCOL,
  AudioDownFlags,
  decodeAppFrame,
  encodeAudioUp,
  RESUME_SUBPROTOCOL_PREFIX,
  type AudioDownHeader,
  type LinkAudioStream,
  type LinkSession,
} from '../../../protocol/app-link.ts';
import { TOKEN_SUBPROTOCOL_PREFIX } from '../../../protocol/relay-http.ts';

export interface DownPacket extends AudioDownHeader {
  opus: Uint8Array;
  seq: number;
}

// Events are checked loosely by type; tests narrow what they read.
export type AnyEvent = { type: string; [k: string]: unknown };

export class AppLinkTestClient {
  readonly events: Array<AnyEvent & { seq: number }> = [];
  readonly packets: DownPacket[] = [];
  readonly socket: WebSocket;
  readonly closed: Promise<{ code: number; reason: string }>;
  /** Relay messages received (the count to present on resume). */
  received: number;
  pingsSeen = 0;
  answerPings = true;
  session: LinkSession | null = null;
  private waiters: Array<() => void> = [];

  private constructor(socket: WebSocket, received: number) {
    this.socket = socket;
    this.received = received;
    socket.on('message', (data, isBinary) => {
      const bytes = data as Buffer;
      if (isBinary) {
        const frame = decodeAppFrame(new Uint8Array(bytes));
        if (!frame.ok || frame.header.kind !== 2) throw new Error(`bad binary frame from the relay: ${JSON.stringify(frame)}`);
        this.packets.push({ ...frame.header, opus: frame.payload.slice(), seq: ++this.received });
      } else {
        const event = JSON.parse(bytes.toString('utf8')) as AnyEvent;
        if (event.type === 'earshot.ping') {
          this.pingsSeen++;
          if (this.answerPings) this.send({ type: 'earshot.pong', id: event.id, t: event.t, ack: this.received });
        } else if (event.type === 'earshot.pong') {
          // heartbeat answer: not counted
        } else if (event.type === 'earshot.session' && event.resumed === true) {
          // not counted on a resumed link: the replay that follows keeps its numbers
          this.session = event as unknown as LinkSession;
          this.events.push({ ...event, seq: this.received });
        } else {
          if (event.type === 'earshot.session') {
            // A fresh session (also when a resume was refused): numbering starts again at 1.
            this.session = event as unknown as LinkSession;
            this.received = 0;
          }
          this.events.push({ ...event, seq: ++this.received });
        }
      }
      for (const wake of this.waiters.splice(0)) wake();
    });
    this.closed = new Promise((resolve) => {
      socket.on('close', (code, reason) => {
        resolve({ code, reason: reason.toString() });
        for (const wake of this.waiters.splice(0)) wake();
      });
    });
  }

  static connect(url: string, token: string, resume?: { token: string; received: number }): Promise<AppLinkTestClient> {
    const protocols = [APP_SUBPROTOCOL, `${TOKEN_SUBPROTOCOL_PREFIX}${token}`];
    if (resume) protocols.push(`${RESUME_SUBPROTOCOL_PREFIX}${resume.token}.${resume.received}`);
    return new Promise((resolve, reject) => {
      const socket = new WebSocket(url, protocols, { perMessageDeflate: false });
      const client = new AppLinkTestClient(socket, resume?.received ?? 0);
      socket.once('open', () => resolve(client));
      socket.once('unexpected-response', (_req, res) => {
        let body = '';
        res.on('data', (chunk: Buffer) => (body += chunk.toString()));
        res.on('end', () => reject(Object.assign(new Error(`upgrade refused: ${res.statusCode}`), { status: res.statusCode, body })));
      });
      socket.once('error', reject);
    });
  }

  send(event: unknown): void {
    this.socket.send(JSON.stringify(event));
  }

  sendAudio(captureMs: number, opus: Uint8Array, flags = 0): void {
    this.socket.send(encodeAudioUp({ captureMs, flags }, opus), { binary: true });
  }

  /** Drops the TCP connection without a close frame, as a phone changing networks does. */
  dropTcp(): void {
    (this.socket as unknown as { _socket: { destroy(): void } })._socket.destroy();
  }

  of(type: string): Array<AnyEvent & { seq: number }> {
    return this.events.filter((e) => e.type === type);
  }

  async waitFor(type: string, options: { from?: number; timeoutMs?: number; where?: (e: AnyEvent) => boolean } = {}): Promise<AnyEvent & { seq: number }> {
    return this.waitUntil(`${type}`, () => this.events.slice(options.from ?? 0).find((e) => e.type === type && (options.where?.(e) ?? true)), options.timeoutMs);
  }

  async waitUntil<T>(what: string, check: () => T | undefined | null | false, timeoutMs = 10_000): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = check();
      if (found) return found;
      if (this.socket.readyState === WebSocket.CLOSED) throw new Error(`socket closed while waiting for ${what}; saw ${this.events.map((e) => e.type).join(', ')}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out waiting for ${what}; saw ${this.events.map((e) => e.type).join(', ')}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  stream(ref: number): LinkAudioStream | undefined {
    return this.events.find((e) => e.type === 'earshot.audio.stream' && e.ref === ref) as unknown as LinkAudioStream | undefined;
  }

  /** Packets of one stream in arrival order. */
  streamPackets(ref: number): DownPacket[] {
    return this.packets.filter((p) => p.streamRef === ref);
  }

  close(code = 1000): Promise<{ code: number; reason: string }> {
    if (this.socket.readyState === WebSocket.OPEN || this.socket.readyState === WebSocket.CONNECTING) this.socket.close(code);
    return this.closed;
  }
}

export function isEndOfStream(p: DownPacket): boolean {
  return (p.flags & AudioDownFlags.EndOfStream) !== 0;
}

/** Decodes a stream's packets with a fresh decoder, trimming each to its `samples`. */
export function decodeStream(packets: DownPacket[]): Int16Array {
  const decoder = new OpusScript(24_000, 1, OpusScript.Application.VOIP);
  const parts: Int16Array[] = [];
  for (const p of packets) {
    const pcm = decoder.decode(Buffer.from(p.opus));
    parts.push(new Int16Array(pcm.buffer.slice(pcm.byteOffset, pcm.byteOffset + p.samples * 2)));
  }
  decoder.delete();
  const out = new Int16Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** 24 kHz pcm16 bytes → Opus packets of `frameMs`, with the capture time of each, from an independent encoder. */
export function encodeOpusPackets(pcm16: Uint8Array, frameMs = 40): Array<{ captureMs: number; opus: Uint8Array; level: number }> {
  const encoder = new OpusScript(24_000, 1, OpusScript.Application.VOIP);
  encoder.setBitrate(24_000);
  const frame = (24_000 * frameMs) / 1000;
  const out: Array<{ captureMs: number; opus: Uint8Array; level: number }> = [];
  const samples = new Int16Array(pcm16.buffer.slice(pcm16.byteOffset, pcm16.byteOffset + (pcm16.byteLength & ~1)));
  for (let at = 0, i = 0; at + frame <= samples.length; at += frame, i++) {
    const chunk = samples.subarray(at, at + frame);
    let peak = 0;
    for (const s of chunk) peak = Math.max(peak, Math.abs(s));
    out.push({ captureMs: i * frameMs, opus: new Uint8Array(encoder.encode(Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength), frame)), level: peak });
  }
  encoder.delete();
  return out;
}
