// The upstream send queue on the earshot.v2 link, bounded by *time*: it holds at most SEND_QUEUE_MAX_MS of
// captured audio that the socket has not taken yet. During a stall or while the link is down the oldest audio is
// dropped first (fresh audio first: what the person says now matters, what they said 10 s ago would only become
// a spurious turn), and the next packet that goes out carries the Discontinuity flag so the relay clears the
// provider's input buffer before appending it. Pure: the session runner decides when the socket can take more.
//
// The bound is by *age at the moment a packet leaves*, on the capture clock, not only relative to the newest packet:
// silence sends no packets, so "the newest packet" can be the last word said before a 10 s outage, and a queue
// that only trims on push would send that word when the link returns — a turn nobody meant (issue 12). Audio
// captured while the link was down therefore leaves only if it is still among the freshest SEND_QUEUE_MAX_MS when
// the link is back: the start of what the person is saying *now*, never what they said to a dead link.
//
// Held audio (hold-to-talk, the person pressing) is different: it *is* the turn, and nothing becomes a turn before
// the commit, so stale speech cannot cause a spurious one — but a dropped start would cut the question in half (the
// Discontinuity clears the provider's buffer). It is kept up to HELD_SEND_QUEUE_MAX_MS, so only a link that has taken
// nothing for that long (truly behind, or down) loses the oldest of it.
import { AudioUpFlags, HELD_SEND_QUEUE_MAX_MS, SEND_QUEUE_MAX_MS, encodeAudioUp } from '../../../../../protocol/app-link.ts';

export interface UpPacket {
  /** Capture time of the packet's first sample (ms of the capture stream). */
  captureMs: number;
  durationMs: number;
  opus: Uint8Array;
  /** Captured while the person held to talk: part of the turn, kept for a slow link (HELD_SEND_QUEUE_MAX_MS). */
  held: boolean;
}

export class SendQueue {
  private readonly maxMs: number;
  private readonly heldMaxMs: number;
  private readonly packets: UpPacket[] = [];
  private discontinuity = false;
  /** Packets dropped because they grew stale, since the queue was made. */
  dropped = 0;
  sent = 0;

  constructor(maxMs: number = SEND_QUEUE_MAX_MS, heldMaxMs: number = HELD_SEND_QUEUE_MAX_MS) {
    this.maxMs = maxMs;
    this.heldMaxMs = heldMaxMs;
  }

  /**
   * Queue a packet, then drop whatever started more than `maxMs` (held audio: `heldMaxMs`) before this packet's end
   * (the queue spans ≤ maxMs of hands-free audio).
   */
  push(packet: UpPacket): void {
    this.packets.push(packet);
    this.expire(packet.captureMs + packet.durationMs);
  }

  /** Drops stale packets from the front: each is judged by its own bound against `nowMs` on the capture clock. */
  private expire(nowMs: number): void {
    while (this.packets.length > 0 && this.stale(this.packets[0]!, nowMs)) {
      this.packets.shift();
      this.dropped++;
      this.discontinuity = true;
    }
  }

  private stale(p: UpPacket, nowMs: number): boolean {
    return p.captureMs < nowMs - (p.held ? this.heldMaxMs : this.maxMs);
  }

  /** Audio waiting, in ms of capture time. */
  get queuedMs(): number {
    return this.packets.reduce((ms, p) => ms + p.durationMs, 0);
  }

  get length(): number {
    return this.packets.length;
  }

  /** Whether the next frame will carry the Discontinuity flag. */
  get pendingDiscontinuity(): boolean {
    return this.discontinuity;
  }

  /**
   * Hands frames to `send` oldest first while `canSend()` says the socket can take more. Returns how many went.
   * `nowMs` is the capture clock now (the end of the newest frame captured): anything that started more than
   * `maxMs` (held audio: `heldMaxMs`) before it is dropped first, sent or not. The first frame after any drop carries the Discontinuity flag.
   */
  drain(nowMs: number, canSend: () => boolean, send: (frame: Uint8Array) => void): number {
    this.expire(nowMs);
    let n = 0;
    while (this.packets.length > 0 && canSend()) {
      const p = this.packets.shift()!;
      const flags = this.discontinuity ? AudioUpFlags.Discontinuity : 0;
      this.discontinuity = false;
      send(encodeAudioUp({ flags, captureMs: p.captureMs }, p.opus));
      this.sent++;
      n++;
    }
    return n;
  }

  /**
   * Forget everything queued (a fresh provider session: its input buffer is empty anyway). Audio that was dropped
   * here is *not* a discontinuity for the new session, so the flag is cleared too.
   */
  clear(): void {
    this.packets.length = 0;
    this.discontinuity = false;
  }

  /** Mark that audio was lost before the next packet for a reason outside the queue (e.g. the encoder failed). */
  markDiscontinuity(): void {
    this.discontinuity = true;
  }
}
