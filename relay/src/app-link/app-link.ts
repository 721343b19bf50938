// One app link (`earshot.v2`, protocol/app-link.ts) on the uWS event loop: the client side of a RelaySession
// for the PWA. It may outlive its socket: when the link drops it detaches, keeps the session (provider socket,
// policy, accounting: all in the RelaySession, untouched) for the grace period and buffers what the provider
// sends; a resume attaches a new socket and replays what the client missed.
//
// Up:   AudioUp Opus → duration budget → decode (worker) → UplinkAudio (coalesce, DTX fill, clean cut) →
//       trusted `input_audio_buffer.append`/`clear`. Text events go through the session's own checks (size,
//       rate, gate), in order behind the audio queued before them.
// Down: `response.output_audio.delta` → encode (worker, one encoder per item) → AudioDown frames, announced by
//       `earshot.audio.stream`; everything else as JSON. Every frame but ping/pong is numbered and kept until acked.
//
// Lifetime rules (uWS): a socket MUST NOT be touched after its close handler ran or after this link let go of
// it (`this.ws` is the only socket it writes to, and it is cleared before a socket is closed or replaced).
// Message ArrayBuffers MUST be copied before the handler returns.
import type uWS from 'uWebSockets.js';
import {
  APP_AUDIO_SAMPLE_RATE,
  APP_DOWN_FRAME_MS,
  APP_UP_FRAME_MS,
  AppFrameKind,
  AudioDownFlags,
  AudioUpFlags,
  decodeAppFrame,
  encodeAudioDown,
  type LinkAudioStream,
  type LinkCaptureClock,
  type LinkInputCut,
  type LinkPing,
  type LinkPong,
  type LinkSession,
} from '../../../protocol/app-link.ts';
import { CloseCode } from '../../../protocol/close-codes.ts';
import type { RelayErrorCode } from '../../../protocol/relay-errors.ts';
import type { ClientEvent } from '../../../protocol/realtime.ts';
import type { RelayConfig } from '../config/config.ts';
import type { Logger } from '../log.ts';
import { peekType } from '../policy/peek-type.ts';
import type { ConnData, RelaySession } from '../session/bridge.ts';
import type { ClientSide } from '../session/client-side.ts';
import { relayErrorEvent } from '../session/relay-error.ts';
import type { CodecChannel, Encoded } from '../transcode/pool.ts';
import type { StreamKey } from '../transcode/messages.ts';
import type { Frame } from '../upstream/upstream.ts';
import { AudioBudget } from './audio-budget.ts';
import { Heartbeat } from './heartbeat.ts';
import { InOrder } from './in-order.ts';
import { opusPacketMs } from './opus-toc.ts';
import { ReplayBuffer } from './replay-buffer.ts';
import type { ResumeFailure, ResumeRegistry } from './resume-registry.ts';
import { UplinkAudio } from './uplink-audio.ts';

export interface AppLinkDeps {
  config: RelayConfig['appLink'];
  maxFrameBytes: number;
  registry: ResumeRegistry<AppLink>;
  log: Logger;
  now?: () => number;
}

type UpStep = { kind: 'audio'; captureMs: number; discontinuity: boolean; pcm: Uint8Array } | { kind: 'text'; frame: ArrayBuffer };
type DownStep = { kind: 'send'; frame: Frame; type: string } | { kind: 'encoded'; encoded: Encoded; then: { frame: Frame; type: string } | null };

/** Link control text frames (ping/pong) a client may send per second before it is cut (4007). */
const MAX_CONTROL_PER_SECOND = 20;
const TICK_MS = 50;
const GAP_FILL_LAG_MS = 100;
const MAX_GAP_FILL_MS = 2_000;
/** Covers the provider's VAD silence window (500 ms by default) after the last word, with room for a slower one. */
const QUIET_FLUSH_MS = 1_000;
const enc = new TextEncoder();

