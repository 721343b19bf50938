// Every message that crosses a worklet/worker boundary, one union per direction. Audio travels as transferable
// Float32Array buffers over MessagePorts that connect worklets and workers directly (never via the main thread).
import type { Levels } from '../dsp/levels.ts';

/** Main thread -> capture worklet (node.port). */
export type MainToCapture =
  | { kind: 'connect'; session: MessagePort; waveform: MessagePort | null }
  | { kind: 'mute'; muted: boolean }
  | { kind: 'close' };

/**
 * Capture worklet -> session worker: one exact 20 ms frame at the context rate. `index` counts every frame since
 * the microphone stream started, muted ones included, so `index * FRAME_MS` is the capture clock (captureMs).
 */
export type CaptureToSession = { kind: 'frame'; index: number; samples: Float32Array; rms: number; peak: number };

/** Either worklet -> waveform worker: one frame's level and its min/max outline. */
export type ToWaveform = { kind: 'wave'; source: 'input' | 'output'; levels: Levels; outline: Float32Array };

/** Main thread -> playback worklet (node.port). */
export type MainToPlayback = { kind: 'connect'; session: MessagePort; waveform: MessagePort | null } | { kind: 'close' };

/** Session worker -> playback worklet. */
export type SessionToPlayback =
  | { kind: 'chunk'; itemId: string; samples: Float32Array }
  /** No more audio for this item: play out the rest even below the jitter target, then report `drained`. */
  | { kind: 'end'; itemId: string }
  /** Silence within one render quantum; answered by `flushed`. */
  | { kind: 'flush' };

/**
 * Playback worklet -> session worker. `taken` counts every sample that left the ring (played or flushed). A
 * progress report's `frame` is the context frame its output reached: with `taken` it says how much of that time
 * was silence (the session worker's played-sample reference, echo-coherence.ts).
 */
export type PlaybackToSession =
  | { kind: 'started'; itemId: string; frame: number }
  | { kind: 'progress'; itemId: string; played: number; taken: number; frame: number; rms: number; jitterMs: number }
  | { kind: 'drained'; itemId: string; taken: number }
  /** The ring ran dry while `itemId` still expected audio: `count` so far, and the jitter target it grew to. */
  | { kind: 'underrun'; itemId: string; count: number; jitterMs: number }
  | { kind: 'overflow'; dropped: number }
  | { kind: 'flushed'; items: Array<{ itemId: string; played: number }>; taken: number; frame: number };

/** Main thread -> waveform worker. */
export type MainToWaveform =
  | { kind: 'init'; canvas: OffscreenCanvas; input: MessagePort; output: MessagePort; width: number; height: number; dpr: number; theme: WaveTheme }
  | { kind: 'resize'; width: number; height: number; dpr: number }
  | { kind: 'theme'; theme: WaveTheme }
  /** A new session's worklet ports for a canvas already owned by this worker (a canvas transfers only once). */
  | { kind: 'attach'; input: MessagePort; output: MessagePort }
  /** Session ended: close the ports and stop drawing; the worker keeps the canvas for the next start. */
  | { kind: 'detach' }
  | { kind: 'close' };

export interface WaveTheme {
  background: string;
  input: string;
  output: string;
}

/** Message for the playback worklet's optional error channel to the main thread (node.port). */
export type WorkletToMain = { kind: 'error'; where: string; message: string };
