// Energy-based voice activity detection on pcm16 24 kHz, shaped like the provider's server VAD:
// `threshold` (0..1), `prefix_padding_ms` and `silence_duration_ms` mean what they mean there.
import { WIRE_SAMPLE_RATE } from '../../../protocol/constants.ts';

export interface VadConfig {
  threshold: number;
  prefixPaddingMs: number;
  silenceDurationMs: number;
}

export type VadEvent = { kind: 'speech_started'; audioStartMs: number } | { kind: 'speech_stopped'; audioEndMs: number };

/** 10 ms analysis windows: fine enough for the ms fields, coarse enough to be cheap. */
const WINDOW_SAMPLES = WIRE_SAMPLE_RATE / 100;
const WINDOW_MS = 10;
/** Voiced windows in a row before speech counts as started, so a click does not open a turn. */
const ONSET_WINDOWS = 3;

/**
 * Maps the provider's 0..1 threshold onto an RMS level in dBFS: 0 → -70 dBFS (everything is speech),
 * 0.5 (the default) → -40 dBFS (quiet speech passes, room noise does not), 1 → -10 dBFS (shouting only).
 */
export function thresholdToDbfs(threshold: number): number {
  const t = Math.min(1, Math.max(0, threshold));
  return -70 + 60 * t;
}

export function rmsDbfs(samples: Int16Array, start: number, end: number): number {
  let sum = 0;
  for (let i = start; i < end; i++) {
    const s = samples[i]! / 32768;
    sum += s * s;
  }
  const mean = sum / Math.max(1, end - start);
  return mean > 0 ? 10 * Math.log10(mean) : -120;
}

export class EnergyVad {
  private config: VadConfig;
  private levelDb: number;
  /** Samples not yet analysed (less than one window). */
  private pending = new Int16Array(WINDOW_SAMPLES);
  private pendingLength = 0;
  /** Position of the next window's start, in ms since the session's first appended sample. */
  private positionMs = 0;
  private speaking = false;
  private voicedRun = 0;
  private firstVoicedMs = 0;
  private silenceMs = 0;

  /** `startMs`: the session's audio clock now (a VAD turned on mid-session must not restart the clock at 0). */
  constructor(config: VadConfig, startMs = 0) {
    this.config = config;
    this.levelDb = thresholdToDbfs(config.threshold);
    this.positionMs = startMs;
  }

  configure(config: VadConfig): void {
    this.config = config;
    this.levelDb = thresholdToDbfs(config.threshold);
  }

  get inSpeech(): boolean {
    return this.speaking;
  }

  /** Forget the state of a turn (after a manual commit or clear) but keep the session clock. */
  resetTurn(): void {
    this.speaking = false;
    this.voicedRun = 0;
    this.silenceMs = 0;
  }

  /** Feed appended audio; returns the speech boundaries it crossed, in order. */
  push(samples: Int16Array): VadEvent[] {
    const events: VadEvent[] = [];
    let offset = 0;
    while (offset < samples.length) {
      const take = Math.min(WINDOW_SAMPLES - this.pendingLength, samples.length - offset);
      this.pending.set(samples.subarray(offset, offset + take), this.pendingLength);
      this.pendingLength += take;
      offset += take;
      if (this.pendingLength === WINDOW_SAMPLES) {
        this.analyse(events);
        this.pendingLength = 0;
      }
    }
    return events;
  }

  private analyse(events: VadEvent[]): void {
    const voiced = rmsDbfs(this.pending, 0, WINDOW_SAMPLES) >= this.levelDb;
    const windowStart = this.positionMs;
    this.positionMs += WINDOW_MS;
    if (!this.speaking) {
      if (voiced) {
        if (this.voicedRun === 0) this.firstVoicedMs = windowStart;
        this.voicedRun++;
        if (this.voicedRun >= ONSET_WINDOWS) {
          this.speaking = true;
          this.silenceMs = 0;
          events.push({ kind: 'speech_started', audioStartMs: Math.max(0, this.firstVoicedMs - this.config.prefixPaddingMs) });
        }
      } else {
        this.voicedRun = 0;
      }
      return;
    }
    if (voiced) {
      this.silenceMs = 0;
      return;
    }
    this.silenceMs += WINDOW_MS;
    if (this.silenceMs >= this.config.silenceDurationMs) {
      // Like the provider, the end includes the silence window that confirmed it.
      this.speaking = false;
      this.voicedRun = 0;
      this.silenceMs = 0;
      events.push({ kind: 'speech_stopped', audioEndMs: this.positionMs });
    }
  }
}
