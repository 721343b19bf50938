// The relay's view of "the provider": one bidirectional event stream per client session.
// Implemented by the `ws` client toward a real URL (ws-upstream.ts) and by the in-process simulator
// (../simulator/in-process.ts), so the session bridge never knows which it talks to.

/** One Realtime event as a JSON text frame. Uint8Array on the hot path so bytes are never decoded just to forward. */
export type Frame = string | Uint8Array;

export interface UpstreamOpenOptions {
  model: string;
  /** `?intent=transcription`: a transcription session instead of a conversation. */
  intent?: 'transcription';
  /** Relay-assigned session id, for logs only. */
  sessionId: string;
  userId: string;
}

export type UpstreamFailure =
  | { kind: 'unreachable'; message: string } // connect refused, DNS failure, TLS error, timeout
  | { kind: 'rejected'; status: number; message: string } // HTTP status on the upgrade, e.g. 401 bad key
  | { kind: 'dropped'; code: number; message: string } // closed abnormally after opening
  // upgraded, then refused with an `error` and close 3000/4000 before the session started (connect-refusal.ts)
  | { kind: 'refused'; closeCode: number; code: string; message: string };

export interface UpstreamHandlers {
  onOpen(): void;
  /** A server event text frame. The bridge forwards it verbatim. */
  onMessage(frame: Frame): void;
  /** Exactly once, after which no handler is called again. `failure` is absent for a clean close. */
  onClose(code: number, reason: string, failure?: UpstreamFailure): void;
}

export interface Upstream {
  /** Queue a client event text frame toward the provider. Frames sent before open are queued in order. */
  send(frame: Frame): void;
  /** Bytes accepted by send() but not yet written to the network (0 for in-process). */
  bufferedAmount(): number;
  /** Stop delivering onMessage (client is slow); resume() restarts it. Must be idempotent. */
  pause(): void;
  resume(): void;
  close(code?: number, reason?: string): void;
}

export type UpstreamFactory = (options: UpstreamOpenOptions, handlers: UpstreamHandlers) => Upstream;