export class AppLink implements ClientSide {
  readonly userId: string;
  private session: RelaySession | null = null;
  private ws: uWS.WebSocket<ConnData> | null;
  private token: string;
  private readonly replay: ReplayBuffer;
  private readonly heartbeat: Heartbeat;
  private readonly uplink: UplinkAudio;
  private readonly budget: AudioBudget;
  private readonly up: InOrder<UpStep>;
  private readonly down: InOrder<DownStep>;
  /** Stream refs of assistant audio, by item and content part. */
  private readonly streams = new Map<string, { ref: number; key: StreamKey }>();
  private nextRef = 1;
  /** The client's last acknowledged count (its `ack`, or the count it resumed with). */
  private acked = 0;
  private tickTimer: NodeJS.Timeout | null = null;
  private graceTimer: NodeJS.Timeout | null = null;
  private controlWindowStart = 0;
  private controlCount = 0;
  private ended = false;
  private readonly now: () => number;
  /** The socket went: once the audio it sent has been decoded, decide whether it died mid-word (settleDetach). */
  private settling = false;
  /**
   * The provider's turn detection as its session.created/updated last said: null = off (the app commits). Its
   * `silence_duration_ms` is inside every `audio_end_ms` (GA: "includes the min_silence_duration_ms"), so the end of
   * speech on the capture clock is that much earlier. semantic_vad has no fixed silence: 0.
   */
  private turnDetection: { silenceMs: number } | null = { silenceMs: 0 };

  constructor(
    ws: uWS.WebSocket<ConnData>,
    private readonly codec: CodecChannel,
    private readonly deps: AppLinkDeps,
  ) {
    this.ws = ws;
    const data = ws.getUserData();
    data.link = this;
    this.userId = data.info.userId;
    this.now = deps.now ?? (() => performance.now());
    this.token = deps.registry.issue(this);
    this.replay = new ReplayBuffer(deps.config.resumeBufferBytes);
    this.heartbeat = new Heartbeat({
      periodMs: deps.config.heartbeatMs,
      deadMs: deps.config.linkDeadMs,
      now: this.now,
      sendPing: (id, t) => this.sendUnnumbered(JSON.stringify({ type: 'earshot.ping', id, t } satisfies LinkPing)),
      onDead: (silentMs) => this.linkDead(silentMs),
    });
    this.budget = new AudioBudget(deps.config.audioBurstMs, deps.config.maxAudioRealtimeFactor, this.now);
    this.uplink = new UplinkAudio(
      {
        append: (pcm) => {
          const event = { type: 'input_audio_buffer.append', audio: Buffer.from(pcm.buffer, pcm.byteOffset, pcm.byteLength).toString('base64') } satisfies ClientEvent;
          this.session?.forwardTrusted('input_audio_buffer.append', enc.encode(JSON.stringify(event)));
        },
        clear: () => this.session?.forwardTrusted('input_audio_buffer.clear', enc.encode(JSON.stringify({ type: 'input_audio_buffer.clear' } satisfies ClientEvent))),
      },
      { appendMs: deps.config.appendMs, gapFillLagMs: GAP_FILL_LAG_MS, maxGapFillMs: MAX_GAP_FILL_MS, quietFlushMs: QUIET_FLUSH_MS, now: this.now },
    );
    this.up = new InOrder<UpStep>(
      (step) => this.deliverUp(step),
      (err) => this.jobFailed('invalid_audio', 'The relay could not decode an audio packet; it was skipped. Send Opus, 24 kHz mono.', err),
    );
    this.down = new InOrder<DownStep>(
      (step) => this.deliverDown(step),
      (err) => this.jobFailed('audio_encode_failed', 'The relay could not encode part of the reply audio.', err),
    );
  }

  /** A fresh link: binds its session and sends `earshot.session` (message 1). */
  startFresh(session: RelaySession, resumeFailed: ResumeFailure | undefined): void {
    this.session = session;
    this.emit(JSON.stringify(this.sessionEvent(false, resumeFailed)), false);
    this.attached();
  }

  /**
   * A reconnect presenting this link's token (already consumed from the registry) and the client's count.
   * Replaces the socket (an old one still open is closed: after a network change it is a ghost), sends
   * `earshot.session {resumed: true}` (NOT counted: the replay keeps its numbers), then what the client missed.
   */
  resume(ws: uWS.WebSocket<ConnData>, received: number): { ok: true } | { ok: false; reason: ResumeFailure } {
    const session = this.session;
    if (this.ended || !session || session.isEnded) return { ok: false, reason: 'expired' };
    const missed = this.replay.after(received);
    if (!missed) {
      this.deps.log.info({ session: session.info.sessionId, received, last: this.replay.lastSeq }, 'app link: cannot replay from the client count');
      this.endSession(this.replay.lastSeq < received ? 'unknown' : 'buffer_overflow');
      return { ok: false, reason: received > this.replay.lastSeq ? 'unknown' : 'buffer_overflow' };
    }
    this.letGo();
    if (this.graceTimer) clearTimeout(this.graceTimer);
    this.graceTimer = null;
    this.ws = ws;
    this.settling = false;
    const data = ws.getUserData();
    data.link = this;
    data.session = session;
    data.info = session.info;
    this.token = this.deps.registry.issue(this);
    this.acked = received;
    this.replay.ack(received);
    this.sendUnnumbered(JSON.stringify(this.sessionEvent(true, undefined)));
    ws.cork(() => {
      for (const m of missed) ws.send(m.frame, m.binary, !m.binary);
    });
    this.deps.log.info({ session: session.info.sessionId, replayed: missed.length }, 'app link resumed');
    this.attached();
    return { ok: true };
  }

