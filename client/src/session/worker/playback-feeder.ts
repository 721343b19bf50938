// Codec-worker side of playback: resamples 24 kHz assistant audio to the AudioContext rate and feeds the playback
// worklet's ring no further than PLAYBACK_HIGH_WATER_MS ahead of what it has played (the provider streams faster
// than real time; the rest waits here, so the worklet's ring stays small and bounded).
import { PLAYBACK_HIGH_WATER_MS, WIRE_SAMPLE_RATE } from '../../audio/constants.ts';
import type { SessionToPlayback, PlaybackToSession } from '../../audio/messages.ts';
import { Resampler } from '../../dsp/resampler.ts';
import type { PlaybackControl } from './conversation.ts';

export interface PlaybackPort {
  postMessage(message: SessionToPlayback, transfer?: Transferable[]): void;
}

type Pending = { kind: 'chunk'; itemId: string; samples: Float32Array } | { kind: 'end'; itemId: string };

export class PlaybackFeeder implements PlaybackControl {
  private readonly port: PlaybackPort;
  private readonly resampler: Resampler;
  private readonly highWater: number;
  private readonly pending: Pending[] = [];
  private sent = 0;
  private taken = 0;
  private currentItem: string | null = null;
  /** Sees every sample handed to the worklet, in order, before it is transferred (the echo reference). */
  onSent: ((samples: Float32Array) => void) | null = null;

  constructor(port: PlaybackPort, contextRate: number) {
    this.port = port;
    this.resampler = new Resampler(WIRE_SAMPLE_RATE, contextRate);
    this.highWater = Math.round((contextRate * PLAYBACK_HIGH_WATER_MS) / 1000);
  }

  enqueue(itemId: string, samples: Float32Array): void {
    if (this.currentItem !== null && this.currentItem !== itemId) this.pushTail();
    this.currentItem = itemId;
    const out = this.resampler.process(samples);
    if (out.length > 0) this.pending.push({ kind: 'chunk', itemId, samples: out });
    this.pump();
  }

  end(itemId: string): void {
    if (this.currentItem === itemId) {
      this.pushTail();
      this.currentItem = null;
    }
    this.pending.push({ kind: 'end', itemId });
    this.pump();
  }

  flush(): void {
    this.pending.length = 0;
    this.resampler.reset();
    this.currentItem = null;
    this.port.postMessage({ kind: 'flush' });
  }

  /** Feed the worklet's reports back in: they carry how much has left its ring. */
  onReport(report: PlaybackToSession): void {
    if ('taken' in report) this.taken = Math.max(this.taken, report.taken);
    this.pump();
  }

  /** Samples waiting in this worker (not yet in the worklet). */
  get backlog(): number {
    return this.pending.reduce((n, p) => n + (p.kind === 'chunk' ? p.samples.length : 0), 0);
  }

  private pushTail(): void {
    // The filter holds ~taps/2 samples of the item's last audio; push them out before the next item or the end.
    const tail = this.resampler.flushTail();
    const itemId = this.currentItem;
    if (itemId !== null && tail.length > 0) this.pending.push({ kind: 'chunk', itemId, samples: tail });
    this.resampler.reset();
  }

  private pump(): void {
    while (this.pending.length > 0) {
      const next = this.pending[0]!;
      if (next.kind === 'chunk') {
        if (this.sent - this.taken + next.samples.length > this.highWater && this.sent - this.taken > 0) return;
        this.sent += next.samples.length;
        this.onSent?.(next.samples);
        this.port.postMessage(next, [next.samples.buffer]);
      } else this.port.postMessage(next);
      this.pending.shift();
    }
  }
}
