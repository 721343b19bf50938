// The session worker's Comlink control surface. Audio never goes through these calls: it arrives on the
// MessagePorts handed over in `init`. Events come back through the proxied `onEvent` callback.
import type { EngineEvent, EngineSettings } from './engine-api.ts';

export interface SessionWorkerInit {
  contextRate: number;
  /** From the capture worklet: `CaptureToSession` frames. */
  capture: MessagePort;
  /** To/from the playback worklet: `SessionToPlayback` / `PlaybackToSession`. */
  playback: MessagePort;
}

export interface SessionWorkerStats {
  appendsSent: number;
  framesDropped: number;
  reconnects: number;
  sessions: number;
  framesReceived: number;
  /** Mean time a frame spent between the capture worklet's post and the socket send, in ms (approximate). */
  meanFrameHandlingMs: number;
}

export interface SessionWorkerApi {
  init(init: SessionWorkerInit, onEvent: (event: EngineEvent) => void): void;
  start(options: { relayUrl: string; token: string; settings: EngineSettings }): void;
  stop(): void;
  mute(muted: boolean): void;
  configure(settings: Partial<EngineSettings>): void;
  interrupt(): void;
  sendText(text: string): void;
  setTalking(down: boolean): void;
  stats(): SessionWorkerStats;
  /** Close ports; the main thread terminates the worker after this resolves. */
  dispose(): void;
}
