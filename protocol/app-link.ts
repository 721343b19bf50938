// Earshot's own link between the PWA and the relay (subprotocol `earshot.v2`), built for phones on cellular
// networks. The verbatim `/v1/realtime` path (subprotocol `earshot.v1`, `realtime`, or none) stays unchanged for
// SDK clients; this one is what the app speaks by default.
//
// What it changes against the provider's protocol, and why:
// - Audio is Opus in binary frames both ways (24 kHz mono, ~24 kbit/s) instead of base64 pcm16 in JSON
//   (~530 kbit/s). The relay transcodes to and from the provider's pcm16 off its event loop.
// - Silence costs almost nothing upstream: the client may stop sending during silence (Opus DTX); the relay
//   fills the gap with silence toward the provider from the capture timestamps, so server VAD still sees time pass.
// - Both sides send a heartbeat (`earshot.ping` / `earshot.pong`), because a browser cannot see WebSocket
//   pings and a dead cellular link is otherwise noticed only after minutes.
// - The relay numbers everything it sends; the client acknowledges what it has received. When the link drops,
//   the relay keeps the provider session for a grace period and buffers what the provider sends; a reconnect
//   that presents the resume token continues the same provider session from the first unacknowledged message.
// Every other Realtime event keeps its GA shape as a JSON text frame, both ways.
//
// Binary frame layout (all integers little-endian):
//   AudioUp   (client → relay): u8 kind=1 | u8 flags | u16 reserved=0 | u32 captureMs | Opus packet
//     captureMs: the capture time of the packet's first sample, in ms of the client's capture stream
//       (monotonic, starts at 0 when the microphone stream starts; not reset on reconnect or resume).
//     flags & DISCONTINUITY: audio before this packet was dropped by the client (its send queue was full after
//       a stall). The relay clears the provider's input buffer before appending it, so stale speech never
//       becomes a turn.
//   AudioDown (relay → client): u8 kind=2 | u8 flags | u16 streamRef | u32 sampleOffset | u16 samples | Opus packet
//     streamRef: announced by an `earshot.audio.stream` event before the first packet of an item's audio.
//     sampleOffset: 24 kHz samples of that item's audio before this packet's first sample.
//     samples: valid 24 kHz samples in this packet (the last packet of an item may be padded; trim to this).
//     flags & END_OF_STREAM: the last packet of this item's audio (a `response.output_audio.done` follows as JSON).
//
// Sequence numbers: every frame the relay sends on a link, text or binary, except `earshot.ping`/`earshot.pong`,
// counts as one message; `earshot.session` is message 1 of a fresh session. The client counts what it has
// received and reports it as `ack` in every ping and pong it sends; on resume it presents the count in the
// subprotocol and the relay replays from the next message. Duplicates are therefore impossible by construction.
// As the relay implements it (relay/src/app-link/), in detail:
// - On a *resumed* link the `earshot.session {resumed: true}` that comes first is NOT counted (like ping/pong):
//   the replayed messages keep their numbers, so the client's count simply goes on from `received`.
// - A fresh session (also one that answers a refused resume, `resumed: false`) starts counting again: its
//   `earshot.session` is message 1.
// - A resume token is single use: the resumed `earshot.session` carries a new one. A token of another user, a
//   used token, or one the relay never issued all get `resume_failed: 'unknown'` (and do not disturb the session
//   the token belongs to). `expired`: the grace period ended (or the session ended while the app was away).
//   `buffer_overflow`: the relay could not keep everything the client missed (or `received` was too old).
// - The relay's heartbeat pings carry no `ack`; its pongs echo `id` and `t` only.
// - A clean close by the client (1000) ends the provider session at once; any other close or a dead heartbeat
//   keeps it for the grace period.

import type { ClientEvent, ServerEvent } from './realtime.ts';

/** Offered by the app (with `earshot-token.<token>`); echoed by the relay when it speaks this protocol. */
export const APP_SUBPROTOCOL = 'earshot.v2';
/**
 * Offered on reconnect as `earshot-resume.<resumeToken>.<received>`: the session to resume and how many
 * relay messages the client has received. RFC 6455 subprotocol tokens allow `.`, and resume tokens are base64url.
 */
export const RESUME_SUBPROTOCOL_PREFIX = 'earshot-resume.';

