// The session worker's Comlink control surface. Audio never goes through these calls: it arrives on the
// MessagePorts handed over in `init`. Events come back through the proxied `onEvent` callback.
// Mute is not here: the capture worklet owns it (no frame leaves the audio thread while muted).
import type { EngineEvent, EngineSettings, GuardTraceFrame, SessionStats } from './engine-api.ts';

export interface SessionWorkerInit {
  contextRate: number;
  /** From the capture worklet: `CaptureToSession` frames. */
  capture: MessagePort;
  /** To/from the playback worklet: `SessionToPlayback` / `PlaybackToSession`. */
  playback: MessagePort;
}

export type SessionWorkerStats = SessionStats;

export interface SessionWorkerApi {
  init(init: SessionWorkerInit, onEvent: (event: EngineEvent) => void): void;
  /** Resolves once the link's codec is ready (the WASM Opus build loads here when it is needed). */
  start(options: { relayUrl: string; token: string; settings: EngineSettings }): Promise<void>;
  stop(): void;
  configure(settings: Partial<EngineSettings>): void;
  interrupt(): void;
  /** See Engine.endTurn. */
  endTurn(): void;
  /** See Engine.resumeListening. */
  resumeListening(): void;
  sendText(text: string): void;
  setTalking(down: boolean): void;
  stats(): SessionWorkerStats;
  /** The guard trace since the last call, emptied (settings.guardTrace; the acoustic bench only). */
  takeGuardTrace(): GuardTraceFrame[];
  /** Close ports; the main thread terminates the worker after this resolves. */
  dispose(): void;
}