  // ---- ClientSide (called by the RelaySession) -------------------------------------------------------------

  /** Always true: the app link queues and transcodes, so the session asks bufferedAmount() after every frame. */
  send(frame: Frame, type: string): boolean {
    if (this.ended) return true;
    switch (type) {
      case 'response.output_audio.delta':
        this.down.later(this.codec.encode(typeof frame === 'string' ? frame : Buffer.from(frame).toString('utf8')).then((encoded) => ({ kind: 'encoded', encoded, then: null })));
        return true;
      case 'response.output_audio.done': {
        const id = this.parse<{ item_id?: unknown; content_index?: unknown }>(frame);
        if (typeof id?.item_id === 'string') {
          const then = { frame, type };
          this.down.later(this.codec.end(id.item_id, typeof id.content_index === 'number' ? id.content_index : 0).then((encoded) => ({ kind: 'encoded', encoded, then })));
          return true;
        }
        break;
      }
      default:
        break;
    }
    this.down.now({ kind: 'send', frame, type });
    return true;
  }

  bufferedAmount(): number {
    return this.ws ? this.ws.getBufferedAmount() : 0;
  }

  end(code: number, reason: string): void {
    const ws = this.ws;
    this.ws = null;
    ws?.end(code, reason);
    this.finish(this.graceTimer ? 'expired' : null);
  }

  // ---- the socket's uWS handlers ---------------------------------------------------------------------------

  onMessage(ws: uWS.WebSocket<ConnData>, message: ArrayBuffer, isBinary: boolean): void {
    if (ws !== this.ws || this.ended || !this.session) return;
    try {
      this.message(this.session, message, isBinary);
    } catch (err) {
      this.broke(err, 'client frame');
    }
  }

  private message(session: RelaySession, message: ArrayBuffer, isBinary: boolean): void {
    this.heartbeat.heard();
    if (!isBinary) this.uplink.heard();
    if (message.byteLength > this.deps.maxFrameBytes) {
      session.terminate(CloseCode.MessageTooBig, 'frame_too_large', `A message of ${message.byteLength} bytes is over this relay's limit of ${this.deps.maxFrameBytes} bytes.`);
      return;
    }
    if (isBinary) {
      this.onAudioUp(new Uint8Array(message));
      return;
    }
    // MUST copy: uWS frees `message` when this handler returns, and the frame may wait behind audio jobs.
    const frame = message.slice(0);
    const type = peekType(new Uint8Array(frame));
    if (type === 'earshot.ping' || type === 'earshot.pong') {
      this.onControl(type, frame);
      return;
    }
    this.up.now({ kind: 'text', frame });
  }

  onDrain(ws: uWS.WebSocket<ConnData>): void {
    if (ws === this.ws) this.session?.onDrain();
  }

  /** uWS close handler: that socket is gone and MUST NOT be touched again. */
  onClose(ws: uWS.WebSocket<ConnData>, code: number): void {
    if (ws !== this.ws) return;
    this.ws = null;
    this.heartbeat.stop();
    if (this.ended) return;
    if (code === CloseCode.Normal) {
      // The app hung up: end the provider session at once, no grace.
      const session = this.session;
      this.finish(null);
      session?.onClientClose(code);
      return;
    }
    this.detach(`socket closed (${code})`);
  }

  // ---- up ---------------------------------------------------------------------------------------------------

