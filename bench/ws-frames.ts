// WebSocket framing for the raw-socket load generator (bench/loadgen-worker.ts), on its one thread: client text
// frames built and masked once per session, then only the few stamp bytes re-masked per send; and a receive-side
// scanner that walks frame headers across arbitrary TCP reads and keeps just the first bytes of each payload (enough
// to read an echoed event_id), so the load side does not decode, copy or allocate per frame the way `ws` does.
// RFC 6455 §5.2: client frames MUST be masked, server frames MUST NOT be.

export const OPCODE_CONTINUATION = 0x0;
export const OPCODE_TEXT = 0x1;
export const OPCODE_BINARY = 0x2;
export const OPCODE_CLOSE = 0x8;
export const OPCODE_PING = 0x9;
export const OPCODE_PONG = 0xa;

/** A client frame, masked, ready to write; `payloadOffset` is where the (masked) payload starts. */
export interface MaskedFrame {
  frame: Buffer;
  payloadOffset: number;
  mask: Uint8Array;
}

/** One whole (FIN) client frame of `opcode` carrying `payload`, masked with the 4-byte `mask`. */
export function maskedFrame(payload: Uint8Array, mask: Uint8Array, opcode = OPCODE_TEXT): MaskedFrame {
  if (mask.length !== 4) throw new Error(`a WebSocket mask is 4 bytes, got ${mask.length}`);
  const n = payload.length;
  const ext = n < 126 ? 0 : n < 65536 ? 2 : 8;
  const payloadOffset = 2 + ext + 4;
  const frame = Buffer.allocUnsafe(payloadOffset + n);
  frame[0] = 0x80 | opcode;
  if (ext === 0) frame[1] = 0x80 | n;
  else if (ext === 2) {
    frame[1] = 0x80 | 126;
    frame.writeUInt16BE(n, 2);
  } else {
    frame[1] = 0x80 | 127;
    frame.writeUInt32BE(Math.floor(n / 2 ** 32), 2);
    frame.writeUInt32BE(n >>> 0, 6);
  }
  frame.set(mask, 2 + ext);
  for (let i = 0; i < n; i++) frame[payloadOffset + i] = payload[i]! ^ mask[i & 3]!;
  return { frame, payloadOffset, mask: Uint8Array.from(mask) };
}

/**
 * Overwrites payload bytes [at, at + width) of a masked frame with `value` in zero-padded decimal, masked in place:
 * the per-send cost of a fresh timestamp is `width` XORs, not a re-mask of the whole 1.3 KB frame.
 * `value` must be a non-negative integer below 10^width (and exact in a double).
 */
export function writeMaskedDigits(f: MaskedFrame, at: number, width: number, value: number): void {
  if (!(value >= 0) || value >= 10 ** width || !Number.isInteger(value)) throw new Error(`${value} does not fit ${width} decimal digits`);
  const { frame, payloadOffset, mask } = f;
  let v = value;
  for (let j = width - 1; j >= 0; j--) {
    const d = v % 10;
    v = (v - d) / 10;
    frame[payloadOffset + at + j] = (0x30 + d) ^ mask[(at + j) & 3]!;
  }
}

/**
 * Called once per complete frame. `head` holds the payload's first `headLength` bytes (at most the scanner's
 * capture size) and is reused: it is valid only during the call (copy what you keep).
 */
export type FrameSink = (opcode: number, fin: boolean, payloadLength: number, head: Buffer, headLength: number) => void;

/**
 * Server-to-client frame scanner: feed it every byte read from the socket, in order, split anywhere. It parses only
 * headers and keeps the first `capture` payload bytes; the rest of each payload is skipped without a copy.
 */
export class FrameScanner {
  private readonly header = new Uint8Array(10);
  private headerLength = 0;
  private headerNeed = 2;
  private inPayload = false;
  private opcode = 0;
  private fin = false;
  private payloadLength = 0;
  private remaining = 0;
  private readonly head: Buffer;
  private headLength = 0;

  constructor(
    private readonly capture: number,
    private readonly sink: FrameSink,
  ) {
    this.head = Buffer.alloc(capture);
  }

  push(chunk: Uint8Array, start = 0, end = chunk.length): void {
    let i = start;
    while (i < end) {
      if (!this.inPayload) {
        this.header[this.headerLength++] = chunk[i++]!;
        if (this.headerLength === 2) {
          if (this.header[1]! & 0x80) throw new Error('a server frame is masked (RFC 6455 §5.1 forbids it)');
          const len7 = this.header[1]! & 0x7f;
          this.headerNeed = 2 + (len7 === 126 ? 2 : len7 === 127 ? 8 : 0);
        }
        if (this.headerLength >= 2 && this.headerLength === this.headerNeed) this.beginPayload();
        continue;
      }
      const take = Math.min(end - i, this.remaining);
      if (this.headLength < this.capture) {
        const keep = Math.min(take, this.capture - this.headLength);
        this.head.set(chunk.subarray(i, i + keep), this.headLength);
        this.headLength += keep;
      }
      i += take;
      this.remaining -= take;
      if (this.remaining === 0) this.endFrame();
    }
  }

  private beginPayload(): void {
    const h = this.header;
    this.fin = (h[0]! & 0x80) !== 0;
    this.opcode = h[0]! & 0x0f;
    const len7 = h[1]! & 0x7f;
    if (len7 < 126) this.payloadLength = len7;
    else if (len7 === 126) this.payloadLength = (h[2]! << 8) | h[3]!;
    else {
      const hi = ((h[2]! << 24) | (h[3]! << 16) | (h[4]! << 8) | h[5]!) >>> 0;
      const lo = ((h[6]! << 24) | (h[7]! << 16) | (h[8]! << 8) | h[9]!) >>> 0;
      this.payloadLength = hi * 2 ** 32 + lo;
    }
    this.remaining = this.payloadLength;
    this.headLength = 0;
    this.inPayload = true;
    if (this.remaining === 0) this.endFrame();
  }

  private endFrame(): void {
    this.inPayload = false;
    this.headerLength = 0;
    this.headerNeed = 2;
    this.sink(this.opcode, this.fin, this.payloadLength, this.head, this.headLength);
  }
}
