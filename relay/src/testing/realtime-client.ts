// A small real-WebSocket Realtime client for tests: records every server event and lets a test wait for one.
import WebSocket, { type ClientOptions } from 'ws';
import { readFileSync } from 'node:fs';
import type { ServerEvent } from '../../../protocol/realtime.ts';
import { speechWav, soxToRawPcm16 } from '../../../e2e/audio-fixtures.ts';

export interface Closed {
  code: number;
  reason: string;
}

export class RealtimeTestClient {
  readonly events: ServerEvent[] = [];
  readonly socket: WebSocket;
  readonly closed: Promise<Closed>;
  private waiters: Array<() => void> = [];
  /** How the socket ended, and any error `ws` raised after open (both go into waitFor's message). */
  private ending: { code: number; reason: string } | null = null;
  private lastError: Error | null = null;

  private constructor(socket: WebSocket) {
    this.socket = socket;
    socket.on('message', (data) => {
      this.events.push(JSON.parse(data.toString()) as ServerEvent);
      for (const wake of this.waiters.splice(0)) wake();
    });
    socket.on('error', (err) => {
      this.lastError = err;
    });
    this.closed = new Promise((resolve) => {
      socket.on('close', (code, reason) => {
        this.ending = { code, reason: reason.toString() };
        resolve({ code, reason: reason.toString() });
        for (const wake of this.waiters.splice(0)) wake();
      });
    });
  }

  /** Opens a socket; rejects with the HTTP status and body if the upgrade is refused. */
  static connect(url: string, options: ClientOptions & { protocols?: string[] } = {}): Promise<RealtimeTestClient> {
    return new Promise((resolve, reject) => {
      const socket = new WebSocket(url, options.protocols ?? [], { perMessageDeflate: false, ...options });
      const client = new RealtimeTestClient(socket);
      socket.once('open', () => resolve(client));
      socket.once('unexpected-response', (_req, res) => {
        let body = '';
        res.on('data', (chunk: Buffer) => (body += chunk.toString()));
        res.on('end', () => reject(Object.assign(new Error(`upgrade refused: ${res.statusCode}`), { status: res.statusCode, body })));
      });
      socket.once('error', (err) => reject(err));
    });
  }

  send(event: unknown): void {
    this.socket.send(typeof event === 'string' ? event : JSON.stringify(event));
  }

  /** Sends pcm16 24 kHz audio as 20 ms appends. */
  appendAudio(pcm16: Uint8Array): void {
    for (let i = 0; i < pcm16.length; i += 960) {
      this.send({ type: 'input_audio_buffer.append', audio: Buffer.from(pcm16.subarray(i, i + 960)).toString('base64') });
    }
  }

  of<T extends ServerEvent['type']>(type: T): Array<Extract<ServerEvent, { type: T }>> {
    return this.events.filter((e): e is Extract<ServerEvent, { type: T }> => e.type === type);
  }

  /** Resolves with the first event (counting from `from`) of `type` that matches; rejects when the socket closes or after `timeoutMs` (30 s). */
  async waitFor<T extends ServerEvent['type']>(
    type: T,
    options: { from?: number; timeoutMs?: number; where?: (e: Extract<ServerEvent, { type: T }>) => boolean } = {},
  ): Promise<Extract<ServerEvent, { type: T }>> {
    // Generous by default: CI machines are shared and loaded; a closed socket ends the wait at once anyway.
    const deadline = Date.now() + (options.timeoutMs ?? 30_000);
    for (;;) {
      const found = this.events
        .slice(options.from ?? 0)
        .find((e): e is Extract<ServerEvent, { type: T }> => e.type === type && (options.where?.(e as Extract<ServerEvent, { type: T }>) ?? true));
      if (found) return found;
      if (this.socket.readyState === WebSocket.CLOSED) throw new Error(`socket closed (${this.endingText()}) while waiting for ${type}; saw ${this.types().join(', ')}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out waiting for ${type}; saw ${this.types().join(', ')}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  private endingText(): string {
    const end = this.ending ? `code ${this.ending.code}${this.ending.reason ? ` "${this.ending.reason}"` : ''}` : 'no close event yet';
    return this.lastError ? `${end}, error: ${this.lastError.message}` : end;
  }

  types(): string[] {
    return this.events.map((e) => e.type);
  }

  close(): Promise<Closed> {
    if (this.socket.readyState === WebSocket.OPEN || this.socket.readyState === WebSocket.CONNECTING) this.socket.close(1000);
    return this.closed;
  }
}

/** espeak-ng speech with `pad` seconds of silence either side, as pcm16 24 kHz mono bytes. */
export function speechPcm16(text: string, pad = 1): Buffer {
  return readFileSync(soxToRawPcm16(speechWav(text, { rate: 24_000, padSeconds: pad }), 24_000));
}