  private onAudioUp(bytes: Uint8Array): void {
    const decoded = decodeAppFrame(bytes);
    if (!decoded.ok || decoded.header.kind !== AppFrameKind.AudioUp) {
      this.emitError('invalid_audio_frame', `A binary frame was not an AudioUp frame (${decoded.ok ? 'wrong kind' : decoded.reason}); it was skipped.`);
      return;
    }
    const ms = opusPacketMs(decoded.payload);
    if (ms === null) {
      this.emitError('invalid_audio', 'An audio frame did not carry an Opus packet; it was skipped.');
      return;
    }
    if (!this.budget.take(ms)) {
      this.session?.terminate(CloseCode.RateLimited, 'rate_limited', `Audio arrived faster than ${this.deps.config.maxAudioRealtimeFactor}× real time for too long.`);
      return;
    }
    const { captureMs, flags } = decoded.header;
    // decode() copies the payload before it returns, so uWS may free the message afterwards.
    this.up.later(this.codec.decode(decoded.payload).then((pcm) => ({ kind: 'audio', captureMs, discontinuity: (flags & AudioUpFlags.Discontinuity) !== 0, pcm })));
  }

  private deliverUp(step: UpStep): void {
    if (this.ended || !this.session) return;
    try {
      this.applyUp(step);
      this.settleDetach();
    } catch (err) {
      this.broke(err, 'audio up');
    }
  }

  private applyUp(step: UpStep): void {
    if (!this.session) return;
    switch (step.kind) {
      case 'audio':
        this.uplink.push(step.captureMs, step.discontinuity, step.pcm);
        return;
      case 'text':
        // Audio before this event reaches the provider first (a commit commits what was said before it).
        this.uplink.flush();
        this.session.onClientMessage(step.frame, false);
        return;
      default:
        step satisfies never;
    }
  }

  private onControl(type: 'earshot.ping' | 'earshot.pong', frame: ArrayBuffer): void {
    const t = this.now();
    if (t - this.controlWindowStart >= 1000) {
      this.controlWindowStart = t;
      this.controlCount = 0;
    }
    if (++this.controlCount > MAX_CONTROL_PER_SECOND) {
      this.session?.terminate(CloseCode.RateLimited, 'rate_limited', `More than ${MAX_CONTROL_PER_SECOND} heartbeats in one second.`);
      return;
    }
    const msg = this.parse<Partial<LinkPing>>(new Uint8Array(frame));
    if (!msg) {
      this.emitError('invalid_json', `The relay could not read this ${type}.`);
      return;
    }
    if (typeof msg.ack === 'number' && Number.isInteger(msg.ack) && msg.ack > this.acked && msg.ack <= this.replay.lastSeq) {
      this.acked = msg.ack;
      this.replay.ack(msg.ack);
    }
    if (type === 'earshot.ping' && typeof msg.id === 'number' && typeof msg.t === 'number') {
      this.sendUnnumbered(JSON.stringify({ type: 'earshot.pong', id: msg.id, t: msg.t } satisfies LinkPong));
    }
  }

  // ---- down -------------------------------------------------------------------------------------------------

  private deliverDown(step: DownStep): void {
    if (this.ended) return;
    try {
      this.applyDown(step);
    } catch (err) {
      this.broke(err, 'audio down');
    }
  }

  private applyDown(step: DownStep): void {
    switch (step.kind) {
      case 'send':
        this.sendEvent(step.frame, step.type);
        return;
      case 'encoded': {
        const { stream, packets } = step.encoded;
        if (stream && packets.length > 0) {
          const id = `${stream.item_id}\u0000${stream.content_index}`;
          let entry = this.streams.get(id);
          if (!entry) {
            entry = { ref: this.nextRef, key: stream };
            this.nextRef = (this.nextRef % 0xffff) + 1;
            this.streams.set(id, entry);
            this.emit(JSON.stringify({ type: 'earshot.audio.stream', ref: entry.ref, ...stream } satisfies LinkAudioStream), false);
          }
          for (const p of packets) {
            this.emit(encodeAudioDown({ flags: p.end ? AudioDownFlags.EndOfStream : 0, streamRef: entry.ref, sampleOffset: p.sampleOffset, samples: p.samples }, p.opus), true);
            if (p.end) this.streams.delete(id);
          }
        }
        if (step.then) this.sendEvent(step.then.frame, step.then.type);
        return;
      }
      default:
        step satisfies never;
    }
  }

