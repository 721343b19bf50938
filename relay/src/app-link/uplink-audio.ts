// The app's microphone audio on its way to the provider, after Opus decoding (event loop; pure apart from the
// injected clock). Three jobs:
// - Coalesce: decoded packets (20–60 ms) are sent as appends of at least `appendMs` (100 ms by default), so
//   the provider link carries 10 writes a second instead of 25–50. Added latency: up to appendMs − packet ms
//   (60 ms with the app's 40 ms packets) before the provider hears the first sample of a batch.
// - Keep the provider's clock running through DTX silence: the app stops sending when it is silent, so a gap
//   in `captureMs` becomes silence, and while nothing arrives `tick()` fills silence in real time (behind by
//   `gapFillLagMs`, so a packet that is merely late is rarely overtaken). Server VAD therefore sees the
//   silence after speech and ends the turn.
//   The fill is held while the last packet was speech and nothing else has been heard from the app since: the app
//   ends a pause with quiet packets (its 200 ms hangover) before it goes quiet, so speech followed by nothing at
//   all is a link that stalled or died mid-word, and filling silence there would let the provider's VAD end the
//   fragment as a turn. Any later frame from the app (`heard`) proves the link alive and releases the hold.
// - A clean cut: a packet flagged DISCONTINUITY drops what is pending and clears the provider's input buffer
//   before its audio, so stale speech never becomes a turn; `cut()` does the same when the link dies mid-word.
// - End of speech is not held back: when packets stop after a quiet one (the app's hangover after a word, below
//   QUIET_PEAK, then DTX), the real-time fill waits for no late packet (lag: one packet instead of gapFillLagMs)
//   and each tick flushes what is pending, for `quietFlushMs` after that packet. While packets keep coming (a pause
//   inside a sentence) nothing changes. The provider's VAD counts its silence window on the audio it has received, so
//   every ms the relay sits on after the last word is a ms added to end of speech → reply (the lag and the
//   coalescing cost ~150 ms there). Filling ahead of a late *quiet* packet is harmless: silence replaces silence.
//   Past quietFlushMs the fill is coalesced again (a long pause does not cost 20 appends a second).
// It also maps the provider's audio clock (ms of audio written) to the app's capture clock (`captureAt`): every
// sample written has a capture time, silence fill included, and an anchor marks each jump between the two clocks.

export const SAMPLES_PER_MS = 24;
/**
 * A packet whose loudest sample is below this (pcm16; −50 dBFS) is quiet: the app's hangover after speech (it sends
 * nothing below −60 dBFS once 200 ms have passed), well under any speech the VAD would count.
 */
export const QUIET_PEAK = 104;

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
  /** After a quiet packet, flush at once and fill without lag for this long (the provider's VAD window and some). */
  quietFlushMs: number;
  now: () => number;
}

interface Anchor {
  /** Provider timeline position, in samples of everything written. */
  sample: number;
  captureMs: number;
}

const MAX_ANCHORS = 64;
/**
 * Decoded audio at or above this RMS is speech for the hold: the level a server VAD at its default threshold takes
 * for speech (simulator/vad.ts maps 0.5 to −40 dBFS), well above a room's noise, which a link may die in harmlessly.
 */
export const VOICED_DBFS = -40;
/** A frame from the app this long after its last audio means it stopped sending audio while the link carried on. */
export const HOLD_RELEASE_MS = 100;
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
  /** The last packet was speech and the app has not been heard from since: no silence fill (see the header). */
  private held = false;
  /** The latest packet was quiet: speech has (probably) ended and nothing is held back. */
  private quiet = false;
  private lastPacketMs = 0;

  constructor(
    private readonly sink: UplinkSink,
    private readonly options: UplinkOptions,
  ) {}

  /** A decoded packet, in the order the app sent them. */
  push(captureMs: number, discontinuity: boolean, pcm: Uint8Array): void {
    const ms = pcm.byteLength / 2 / SAMPLES_PER_MS;
    if (discontinuity) {
      this.dropPending();
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
    this.lastPacketMs = ms;
    this.lastArrival = this.options.now();
    const level = levels(pcm);
    this.held = level.rmsDbfs >= VOICED_DBFS;
    this.quiet = level.peak < QUIET_PEAK;
    if (this.pendingSamples >= this.options.appendMs * SAMPLES_PER_MS) this.flush();
  }

  /** Any frame from the app other than audio (heartbeat, event): releases the hold if it came well after the audio. */
  heard(): void {
    if (this.held && this.options.now() - this.lastArrival >= HOLD_RELEASE_MS) this.held = false;
  }

  /** True while the last audio was speech and nothing has been heard since: a link dying now dies mid-word. */
  get midWord(): boolean {
    return this.held && this.nextCapture !== null;
  }

  /** Called periodically: fills DTX silence in real time (unless held). */
  tick(): void {
    if (this.nextCapture === null || this.held) return;
    const sinceLast = this.options.now() - this.lastArrival;
    const endOfSpeech = this.quiet && sinceLast <= this.options.quietFlushMs;
    const estimatedNow = this.lastPacketEnd + sinceLast;
    // At the end of speech the fill waits only as long as the next packet takes to be captured (it cannot come
    // sooner); a packet later than that is overtaken, which after quiet audio costs nothing (silence for silence,
    // or a pause made a few ms longer: the late packet's audio follows the fill, anchored to its capture time).
    const target = estimatedNow - (endOfSpeech ? this.lastPacketMs : this.options.gapFillLagMs);
    const gap = target - this.nextCapture;
    if (gap < 10) return;
    this.silence(Math.min(gap, this.options.maxGapFillMs));
    // Ticks came too far apart (a stalled event loop) to fill it all: the capture clock jumps, so must the map.
    if (gap > this.options.maxGapFillMs) this.anchor(target);
    this.nextCapture = target;
    if (endOfSpeech || this.pendingSamples >= this.options.appendMs * SAMPLES_PER_MS) this.flush();
  }

  /**
   * The link died mid-word: what was said is a fragment nobody finished. Drops what is pending, clears the
   * provider's input buffer so its VAD never ends the fragment as a turn, and stops the fill: the app's next
   * packet (after a resume) starts a fresh stretch of the map with no silence before it.
   */
  cut(): void {
    this.dropPending();
    this.sink.clear();
    this.nextCapture = null;
    this.held = false;
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

  /** Pending audio never reaches the provider: its samples leave the timeline (anchors are searched newest first). */
  private dropPending(): void {
    this.written -= this.pendingSamples;
    this.pending = [];
    this.pendingSamples = 0;
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

/** RMS (dBFS, −120 for digital silence) and peak of pcm16 little-endian bytes, in one pass. */
function levels(pcm: Uint8Array): { rmsDbfs: number; peak: number } {
  const n = pcm.byteLength >> 1;
  if (n === 0) return { rmsDbfs: -120, peak: 0 };
  const view = new DataView(pcm.buffer, pcm.byteOffset, n * 2);
  let sum = 0;
  let peak = 0;
  for (let i = 0; i < n; i++) {
    const v = view.getInt16(i * 2, true);
    const a = v < 0 ? -v : v;
    if (a > peak) peak = a;
    const x = v / 32768;
    sum += x * x;
  }
  return { rmsDbfs: sum > 0 ? 10 * Math.log10(sum / n) : -120, peak };
}