export const AppFrameKind = { AudioUp: 1, AudioDown: 2 } as const;
export type AppFrameKind = (typeof AppFrameKind)[keyof typeof AppFrameKind];

export const AudioUpFlags = { Discontinuity: 1 } as const;
export const AudioDownFlags = { EndOfStream: 1 } as const;

export const AUDIO_UP_HEADER_BYTES = 8;
export const AUDIO_DOWN_HEADER_BYTES = 10;

/** Opus runs at the provider's rate both ways, so the client's existing 24 kHz resampling path is reused. */
export const APP_AUDIO_SAMPLE_RATE = 24_000;
/** Upstream packet length: 40 ms keeps per-packet overhead (WS + TCP/IP ≈ 60 B) small at a 20 ms latency cost. */
export const APP_UP_FRAME_MS = 40;
/** Downstream packets: the provider sends faster than real time, so longer packets add no latency. */
export const APP_DOWN_FRAME_MS = 60;
export const APP_OPUS_BITRATE = 24_000;

/** Heartbeat period, each direction. A link with nothing received for LINK_DEAD_MS is dead. */
export const HEARTBEAT_MS = 1_000;
export const LINK_DEAD_MS = 2_500;
/** Default time the relay keeps a provider session for a dropped link to resume (config: `resumeGraceSeconds`). */
export const DEFAULT_RESUME_GRACE_MS = 30_000;
/** The client's send queue holds at most this much audio; older audio is dropped first (fresh audio first). */
export const SEND_QUEUE_MAX_MS = 300;
/**
 * ...except audio the person is holding to talk: that is the turn itself (the provider's VAD is off, nothing becomes
 * a turn before the commit), so it waits up to this long for a slow link. Kept well under the relay's audio burst
 * budget (`audioBurstMs`, 10 s), so the backlog of a stalled hold never trips the rate limit when it goes out.
 */
export const HELD_SEND_QUEUE_MAX_MS = 5000;

export interface AudioUpHeader {
  kind: typeof AppFrameKind.AudioUp;
  flags: number;
  captureMs: number;
}

export interface AudioDownHeader {
  kind: typeof AppFrameKind.AudioDown;
  flags: number;
  streamRef: number;
  sampleOffset: number;
  samples: number;
}

export function encodeAudioUp(header: Omit<AudioUpHeader, 'kind'>, opus: Uint8Array): Uint8Array {
  const out = new Uint8Array(AUDIO_UP_HEADER_BYTES + opus.byteLength);
  const view = new DataView(out.buffer);
  view.setUint8(0, AppFrameKind.AudioUp);
  view.setUint8(1, header.flags);
  view.setUint16(2, 0, true);
  view.setUint32(4, header.captureMs >>> 0, true);
  out.set(opus, AUDIO_UP_HEADER_BYTES);
  return out;
}

export function encodeAudioDown(header: Omit<AudioDownHeader, 'kind'>, opus: Uint8Array): Uint8Array {
  const out = new Uint8Array(AUDIO_DOWN_HEADER_BYTES + opus.byteLength);
  const view = new DataView(out.buffer);
  view.setUint8(0, AppFrameKind.AudioDown);
  view.setUint8(1, header.flags);
  view.setUint16(2, header.streamRef, true);
  view.setUint32(4, header.sampleOffset >>> 0, true);
  view.setUint16(8, header.samples, true);
  out.set(opus, AUDIO_DOWN_HEADER_BYTES);
  return out;
}

export type DecodedAppFrame =
  | { ok: true; header: AudioUpHeader; payload: Uint8Array }
  | { ok: true; header: AudioDownHeader; payload: Uint8Array }
  | { ok: false; reason: 'too_short' | 'unknown_kind' | 'empty_payload' };