  private sendEvent(frame: Frame, type: string): void {
    this.emit(frame, false);
    if (type === 'input_audio_buffer.speech_started' || type === 'input_audio_buffer.speech_stopped') {
      const e = this.parse<{ item_id?: unknown; audio_start_ms?: unknown; audio_end_ms?: unknown }>(frame);
      // The end of speech is where the voice stopped, not where the provider's silence window confirmed it.
      const ms = type === 'input_audio_buffer.speech_started' ? e?.audio_start_ms : typeof e?.audio_end_ms === 'number' ? Math.max(0, e.audio_end_ms - (this.turnDetection?.silenceMs ?? 0)) : null;
      const captureMs = typeof ms === 'number' ? this.uplink.captureAt(ms) : null;
      if (captureMs !== null && typeof e?.item_id === 'string') {
        this.emit(JSON.stringify({ type: 'earshot.capture_clock', event: type, item_id: e.item_id, capture_ms: captureMs } satisfies LinkCaptureClock), false);
      }
    } else if (type === 'session.created' || type === 'session.updated') {
      const e = this.parse<{ session?: { audio?: { input?: { turn_detection?: { type?: unknown; silence_duration_ms?: unknown } | null } } } }>(frame);
      const td = e?.session?.audio?.input?.turn_detection;
      if (td === null) this.turnDetection = null;
      else if (td) this.turnDetection = { silenceMs: td.type === 'server_vad' && typeof td.silence_duration_ms === 'number' ? td.silence_duration_ms : 0 };
    } else if (type === 'response.done') {
      // A cancelled response may never send output_audio.done: end its streams so their encoders are freed.
      const e = this.parse<{ response?: { id?: unknown } }>(frame);
      for (const { key } of [...this.streams.values()]) {
        if (key.response_id === e?.response?.id) this.down.later(this.codec.end(key.item_id, key.content_index).then((encoded) => ({ kind: 'encoded', encoded, then: null })));
      }
    }
  }

  /** Numbers a frame, keeps it for replay, and sends it if a socket is attached. */
  private emit(frame: Frame, binary: boolean): void {
    this.replay.push(frame, binary);
    const ws = this.ws;
    if (ws) {
      // Text frames compressed (permessage-deflate, when the app negotiated it), Opus never: it does not shrink.
      ws.cork(() => {
        ws.send(frame, binary, !binary);
      });
      this.heartbeat.sent();
    } else if (this.replay.overflowedSince(this.acked)) {
      this.deps.log.info({ session: this.session?.info.sessionId, bytes: this.deps.config.resumeBufferBytes }, 'app link: resume buffer full while away; session ends');
      this.endSession('buffer_overflow');
    }
  }

  /** Heartbeats and `earshot.session` on resume: not numbered, not kept. */
  private sendUnnumbered(text: string): void {
    const ws = this.ws;
    if (!ws) return;
    ws.cork(() => {
      ws.send(text, false, true);
    });
    this.heartbeat.sent();
  }

  private emitError(code: RelayErrorCode, message: string): void {
    this.emit(relayErrorEvent(code, message), false);
  }

  private jobFailed(code: RelayErrorCode, message: string, err: unknown): void {
    this.deps.log.warn({ err, session: this.session?.info.sessionId }, `app link: ${code}`);
    if (!this.ended) this.emitError(code, message);
  }

  // ---- attach, detach, end ------------------------------------------------------------------------------

  private sessionEvent(resumed: boolean, failed: ResumeFailure | undefined): LinkSession {
    return {
      type: 'earshot.session',
      session_id: this.session?.info.sessionId ?? '',
      resume_token: this.token,
      resume_grace_ms: Math.round(this.deps.config.resumeGraceSeconds * 1000),
      heartbeat_ms: this.deps.config.heartbeatMs,
      resumed,
      ...(failed ? { resume_failed: failed } : {}),
      audio: { codec: 'opus', sample_rate: APP_AUDIO_SAMPLE_RATE, up_frame_ms: APP_UP_FRAME_MS, down_frame_ms: APP_DOWN_FRAME_MS },
    };
  }

  private attached(): void {
    this.heartbeat.start();
    this.startFill();
  }

  /**
   * Keeps the provider's audio clock running: DTX silence is filled in real time while the app is here *and* while
   * it is away (issue 12: "the provider still receives continuous audio for its VAD"). A link that drops after the
   * person paused (the app's quiet hangover packets came last) ends like the pause it is: the provider's VAD closes
   * the turn and its reply waits in the replay buffer for the resume. A link that drops mid-word gets no fill (the
   * uplink holds it) and is cut instead (settleDetach). Silence outside a turn is never committed, so it bills no
   * input tokens. Runs until the link ends (grace over) or is replaced by a resume (which restarts it).
   */
  private startFill(): void {
    if (this.tickTimer) clearInterval(this.tickTimer);
    this.tickTimer = setInterval(() => {
      if (this.up.pending > 0 || this.ended) return;
      this.settleDetach(); // also when the last job of the dead socket failed (no delivery to settle it)
      this.uplink.tick();
    }, TICK_MS);
    this.tickTimer.unref();
  }

