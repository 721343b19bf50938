// The playback queue the playback worklet drives: context-rate samples of assistant items in a SampleRing, played
// back to back. Starts once the (adaptive) jitter target is queued, or at once when the head item has ended;
// fades to silence on a gap (no click) and re-buffers; a flush silences output from the next quantum and says
// exactly how many samples of each item were played, so the session can truncate what the model remembers.
// Underruns — the ring running dry while the item playing still expects audio — are counted here, grow the
// jitter target, and are reported. Pure: the worklet passes output blocks in and posts what `emit` receives.
import { FADE_SAMPLES } from './constants.ts';
import { JitterTarget, type JitterConfig } from './jitter-target.ts';
import type { PlaybackToSession } from './messages.ts';
import { SampleRing } from './sample-ring.ts';

interface Segment {
  itemId: string;
  remaining: number;
}

interface ItemState {
  played: number;
  queued: number;
  ended: boolean;
  started: boolean;
}

export class PlaybackQueue {
  private readonly ring: SampleRing;
  private readonly emit: (msg: PlaybackToSession) => void;
  readonly jitter: JitterTarget;
  private readonly segments: Segment[] = [];
  private readonly items = new Map<string, ItemState>();
  private playing = false;
  /** Every sample that left the ring, played or flushed (the session worker's feeder paces itself on it). */
  taken = 0;
  underruns = 0;
  /** The item whose audio was played last: decides whether running dry is an underrun or the end. */
  private lastItem: string | null = null;
  private lastSample = 0;
  private fadeOutLeft = 0;
  private fadeOutFrom = 0;
  private fadeInPos = FADE_SAMPLES;

  constructor(capacity: number, rate: number, emit: (msg: PlaybackToSession) => void, jitter?: JitterConfig) {
    this.ring = new SampleRing(capacity);
    this.emit = emit;
    this.jitter = new JitterTarget(rate, jitter);
  }

  get queued(): number {
    return this.ring.availableRead;
  }

  get isPlaying(): boolean {
    return this.playing;
  }

  write(itemId: string, samples: Float32Array): void {
    const n = this.ring.push(samples);
    if (n < samples.length) this.emit({ kind: 'overflow', dropped: samples.length - n });
    if (n === 0) return;
    const last = this.segments[this.segments.length - 1];
    if (last && last.itemId === itemId) last.remaining += n;
    else this.segments.push({ itemId, remaining: n });
    this.item(itemId).queued += n;
  }

  end(itemId: string): void {
    const state = this.item(itemId);
    state.ended = true;
    if (state.queued === 0) this.finishItem(itemId);
  }

  /** Silence now; reports what was played of every item it drops. `frame` is the quantum that goes silent. */
  flush(frame: number): void {
    const items: Array<{ itemId: string; played: number }> = [];
    for (const [itemId, state] of this.items) items.push({ itemId, played: state.played });
    this.taken += this.ring.skip(this.ring.availableRead);
    this.segments.length = 0;
    this.items.clear();
    this.lastItem = null;
    if (this.playing) {
      this.fadeOutFrom = this.lastSample;
      this.fadeOutLeft = FADE_SAMPLES;
    }
    this.playing = false;
    this.emit({ kind: 'flushed', items, taken: this.taken, frame });
  }

  /** The head item and how much of it was played, while playing (for progress reports). */
  progress(): { itemId: string; played: number } | null {
    const head = this.segments[0];
    if (!head || !this.playing) return null;
    return { itemId: head.itemId, played: this.item(head.itemId).played };
  }

  /** Fills one render quantum. `frame` is the context's currentFrame at its start. */
  render(out: Float32Array, frame: number): void {
    const n = out.length;
    let i = 0;
    if (!this.playing && this.readyToStart()) {
      this.playing = true;
      this.fadeInPos = 0;
    }
    if (this.playing) {
      while (i < n && this.ring.availableRead > 0) {
        const head = this.segments[0]!;
        const state = this.item(head.itemId);
        if (!state.started) {
          state.started = true;
          this.emit({ kind: 'started', itemId: head.itemId, frame: frame + i });
        }
        const run = this.ring.pull(out, i, Math.min(n - i, head.remaining));
        for (let k = i; k < i + run && this.fadeInPos < FADE_SAMPLES; k++) out[k]! *= this.fadeInPos++ / FADE_SAMPLES;
        i += run;
        this.taken += run;
        head.remaining -= run;
        state.played += run;
        state.queued -= run;
        this.lastItem = head.itemId;
        this.lastSample = out[i - 1] ?? 0;
        if (head.remaining === 0) {
          this.segments.shift();
          if (state.ended && state.queued === 0) this.finishItem(head.itemId);
        }
      }
      this.jitter.played(i);
      if (i < n) {
        // Ran dry. If the item last played still expects audio, that is a gap the person hears: an underrun.
        const last = this.lastItem === null ? undefined : this.items.get(this.lastItem);
        if (last && !last.ended) {
          this.underruns++;
          this.jitter.underrun();
          this.emit({ kind: 'underrun', itemId: this.lastItem!, count: this.underruns, jitterMs: this.jitter.ms });
        }
        this.playing = false;
        this.fadeOutFrom = this.lastSample;
        this.fadeOutLeft = FADE_SAMPLES;
      }
    }
    for (; i < n; i++) {
      if (this.fadeOutLeft > 0) {
        out[i] = (this.fadeOutFrom * this.fadeOutLeft) / FADE_SAMPLES;
        this.fadeOutLeft--;
      } else out[i] = 0;
    }
    if (!this.playing) this.lastSample = 0;
  }

  private item(itemId: string): ItemState {
    let state = this.items.get(itemId);
    if (!state) {
      state = { played: 0, queued: 0, ended: false, started: false };
      this.items.set(itemId, state);
    }
    return state;
  }

  private finishItem(itemId: string): void {
    this.items.delete(itemId);
    this.emit({ kind: 'drained', itemId, taken: this.taken });
  }

  /** Enough queued for the jitter target, or the head item has ended (play its tail now). */
  private readyToStart(): boolean {
    const queued = this.ring.availableRead;
    if (queued === 0) return false;
    if (queued >= this.jitter.samples) return true;
    const head = this.segments[0];
    return head !== undefined && this.items.get(head.itemId)?.ended === true;
  }
}
