// Contract between the main-thread UI (client/src/ui, client/src/app) and the audio/session engine
// (client/src/audio, client/src/session). The UI only calls these methods and renders these events;
// audio and socket traffic never reach the main thread.
import type { ClientPolicyView, RejectReason } from '../../../protocol/relay-http.ts';

export type ConversationMode = 'hands-free' | 'hold-to-talk';

export type EngineErrorReason =
  | RejectReason // token / quota / origin rejections from the relay's session check
  | 'relay_unreachable'
  | 'mic_denied'
  | 'mic_missing'
  | 'audio_failed'
  | 'upstream_error'
  | 'protocol_error';

/** Errors travel as data. `message` is a human sentence that says what to do. */
export interface EngineError {
  reason: EngineErrorReason;
  message: string;
  /** Fatal errors stop the conversation; others are shown and the engine goes on. */
  fatal: boolean;
}

export type EngineState =
  | { kind: 'idle' }
  | { kind: 'connecting' }
  | { kind: 'listening' } // connected, waiting for the user
  | { kind: 'hearing' } // the user is speaking (speech_started / hold-to-talk held)
  | { kind: 'thinking' } // turn committed, waiting for the first assistant audio
  | { kind: 'speaking' } // assistant audio is playing
  | { kind: 'reconnecting'; attempt: number; retryAt: number } // retryAt: epoch ms, for a countdown
  | { kind: 'error'; error: EngineError };

export type EngineEvent =
  | { kind: 'state'; state: EngineState }
  /** Full text so far for one conversation item (not a delta), so the UI can just replace it. */
  | { kind: 'transcript'; role: 'user' | 'assistant'; itemId: string; text: string; final: boolean; interrupted?: boolean }
  /**
   * The browser holds the audio back until a tap (autoplay policy, iOS after a call): the UI shows "Tap to resume"
   * and calls resumeAudio() from that tap. `blocked: false` once the audio runs again.
   */
  | { kind: 'audio'; blocked: boolean }
  /**
   * End of the user's speech → first assistant sample played, per turn. On earshot.v2 the end of speech is on the
   * phone's clock (the capture time where the provider heard speech stop), so the network is included.
   */
  | { kind: 'turn-latency'; ms: number }
  /** The link's health, after each heartbeat answer and each playback gap (see LinkHealth). */
  | { kind: 'link'; health: LinkHealth }
  /** A non-fatal problem as a human sentence (e.g. a provider `error` event). */
  | { kind: 'notice'; error: EngineError }
  | { kind: 'session'; user: string; policy: ClientPolicyView; backend: 'simulator' | 'provider' }
  | { kind: 'muted'; muted: boolean }
  /** The microphone track was muted by the system or ended (false), or runs again / was replaced (true). */
  | { kind: 'mic'; live: boolean }
  /** Input level 0..1, ~15 Hz, for a small speech indicator (the waveform itself is drawn in a worker). */
  | { kind: 'level'; input: number; output: number };

/** What the latency/health read-out shows. */
export interface LinkHealth {
  /** Latest heartbeat round trip, ms (null before the first answer). */
  rttMs: number | null;
  quality: 'good' | 'fair' | 'poor';
  /** Playback gaps (underruns) since start. */
  underruns: number;
  /** The playback queue's current jitter target, ms. */
  jitterMs: number;
}

export interface EngineSettings {
  mode: ConversationMode;
  /**
   * The link to the relay: `v2` (earshot.v2: Opus, heartbeat, resume — the default everywhere) or `v1` (the verbatim
   * base64 JSON path, kept for debugging).
   */
  link?: 'v2' | 'v1';
  /** Opus engine on v2: `auto` = WebCodecs where the browser has it, else WASM; `wasm` forces libopus in WASM. */
  opus?: 'auto' | 'wasm';
  /** Only applied if the relay policy lists the field as mutable. */
  voice?: string;
  instructions?: string;
  /** MediaDeviceInfo.deviceId; undefined = default microphone. */
  deviceId?: string;
  echoCancellation: boolean;
  noiseSuppression: boolean;
  autoGainControl: boolean;
  /** Provider-side `far_field` input noise reduction (speakerphone). */
  farField: boolean;
  /**
   * The barge-in guard (barge-in-guard.ts), on unless false. Not a user setting: the acoustic bench
   * (`npm run bench:echo`) turns it off to measure what the browser's echo canceller removes on its own.
   */
  bargeInGuard?: boolean;
  /** The acoustic bench only: keep a per-frame record of the guard (GuardTraceFrame), read by debugGuardTrace. */
  guardTrace?: boolean;
}