  private linkDead(silentMs: number): void {
    this.deps.log.info({ session: this.session?.info.sessionId, silentMs }, 'app link dead (no heartbeat)');
    this.letGo();
    this.detach('heartbeat lost');
  }

  /** Stops writing to the current socket and closes it without a handshake (it may be a ghost). */
  private letGo(): void {
    const ws = this.ws;
    this.ws = null;
    this.heartbeat.stop();
    ws?.close();
  }

  private detach(why: string): void {
    if (this.ended || this.graceTimer) return;
    const graceMs = Math.round(this.deps.config.resumeGraceSeconds * 1000);
    this.deps.log.info({ session: this.session?.info.sessionId, why, graceMs }, 'app link detached; provider session kept for resume');
    this.settling = true;
    this.settleDetach();
    this.graceTimer = setTimeout(() => {
      this.deps.log.info({ session: this.session?.info.sessionId }, 'app link: resume grace period over; session ends');
      this.endSession('expired');
    }, graceMs);
    this.graceTimer.unref();
  }

  /**
   * After a detach, once everything the dead socket sent has been decoded and pushed (no fill runs meanwhile: the
   * tick waits for the up queue): did it die mid-word? Then the provider's VAD must not end the fragment as a turn
   * and answer half a sentence. Its input is cleared, no silence follows, and the app hears of it (numbered, so it
   * arrives with the resume's replay). Otherwise what the app said is sent now and the fill goes on (startFill).
   */
  private settleDetach(): void {
    if (!this.settling || this.up.pending > 0 || this.ended) return;
    this.settling = false;
    if (this.ws) return; // resumed already
    if (this.turnDetection !== null && this.uplink.midWord) {
      this.deps.log.info({ session: this.session?.info.sessionId }, 'app link died mid-word; the fragment is cleared');
      this.uplink.cut();
      this.emit(JSON.stringify({ type: 'earshot.input_cut', reason: 'link_lost' } satisfies LinkInputCut), false);
    } else {
      this.uplink.flush();
    }
  }

  /** Ends the provider session from the link's side (grace over, buffer full, unusable resume). */
  private endSession(reason: ResumeFailure): void {
    const session = this.session;
    this.finish(reason);
    session?.endWith(CloseCode.GoingAway, reason === 'expired' ? 'resume grace expired' : reason);
  }

  /** Frees everything the link holds, once. `reason`: a tombstone for the token (the link was away). */
  private finish(reason: ResumeFailure | null): void {
    if (this.ended) return;
    this.ended = true;
    this.stopTimers();
    if (this.graceTimer) clearTimeout(this.graceTimer);
    this.graceTimer = null;
    this.deps.registry.retire(this.token, reason);
    this.up.drop();
    this.down.drop();
    this.streams.clear();
    this.codec.close();
  }

  /**
   * A bug in the link's own handling (deliveries run from promise callbacks, where a throw would be an unhandled
   * rejection): this session ends with 1011, the relay goes on. Never throws.
   */
  private broke(err: unknown, where: string): void {
    try {
      this.deps.log.error({ err, session: this.session?.info.sessionId, where }, 'app link failed: unexpected error');
      this.up.drop();
      this.down.drop();
      this.session?.terminate(CloseCode.InternalError, 'internal_error', 'The relay hit an unexpected problem with this conversation and ended it. Start a new one.');
    } catch {
      // the session's own failure path has run or will; nothing more to do here
    }
  }

  /** The codec worker died: this session cannot go on (1011); the relay and other sessions do. */
  codecLost(): void {
    this.up.drop();
    this.down.drop();
    this.session?.terminate(CloseCode.InternalError, 'transcoder_failed', "The relay's audio transcoder failed. Start the conversation again.");
  }

  private stopTimers(): void {
    this.heartbeat.stop();
    if (this.tickTimer) clearInterval(this.tickTimer);
    this.tickTimer = null;
  }

  private parse<T>(frame: Frame): T | null {
    try {
      return JSON.parse(typeof frame === 'string' ? frame : Buffer.from(frame.buffer, frame.byteOffset, frame.byteLength).toString('utf8')) as T;
    } catch {
      return null;
    }
  }
}
