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
// nothing for that long (truly behind, or down) loses the oldest of it. The release's commit waits in the same queue
// (`pushText`), so it reaches the relay after the last held packet, never ahead of the end of the question.
import { AudioUpFlags, HELD_SEND_QUEUE_MAX_MS, SEND_QUEUE_MAX_MS, encodeAudioUp } from '../../../../../protocol/app-link.ts';

export interface UpPacket {
  /** Capture time of the packet's first sample (ms of the capture stream). */
  captureMs: number;
  durationMs: number;
  opus: Uint8Array;
  /** Captured while the person held to talk: part of the turn, kept for a slow link (HELD_SEND_QUEUE_MAX_MS). */
  held: boolean;
}

/** What waits to go out, in order: audio, or a client event that must follow the audio queued before it. */
type Entry = { kind: 'audio'; packet: UpPacket } | { kind: 'text'; text: string };

export class SendQueue {
  private readonly maxMs: number;
  private readonly heldMaxMs: number;
  private entries: Entry[] = [];
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
    this.entries.push({ kind: 'audio', packet });
    this.expire(packet.captureMs + packet.durationMs);
  }

  /** Queue a client event (JSON text) to go out after everything queued before it; events are never dropped. */
  pushText(text: string): void {
    this.entries.push({ kind: 'text', text });
  }

  /** Drops stale packets, oldest first: each is judged by its own bound against `nowMs` on the capture clock. */
  private expire(nowMs: number): void {
    const before = this.entries.length;
    this.entries = this.entries.filter((e) => e.kind === 'text' || !this.stale(e.packet, nowMs));
    const dropped = before - this.entries.length;
    if (dropped === 0) return;
    this.dropped += dropped;
    this.discontinuity = true;
  }

  private stale(p: UpPacket, nowMs: number): boolean {
    return p.captureMs < nowMs - (p.held ? this.heldMaxMs : this.maxMs);
  }

  /** Audio waiting, in ms of capture time. */
  get queuedMs(): number {
    return this.entries.reduce((ms, e) => ms + (e.kind === 'audio' ? e.packet.durationMs : 0), 0);
  }

  /** Entries waiting (packets and events). */
  get length(): number {
    return this.entries.length;
  }

  /** Whether the next audio frame will carry the Discontinuity flag. */
  get pendingDiscontinuity(): boolean {
    return this.discontinuity;
  }

  /**
   * Hands frames to `send` oldest first while `canSend()` says the socket can take more. Returns how many audio
   * frames went. `nowMs` is the capture clock now (the end of the newest frame captured): anything that started
   * more than `maxMs` (held audio: `heldMaxMs`) before it is dropped first, sent or not. The first audio frame after
   * any drop carries the Discontinuity flag.
   */
  drain(nowMs: number, canSend: () => boolean, send: (frame: Uint8Array | string) => void): number {
    this.expire(nowMs);
    let n = 0;
    while (this.entries.length > 0 && canSend()) {
      const e = this.entries.shift()!;
      if (e.kind === 'text') {
        send(e.text);
        continue;
      }
      const flags = this.discontinuity ? AudioUpFlags.Discontinuity : 0;
      this.discontinuity = false;
      send(encodeAudioUp({ flags, captureMs: e.packet.captureMs }, e.packet.opus));
      this.sent++;
      n++;
    }
    return n;
  }

  /**
   * Forget everything queued (a fresh provider session: its input buffer is empty anyway, and a commit queued for
   * the old one has nothing to commit). Audio dropped here is *not* a discontinuity for the new session, so the
   * flag is cleared too.
   */
  clear(): void {
    this.entries = [];
    this.discontinuity = false;
  }

  /** Mark that audio was lost before the next packet for a reason outside the queue (e.g. the encoder failed). */
  markDiscontinuity(): void {
    this.discontinuity = true;
  }
}
