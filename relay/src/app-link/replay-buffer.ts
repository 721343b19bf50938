// The relay → client messages of one app link, numbered from 1, kept until the client acknowledges them so a
// resumed link can replay exactly what the client missed (protocol/app-link.ts, "Sequence numbers").
// Bounded by bytes: past the bound the oldest messages are dropped, and a resume that would need one of them
// is refused (`buffer_overflow`) instead of replaying with a hole.
import type { Frame } from '../upstream/upstream.ts';

export interface Numbered {
  seq: number;
  frame: Frame;
  /** AudioDown frames go out as binary WebSocket frames; everything else as text. */
  binary: boolean;
}

export class ReplayBuffer {
  private readonly entries: Array<Numbered & { bytes: number }> = [];
  private head = 0;
  private total = 0;
  private last = 0;
  /** Highest seq dropped for lack of room (0: none): a resume from before it cannot be served. */
  private droppedThrough = 0;

  constructor(private readonly maxBytes: number) {}

  /** Numbers `frame` and keeps it. Returns its seq. */
  push(frame: Frame, binary = false): number {
    const seq = ++this.last;
    const bytes = typeof frame === 'string' ? Buffer.byteLength(frame) : frame.byteLength;
    this.entries.push({ seq, frame, binary, bytes });
    this.total += bytes;
    while (this.total > this.maxBytes && this.size() > 0) {
      const dropped = this.entries[this.head++]!;
      this.total -= dropped.bytes;
      this.droppedThrough = dropped.seq;
    }
    this.compact();
    return seq;
  }

  /** The client has received every message up to `received`: forget them. */
  ack(received: number): void {
    while (this.size() > 0 && this.entries[this.head]!.seq <= received) {
      this.total -= this.entries[this.head++]!.bytes;
    }
    this.compact();
  }

  /** Messages after `received`, or null if some of them were dropped (or `received` is beyond what was sent). */
  after(received: number): Numbered[] | null {
    if (!Number.isInteger(received) || received < 0 || received > this.last || received < this.droppedThrough) return null;
    const out: Numbered[] = [];
    for (let i = this.head; i < this.entries.length; i++) {
      const e = this.entries[i]!;
      if (e.seq > received) out.push({ seq: e.seq, frame: e.frame, binary: e.binary });
    }
    return out;
  }

  /** Whether anything had to be dropped since the last ack covered it (the bound was hit). */
  overflowedSince(received: number): boolean {
    return this.droppedThrough > received;
  }

  get lastSeq(): number {
    return this.last;
  }

  get bytes(): number {
    return this.total;
  }

  private size(): number {
    return this.entries.length - this.head;
  }

  private compact(): void {
    if (this.head > 1024 && this.head * 2 > this.entries.length) {
      this.entries.splice(0, this.head);
      this.head = 0;
    }
  }
}