/** Reads a binary frame's header. The payload is a view into `frame` (copy it if `frame` is reused). */
export function decodeAppFrame(frame: Uint8Array): DecodedAppFrame {
  if (frame.byteLength < 1) return { ok: false, reason: 'too_short' };
  const view = new DataView(frame.buffer, frame.byteOffset, frame.byteLength);
  const kind = view.getUint8(0);
  if (kind === AppFrameKind.AudioUp) {
    if (frame.byteLength < AUDIO_UP_HEADER_BYTES) return { ok: false, reason: 'too_short' };
    if (frame.byteLength === AUDIO_UP_HEADER_BYTES) return { ok: false, reason: 'empty_payload' };
    return { ok: true, header: { kind, flags: view.getUint8(1), captureMs: view.getUint32(4, true) }, payload: frame.subarray(AUDIO_UP_HEADER_BYTES) };
  }
  if (kind === AppFrameKind.AudioDown) {
    if (frame.byteLength < AUDIO_DOWN_HEADER_BYTES) return { ok: false, reason: 'too_short' };
    if (frame.byteLength === AUDIO_DOWN_HEADER_BYTES) return { ok: false, reason: 'empty_payload' };
    return {
      ok: true,
      header: { kind, flags: view.getUint8(1), streamRef: view.getUint16(2, true), sampleOffset: view.getUint32(4, true), samples: view.getUint16(8, true) },
      payload: frame.subarray(AUDIO_DOWN_HEADER_BYTES),
    };
  }
  return { ok: false, reason: 'unknown_kind' };
}

// ---- JSON control events (text frames), beside the GA events -------------------------------------------------

/** Heartbeat, either direction. The receiver answers a ping with a pong carrying the same `id` and `t`. */
export interface LinkPing {
  type: 'earshot.ping';
  id: number;
  /** Sender's monotonic clock, ms: the pong echoes it so the sender can measure the round trip. */
  t: number;
  /** Client → relay only: relay messages received so far on this session (see "Sequence numbers"). */
  ack?: number;
}

export interface LinkPong {
  type: 'earshot.pong';
  id: number;
  t: number;
  ack?: number;
}

/** Relay → client, message 1 of every link (fresh or resumed). */
export interface LinkSession {
  type: 'earshot.session';
  session_id: string;
  /** Present it on reconnect (`earshot-resume.<token>.<received>`). Rotated on every successful resume. */
  resume_token: string;
  resume_grace_ms: number;
  heartbeat_ms: number;
  /**
   * `resumed`: the same provider session continues; messages after the client's count follow.
   * `new`: a fresh provider session. `resume_failed` says why a resume the client asked for did not happen
   * (so the app can say so honestly and carry the conversation's text into the new session).
   */
  resumed: boolean;
  resume_failed?: 'expired' | 'unknown' | 'buffer_overflow';
  /** How the relay expects and sends audio on this link. */
  audio: { codec: 'opus'; sample_rate: typeof APP_AUDIO_SAMPLE_RATE; up_frame_ms: number; down_frame_ms: number };
}

/** Relay → client: announces the stream ref used by AudioDown frames of one assistant item's audio. */
export interface LinkAudioStream {
  type: 'earshot.audio.stream';
  ref: number;
  response_id: string;
  item_id: string;
  output_index: number;
  content_index: number;
}

/** Relay → client, on speech_started/speech_stopped: the client capture time matching the provider's audio_*_ms. */
export interface LinkCaptureClock {
  type: 'earshot.capture_clock';
  event: 'input_audio_buffer.speech_started' | 'input_audio_buffer.speech_stopped';
  item_id: string;
  /** The client's captureMs at the provider's audio_start_ms / audio_end_ms. */
  capture_ms: number;
}

/**
 * Relay → client: the link died while the person was speaking (the last audio was speech and nothing followed), so
 * the relay cleared the provider's input buffer: that fragment never becomes a turn. Numbered; after a resume it
 * arrives with the replay. The app says so ("please say that again"); the person's next words start a clean turn.
 */
export interface LinkInputCut {
  type: 'earshot.input_cut';
  reason: 'link_lost';
}

export type LinkControlToClient = LinkPing | LinkPong | LinkSession | LinkAudioStream | LinkCaptureClock | LinkInputCut;
export type LinkControlToRelay = LinkPing | LinkPong;

/** Every text frame the app may send on `earshot.v2`: GA client events except audio appends, plus link control. */
export type AppTextToRelay = Exclude<ClientEvent, { type: 'input_audio_buffer.append' }> | LinkControlToRelay;
/** Every text frame the relay may send on `earshot.v2`: GA server events except audio deltas, plus link control. */
export type AppTextToClient = Exclude<ServerEvent, { type: 'response.output_audio.delta' }> | LinkControlToClient;
