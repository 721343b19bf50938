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
import { AudioUpFlags, SEND_QUEUE_MAX_MS, encodeAudioUp } from '../../../../../protocol/app-link.ts';

export interface UpPacket {
  /** Capture time of the packet's first sample (ms of the capture stream). */
  captureMs: number;
  durationMs: number;
  opus: Uint8Array;
}

export class SendQueue {
  private readonly maxMs: number;
  private readonly packets: UpPacket[] = [];
  private discontinuity = false;
  /** Packets dropped because they grew stale, since the queue was made. */
  dropped = 0;
  sent = 0;

  constructor(maxMs: number = SEND_QUEUE_MAX_MS) {
    this.maxMs = maxMs;
  }

  /** Queue a packet, then drop whatever started more than `maxMs` before this packet's end (the queue spans ≤ maxMs). */
  push(packet: UpPacket): void {
    this.packets.push(packet);
    this.expire(packet.captureMs + packet.durationMs - this.maxMs);
  }

  private expire(horizon: number): void {
    while (this.packets.length > 0 && this.packets[0]!.captureMs < horizon) {
      this.packets.shift();
      this.dropped++;
      this.discontinuity = true;
    }
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
   * `maxMs` before it is dropped first, sent or not. The first frame after any drop carries the Discontinuity flag.
   */
  drain(nowMs: number, canSend: () => boolean, send: (frame: Uint8Array) => void): number {
    this.expire(nowMs - this.maxMs);
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