/** One capture frame as the barge-in guard saw it (the bench's `?trace=guard`). */
export interface GuardTraceFrame {
  /** Wall clock (Date.now) when the worker handled the frame. */
  at: number;
  /** Frame RMS, dBFS. */
  db: number;
  /** What the guard was told (Conversation.assistantAudible, or false with the guard off). */
  audible: boolean;
  /** Its verdict for the frame; 'idle' while nothing is captured (not connected, muted, held back). */
  verdict: 'pass' | 'mute' | 'open' | 'idle';
  /** Whether the guard asked for more on the frame: an echo onset (echo-onset.ts) or an echo-like capture. */
  onset?: boolean;
  /** Whether the capture's level followed the playback's (echo-likeness.ts; one reason for `onset`). */
  echoLike?: boolean;
  /** The playback worklet's output level in its last `progress` report (dBFS; what the app was playing then). */
  playDb?: number;
  /** The capture's coherence with the samples just played (echo-coherence.ts, 0…1; null: nothing to say). */
  coherence?: number | null;
  /** Whether that made the frame echo, never loud for the guard (with the assistant audible). */
  coherent?: boolean;
}

export interface EngineStartOptions {
  /** Base URL of the relay, e.g. `https://earshot.example` (ws URL derived from it). */
  relayUrl: string;
  token: string;
  settings: EngineSettings;
  /** Canvas for the waveform; transferred to a worker with transferControlToOffscreen() where supported. */
  canvas?: HTMLCanvasElement;
}

export interface Engine {
  /** Must be called from a user gesture (iOS resumes the AudioContext only then). */
  start(options: EngineStartOptions): Promise<void>;
  stop(): Promise<void>;
  setMuted(muted: boolean): void;
  /** Call synchronously from a tap (a user gesture) when an `audio` event said blocked: resumes the AudioContext. */
  resumeAudio(): void;
  /** Stop the assistant now (flush playback, cancel response, truncate what was heard). */
  interrupt(): void;
  /**
   * End the person's turn because the page lost its audio (iOS screen lock): cut the reply where it was heard and
   * drop the unfinished words (input_audio_buffer.clear), not commit them, and send no microphone audio until
   * resumeListening(). The conversation stays connected.
   */
  endTurn(): void;
  /** The page is back after endTurn(): the microphone makes turns again. */
  resumeListening(): void;
  /** Hold-to-talk: true on press, false on release (commit + response.create). */
  setTalking(down: boolean): void;
  sendText(text: string): void;
  updateSettings(settings: Partial<EngineSettings>): Promise<void>;
  /** Subscribe; returns an unsubscribe function. */
  subscribe(listener: (event: EngineEvent) => void): () => void;
  /**
   * Diagnostics (added by the audio engine; optional so UI test fakes need not implement it): browser tests read
   * the echo-cancel loopback's RTP stats and the session worker's counters from here. createEngine() provides it.
   */
  debugStats?(): Promise<EngineDebugStats>;
  /** The guard trace kept since the last call (empty unless the engine was made with guardTrace). */
  debugGuardTrace?(): Promise<GuardTraceFrame[]>;
}

/** Snapshot of the audio graph and session worker, for tests and a debug view. */
export interface EngineDebugStats {
  context: { sampleRate: number; state: string; baseLatency: number; outputLatency: number } | null;
  /** How assistant audio reaches the speaker: through the WebRTC loopback the echo canceller sees, or directly. */
  output: 'webrtc-loopback' | 'direct' | 'none';
  loopback: {
    outbound: { bytesSent: number; packetsSent: number };
    inbound: { bytesReceived: number; packetsReceived: number; totalAudioEnergy: number; totalSamplesReceived: number; concealedSamples: number };
  } | null;
  session: SessionStats | null;
  /** Frames drawn by the waveform worker, if one runs. */
  waveform: 'offscreen-worker' | 'main-thread' | 'none';
}

/** The session worker's counters (debugStats().session). */
export interface SessionStats {
  /** Audio frames handed to the socket: v1 appends or v2 AudioUp frames. */
  appendsSent: number;
  /** Audio dropped before the socket: v2 send-queue drops (stale audio), v1 frames dropped on a full socket. */
  framesDropped: number;
  reconnects: number;
  /** Fresh provider sessions started. */
  sessions: number;
  /** Links that continued the same provider session (earshot.v2 resume). */
  resumes: number;
  framesReceived: number;
  meanFrameHandlingMs: number;
  link: 'v2' | 'v1';
  opus: 'webcodecs' | 'wasm' | null;
  /** v2: Opus packets not sent because they were DTX silence. */
  dtxSkipped: number;
  /** v2: 40 ms blocks handed to the Opus encoder, and packets it returned (WebCodecs may drop DTX packets itself). */
  upBlocks: number;
  upPackets: number;
  /** v2: encoder packets whose capture time matched no block handed in (should stay 0). */
  upUnmatched: number;
  /** Bytes of WebSocket payload sent / received (audio and events). */
  bytesSent: number;
  bytesReceived: number;
  /** Relay messages received on the current session (what `ack` reports). */
  received: number;
  underruns: number;
}
