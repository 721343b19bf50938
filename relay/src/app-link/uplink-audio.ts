// The app's microphone audio on its way to the provider, after Opus decoding (event loop; pure apart from the
// injected clock). Three jobs:
// - Coalesce: decoded packets (20–60 ms) are sent as appends of at least `appendMs` (100 ms by default), so
//   the provider link carries 10 writes a second instead of 25–50. Added latency: up to appendMs − packet ms
//   (60 ms with the app's 40 ms packets) before the provider hears the first sample of a batch.
// - Keep the provider's clock running through DTX silence: the app stops sending when it is silent, so a gap
//   in `captureMs` becomes silence, and while nothing arrives `tick()` fills silence in real time (behind by
//   `gapFillLagMs`, so a packet that is merely late is rarely overtaken). Server VAD therefore sees the
//   silence after speech and ends the turn.
// - A clean cut: a packet flagged DISCONTINUITY drops what is pending and clears the provider's input buffer
//   before its audio, so stale speech never becomes a turn.
// It also maps the provider's audio clock (ms of audio written) to the app's capture clock (`captureAt`).

export const SAMPLES_PER_MS = 24;

export interface UplinkSink {
  /** pcm16 little-endian, 24 kHz mono. */
  append(pcm: Uint8Array): void;
  clear(): void;
}

export interface UplinkOptions {
  appendMs: number;
  /** Real-time silence fill stays this far behind the estimated capture clock. */
  gapFillLagMs: number;
  /** A jump in captureMs larger than this is not filled in full (the app was away); the clock map jumps instead. */
  maxGapFillMs: number;
  now: () => number;
}

interface Anchor {
  /** Provider timeline position, in samples of everything written. */
  sample: number;
  captureMs: number;
}

const MAX_ANCHORS = 64;
/** Capture timestamps are whole ms: smaller mismatches are rounding, not gaps. */
const TOLERANCE_MS = 2;

export class UplinkAudio {
  private pending: Uint8Array[] = [];
  private pendingSamples = 0;
  /** Samples written to the provider's timeline, pending ones included. */
  private written = 0;
  /** Capture time (ms) of the next sample to write; null before the first packet. */
  private nextCapture: number | null = null;
  /** When the last packet arrived, and the capture time its audio ended at. */
  private lastArrival = 0;
  private lastPacketEnd = 0;
  private anchors: Anchor[] = [];

  constructor(
    private readonly sink: UplinkSink,
    private readonly options: UplinkOptions,
  ) {}

  /** A decoded packet, in the order the app sent them. */
  push(captureMs: number, discontinuity: boolean, pcm: Uint8Array): void {
    const ms = pcm.byteLength / 2 / SAMPLES_PER_MS;
    if (discontinuity) {
      this.written -= this.pendingSamples;
      this.pending = [];
      this.pendingSamples = 0;
      this.sink.clear();
      this.anchor(captureMs);
    } else if (this.nextCapture === null) {
      this.anchor(captureMs);
    } else {
      const gap = captureMs - this.nextCapture;
      if (gap > TOLERANCE_MS) {
        this.silence(Math.min(gap, this.options.maxGapFillMs));
        if (gap > this.options.maxGapFillMs) this.anchor(captureMs);
      } else if (gap < -TOLERANCE_MS) {
        // Earlier than expected: real-time fill ran ahead of a late packet, or the app's clock restarted.
        this.anchor(captureMs);
      }
    }
    this.queue(pcm);
    this.nextCapture = captureMs + ms;
    this.lastPacketEnd = captureMs + ms;
    this.lastArrival = this.options.now();
    if (this.pendingSamples >= this.options.appendMs * SAMPLES_PER_MS) this.flush();
  }

  /** Called periodically while the link is attached: fills DTX silence in real time. */
  tick(): void {
    if (this.nextCapture === null) return;
    const estimatedNow = this.lastPacketEnd + (this.options.now() - this.lastArrival);
    const target = estimatedNow - this.options.gapFillLagMs;
    const gap = target - this.nextCapture;
    if (gap < 10) return;
    this.silence(Math.min(gap, this.options.maxGapFillMs));
    this.nextCapture = target;
    if (this.pendingSamples >= this.options.appendMs * SAMPLES_PER_MS) this.flush();
  }

  /** Sends what is pending now (before a client event, e.g. a commit, that must follow the audio). */
  flush(): void {
    if (this.pendingSamples === 0) return;
    const out = this.pending.length === 1 ? this.pending[0]! : Buffer.concat(this.pending);
    this.pending = [];
    this.pendingSamples = 0;
    this.sink.append(out);
  }

  /** The app's capture time (ms) for the provider's `audio_start_ms` / `audio_end_ms`; null if unknown. */
  captureAt(providerMs: number): number | null {
    const sample = providerMs * SAMPLES_PER_MS;
    for (let i = this.anchors.length - 1; i >= 0; i--) {
      const a = this.anchors[i]!;
      if (a.sample <= sample) return Math.round(a.captureMs + (sample - a.sample) / SAMPLES_PER_MS);
    }
    return null;
  }

  private silence(ms: number): void {
    const samples = Math.round(ms * SAMPLES_PER_MS);
    if (samples > 0) this.queue(new Uint8Array(samples * 2));
  }

  private queue(pcm: Uint8Array): void {
    this.pending.push(pcm);
    this.pendingSamples += pcm.byteLength / 2;
    this.written += pcm.byteLength / 2;
  }

  private anchor(captureMs: number): void {
    this.anchors.push({ sample: this.written, captureMs });
    if (this.anchors.length > MAX_ANCHORS) this.anchors.shift();
  }
}
