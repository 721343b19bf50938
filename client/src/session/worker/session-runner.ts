// The session lifecycle inside the session worker: token check, socket, the link's liveness and resume, reconnect
// (at once, then with backoff), a fresh session on expiry or a failed resume (carrying the conversation so far), and
// the glue between capture frames, the Conversation state machine and the playback feeder.
// Speaks earshot.v2 by default (Opus binary frames, heartbeat, numbered relay messages for resume;
// protocol/app-link.ts) and the verbatim v1 path (base64 JSON) when asked, for debugging.
// It is the one owner of EngineState once the worker is started: link state + the conversation's activity.
// Every I/O primitive is passed in, so Node tests drive it with a real `ws` socket and a fake clock.
import {
  decodeAppFrame,
  type AppTextToClient,
  type AppTextToRelay,
  type LinkCaptureClock,
  type LinkSession,
} from '../../../../protocol/app-link.ts';
import type { ClientEvent, ServerEvent } from '../../../../protocol/realtime.ts';
import { SUBPROTOCOL, type RejectBody, type SessionCheckBody } from '../../../../protocol/relay-http.ts';
import { FRAME_MS, LEVEL_EVENT_HZ, MAX_SOCKET_BUFFERED_BYTES } from '../../audio/constants.ts';
import type { PlaybackToSession } from '../../audio/messages.ts';
import { decodeBase64 } from '../../dsp/base64.ts';
import { pcm16ToFloat } from '../../dsp/pcm16.ts';
import { toDbfs } from '../../dsp/levels.ts';
import type { EngineError, EngineEvent, EngineSettings, EngineState, GuardTraceFrame, SessionStats } from '../engine-api.ts';
import { closeAction, rejectError, unreachableError } from '../errors.ts';
import type { GuardVerdict } from './barge-in-guard.ts';
import { EchoCoherence, isEchoCoherent } from './echo-coherence.ts';
import { EchoHistory, isEchoLike } from './echo-likeness.ts';
import { inEchoOnset, initialEchoOnset, playbackLevel, playbackStopped, type EchoOnsetState } from './echo-onset.ts';
import { CaptureSender } from './capture-sender.ts';
import { Conversation, contextCarryEvent, type Activity } from './conversation.ts';
import { DownStreams, trimDecoded } from './link/audio-down.ts';
import { LinkMonitor, linkQuality, type HeartbeatConfig, DEFAULT_HEARTBEAT } from './link/heartbeat.ts';
import { OrderedInbox } from './link/ordered-inbox.ts';
import { nextRetryDelayMs, SESSION_CHECK_TIMEOUT_MS, SOCKET_OPEN_TIMEOUT_MS } from './link/reconnect-policy.ts';
import { countsTowardAck, offeredProtocols, sessionOutcome, type CarryReason, type LinkVersion, type ResumeTicket } from './link/resume.ts';
import { SendQueue } from './link/send-queue.ts';
import { OpusUplink } from './opus-uplink.ts';
import type { OpusDecoderLike, OpusFactory } from './opus/opus-codec.ts';
import type { PlaybackFeeder } from './playback-feeder.ts';
import { planSessionUpdate, type VoiceState } from './session-update.ts';

/** Voice policy: once the assistant has spoken the provider keeps its voice, so a new one waits for the next conversation. */
const VOICE_NEXT_TIME = 'The new voice applies to your next conversation: the assistant keeps its voice once it has spoken.';

/** The parts of a browser WebSocket the runner uses (also satisfied by the `ws` package in tests). */
export interface SocketLike {
  readonly readyState: number;
  readonly bufferedAmount: number;
  /** The subprotocol the relay chose. */
  readonly protocol: string;
  binaryType: string;
  send(data: string | Uint8Array): void;
  close(code?: number, reason?: string): void;
  onopen: ((ev: unknown) => void) | null;
  onmessage: ((ev: { data: unknown }) => void) | null;
  onclose: ((ev: { code: number; reason: string }) => void) | null;
  onerror: ((ev: unknown) => void) | null;
}

export interface RunnerDeps {
  fetch: (url: string, init: { headers: Record<string, string>; signal?: AbortSignal }) => Promise<{ status: number; json(): Promise<unknown> }>;
  openSocket(url: string, protocols: string[]): SocketLike;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
  random(): number;
  /** Monotonic ms (performance.now). */
  now(): number;
  /** Wall clock ms (Date.now), for `retryAt`. */
  wallNow(): number;
  emit(event: EngineEvent): void;
  playback: PlaybackFeeder;
  contextRate: number;
  /** The Opus engine for v2 (null: v1 only). */
  opus: OpusFactory | null;
  heartbeat?: HeartbeatConfig;
}

export interface RunnerStartOptions {
  relayUrl: string;
  token: string;
  settings: EngineSettings;
}

const OPEN = 1;
/** How often the heartbeat is looked at: a dead link is declared within LINK_DEAD_MS + this. */
const LINK_TICK_MS = 250;
/**
 * v2 audio waits in the time-bounded send queue, not in the socket: hand the socket a frame only while it has less
 * than this unsent (≈ 300 ms of 24 kbit/s Opus plus headers), so a stall leaves stale audio where it can be dropped.
 */
const UP_SOCKET_BUFFER_BYTES = 1500;
/** Underruns in this window make the link read as fair/poor. */
const UNDERRUN_WINDOW_MS = 60_000;
/** A custom close code for "the heartbeat says this link is dead" (4000–4999 are the application's). */
const CLOSE_LINK_DEAD = 4100;

type LinkState = 'idle' | 'connecting' | 'open' | 'lost' | 'failed';

/** Relay input after decoding, in arrival order (see OrderedInbox). */
type InboxItem = { kind: 'event'; event: ServerEvent } | { kind: 'audio'; itemId: string; pcm: Float32Array };

export function relayUrls(relayUrl: string): { check: string; socket: string } {
  const base = new URL(relayUrl);
  const check = new URL('/api/session-check', base).toString();
  const socket = new URL('/v1/realtime', base);
  socket.protocol = base.protocol === 'https:' ? 'wss:' : 'ws:';
  return { check, socket: socket.toString() };
}

function sameState(a: EngineState | null, b: EngineState): boolean {
  if (a === null || a.kind !== b.kind) return false;
  if (a.kind === 'reconnecting' && b.kind === 'reconnecting') return a.attempt === b.attempt && a.retryAt === b.retryAt;
  if (a.kind === 'error' && b.kind === 'error') return a.error === b.error;
  return true;
}

export class SessionRunner {
  private readonly deps: RunnerDeps;
  private readonly conversation: Conversation;
  private readonly capture: CaptureSender;
  private uplink: OpusUplink | null = null;
  private decoder: OpusDecoderLike | null = null;
  /** Trim/gap instructions of packets at the decoder, in submission order. */
  private readonly decoding: Array<{ itemId: string; samples: number; gapSamples: number }> = [];
  private readonly inbox: OrderedInbox<InboxItem>;
  private readonly streams = new DownStreams();
  private readonly sendQueue = new SendQueue();
  /** A hold-to-talk release waiting for the encoder's last packets; the client events meanwhile wait with it. */
  private releasing: { events: ClientEvent[]; pressAgain: boolean } | null = null;
  private readonly monitor: LinkMonitor;
  private options: RunnerStartOptions | null = null;
  /** The link version asked for (settings), and the one the relay chose for the current socket. */
  private version: LinkVersion = 'v2';
  private wire: LinkVersion = 'v2';
  private socket: SocketLike | null = null;
  private retryTimer: unknown = null;
  private tickTimer: unknown = null;
  /** Gives up a socket that has not opened in SOCKET_OPEN_TIMEOUT_MS. */
  private openTimer: unknown = null;
  /**
   * A resume goes straight to the WebSocket (the ticket and the policy are known; the HTTP check would cost a round
   * trip and may sit on a keep-alive connection that died with the link). Set when a try was refused before the
   * socket opened (e.g. a revoked token): the next try asks the session check, which says why in words.
   */
  private checkNext = false;
  private attempt = 0;
  private running = false;
  private link: LinkState = 'idle';
  private policy: SessionCheckBody['policy'] | null = null;
  /** The provider session's voice and whether it is locked (session-update.ts VoiceState). */
  private voice: VoiceState = { current: '', locked: false };
  private voiceBeforeUpdate = '';
  /** v2: the session a dropped link may resume, and how many relay messages arrived on it. */
  private ticket: ResumeTicket | null = null;
  private received = 0;
  private askedToResume = false;
  /** Why the next fresh session carries the conversation's text (null: it does not). */
  private renewing: CarryReason | null = null;
  private carryPending: CarryReason | null = null;
  private lastState: EngineState | null = null;
  private lastLevelAt = 0;
  private inputLevel = 0;
  private outputLevel = 0;
  /** Worker time of capture-clock 0, estimated from frame arrivals (earliest in a window: arrival only adds delay). */
  private captureEpoch = Number.POSITIVE_INFINITY;
  /** The capture clock now: the end of the newest frame captured (ms), what the send queue measures staleness by. */
  private captureNowMs = 0;
  private epochWindowMin = Number.POSITIVE_INFINITY;
  private epochWindowFrames = 0;
  private underrunTimes: number[] = [];
  private jitterMs = 0;
  /** Bumped on every connect/stop so callbacks of a stale socket or check are ignored. */
  private generation = 0;
  stats: SessionStats;
  /** settings.guardTrace (the acoustic bench): one record per capture frame, until takeGuardTrace empties it. */
  private guardTrace: GuardTraceFrame[] = [];
  /** The playback worklet's last reported output RMS (the guard trace records it beside each capture frame). */
  private lastPlayRms = 0;
  /** Voice onsets in what the app played: the guard asks for more while their echo may still be unremoved. */
  private echoOnset: EchoOnsetState = initialEchoOnset;
  /** Capture and playback levels per capture frame: whether the capture follows what was played (echo-likeness.ts). */
  private readonly echoHistory = new EchoHistory();
  /** The exact samples played against the capture: whether the capture is their echo (echo-coherence.ts). */
  private readonly echoCoherence: EchoCoherence;

  constructor(deps: RunnerDeps) {
    this.deps = deps;
    this.monitor = new LinkMonitor(deps.heartbeat ?? DEFAULT_HEARTBEAT);
    this.capture = new CaptureSender(deps.contextRate);
    this.echoCoherence = new EchoCoherence(deps.contextRate);
    // Every sample handed to the playback worklet, copied (decimated) before it is transferred.
    deps.playback.onSent = (samples) => this.echoCoherence.queued(samples);
    this.stats = {
      appendsSent: 0,
      framesDropped: 0,
      reconnects: 0,
      sessions: 0,
      resumes: 0,
      framesReceived: 0,
      meanFrameHandlingMs: 0,
      link: 'v2',
      opus: deps.opus?.engine ?? null,
      dtxSkipped: 0,
      upBlocks: 0,
      upPackets: 0,
      upUnmatched: 0,
      bytesSent: 0,
      bytesReceived: 0,
      received: 0,
      underruns: 0,
    };
    this.inbox = new OrderedInbox<InboxItem>((item) => this.deliver(item));
    this.conversation = new Conversation(
      {
        send: (e) => this.sendEvent(e),
        emit: (e) => deps.emit(e),
        playback: deps.playback,
        now: () => deps.now(),
        onSessionExpired: () => this.renewSession(),
        activityChanged: () => this.publishState(),
        decode: (b64) => pcm16ToFloat(decodeBase64(b64)),
      },
      'hands-free',
    );
  }

  start(options: RunnerStartOptions): void {
    this.options = options;
    this.version = options.settings.link === 'v1' || !this.deps.opus ? 'v1' : 'v2';
    this.wire = this.version;
    this.stats.link = this.version;
    this.running = true;
    this.attempt = 0;
    this.ticket = null;
    this.renewing = null;
    // The main thread announced `connecting` when start was called; from here this runner owns the state.
    this.lastState = { kind: 'connecting' };
    this.link = 'connecting';
    this.conversation.setMode(options.settings.mode);
    if (this.version === 'v2' && this.deps.opus) {
      this.uplink ??= new OpusUplink(this.deps.contextRate, this.deps.opus, (packet) => {
        // Audio the encoder finishes after endTurn() was heard before it: it must not follow the clear upstream.
        if (this.conversation.isListeningHeld) return;
        this.sendQueue.push(packet);
        this.pumpAudio();
      });
      this.decoder ??= this.deps.opus.createDecoder({
        onPcm: (pcm) => this.onDecoded(pcm),
        onError: (err) => console.error('[session] opus decode', err),
      });
    }
    this.connect();
  }

  stop(): void {
    this.running = false;
    this.generation++;
    this.clearTimers();
    this.closeSocket(1000, 'client stop');
    this.conversation.sessionEnded();
    this.ticket = null;
    this.inbox.clear();
    this.decoding.length = 0;
    this.sendQueue.clear();
    this.releasing = null;
    this.uplink?.close();
    this.uplink = null;
    this.decoder?.close();
    this.decoder = null;
    // `idle` is announced by the main thread once the whole audio graph is down.
    this.link = 'idle';
    this.lastState = null;
  }

  configure(settings: Partial<EngineSettings>): void {
    if (!this.options) return;
    this.options = { ...this.options, settings: { ...this.options.settings, ...settings } };
    if (settings.mode !== undefined) this.conversation.setMode(settings.mode);
    if (this.isOpen()) this.sendSessionUpdate();
  }

  interrupt(): void {
    this.conversation.interrupt();
  }

  resumeListening(): void {
    this.conversation.resumeListening();
  }

  endTurn(): void {
    // A hold-to-talk release still waiting for the encoder would commit after this clear: it is dropped too.
    this.releasing = null;
    // Audio still queued here would reach the provider after the clear and start the very turn being ended.
    this.sendQueue.clear();
    this.conversation.endTurn();
  }

  setTalking(down: boolean): void {
    // A press while the last release waits for the encoder (a few ms) is applied after it, so its clear cannot
    // overtake that commit.
    if (this.releasing) {
      this.releasing.pressAgain = down;
      return;
    }
    if (!down && this.uplink && this.wire === 'v2' && this.conversation.holding) return this.releaseHold(this.uplink);
    this.conversation.setTalking(down);
  }

  /**
   * Let go of hold-to-talk on earshot.v2: the commit must commit the whole hold, but the last held blocks are still
   * in the encoder (WebCodecs answers asynchronously) or the send queue when the button comes up. So the
   * conversation's commit and response.create wait until the encoder has delivered every held packet, then go into
   * the send queue behind them (SendQueue.pushText): the relay sees the hold's audio, then the commit.
   */
  private releaseHold(uplink: OpusUplink): void {
    const release = { events: [] as ClientEvent[], pressAgain: false };
    this.releasing = release;
    const encoded = uplink.endHold();
    this.conversation.setTalking(false); // its events land in release.events (sendEvent)
    void encoded
      .catch((err: unknown) => console.error('[session] opus flush', err))
      .then(() => {
        if (this.releasing !== release) return; // stopped, or a fresh session: the turn died with the old one
        this.releasing = null;
        for (const event of release.events) this.sendQueue.pushText(JSON.stringify(event));
        this.pumpAudio();
        if (release.pressAgain) this.conversation.setTalking(true);
      });
  }

  sendText(text: string): void {
    this.conversation.sendText(text);
  }

  /** The browser says the network came back or went away (`online`/`offline` on the worker's global). */
  networkChanged(online: boolean): void {
    if (!this.running) return;
    if (!online) {
      // No network at all: this link cannot be alive, whatever the socket says.
      if (this.socket) this.linkLost(CLOSE_LINK_DEAD, 'offline');
      return;
    }
    if (this.retryTimer !== null) {
      this.deps.clearTimeout(this.retryTimer);
      this.retryTimer = null;
      void this.connect();
    }
  }

  /** A capture frame from the capture worklet (context rate). `index` is its number on the capture clock. */
  onCaptureFrame(samples: Float32Array, rms: number, index: number): void {
    this.noteCaptureClock(index);
    this.captureNowMs = (index + 1) * FRAME_MS;
    this.inputLevel = Math.max(this.inputLevel, rms);
    this.maybeEmitLevel();
    // With the guard off (the acoustic bench only) it is told the assistant is never audible, so it passes everything.
    const assistantAudible = this.options?.settings.bargeInGuard !== false && this.conversation.assistantAudible;
    // The guard asks for more where the frame may be unremoved echo: just after a voice onset in the playback, or
    // whenever the capture's level follows the playback's (a canceller re-diverging mid-reply; echo-likeness.ts).
    this.echoHistory.push(toDbfs(rms), toDbfs(this.lastPlayRms));
    const echoLike = assistantAudible && isEchoLike(this.echoHistory.score());
    const echoOnset = assistantAudible && (inEchoOnset(this.echoOnset, this.deps.now()) || echoLike);
    // And a frame explained by the exact samples just played is echo however loud: it never counts toward opening
    // (over steady playback too, where the level envelopes cannot tell a re-diverging canceller from a word).
    this.echoCoherence.capture(samples);
    const coherence = assistantAudible ? this.echoCoherence.score() : Number.NaN;
    const echoCoherent = isEchoCoherent(coherence);
    if (this.wire === 'v2' && this.uplink) {
      // While a dropped link may resume, keep capturing into the time-bounded queue: the freshest audio goes out first.
      const linkUsable = this.isOpen() || (this.ticket !== null && this.link === 'lost');
      const capturing = linkUsable && this.conversation.wantsAudio;
      this.uplink.onFrame(samples, rms, index, { capturing, assistantAudible, echoOnset, echoCoherent, held: this.conversation.holding });
      this.traceGuard(rms, assistantAudible, echoOnset, echoLike, coherence, this.uplink.lastVerdict);
      this.stats.dtxSkipped = this.uplink.dtxSkipped;
      this.stats.upBlocks = this.uplink.blocksIn;
      this.stats.upPackets = this.uplink.packetsFromEncoder;
      this.stats.upUnmatched = this.uplink.unmatched;
      return;
    }
    const capturing = this.isOpen() && this.conversation.wantsAudio;
    const events = this.capture.onFrame(samples, rms, { capturing, assistantAudible, echoOnset, echoCoherent });
    this.traceGuard(rms, assistantAudible, echoOnset, echoLike, coherence, this.capture.lastVerdict);
    for (const e of events) {
      if ((this.socket?.bufferedAmount ?? 0) > MAX_SOCKET_BUFFERED_BYTES) {
        this.stats.framesDropped++;
        continue;
      }
      this.sendEvent(e);
      this.stats.appendsSent++;
    }
  }

  takeGuardTrace(): GuardTraceFrame[] {
    const taken = this.guardTrace;
    this.guardTrace = [];
    return taken;
  }

  private traceGuard(rms: number, audible: boolean, onset: boolean, echoLike: boolean, coherence: number, verdict: GuardVerdict | null): void {
    if (!this.options?.settings.guardTrace) return;
    // Bounded (10 min of frames) in case nobody reads it.
    if (this.guardTrace.length >= 30_000) this.guardTrace.shift();
    this.guardTrace.push({ at: this.deps.wallNow(), db: Math.round(toDbfs(rms) * 10) / 10, audible, verdict: verdict ?? 'idle', onset, echoLike, playDb: Math.round(toDbfs(this.lastPlayRms) * 10) / 10, coherence: Number.isNaN(coherence) ? null : Math.round(coherence * 100) / 100, coherent: isEchoCoherent(coherence) });
  }

  onPlaybackReport(report: PlaybackToSession): void {
    this.deps.playback.onReport(report);
    switch (report.kind) {
      case 'started':
        this.conversation.onPlayback({ kind: 'started', itemId: report.itemId });
        break;
      case 'progress':
        this.outputLevel = Math.max(this.outputLevel, report.rms);
        this.lastPlayRms = report.rms;
        this.echoCoherence.playedUpTo(report.taken, report.frame);
        this.echoOnset = playbackLevel(this.echoOnset, toDbfs(report.rms), this.deps.now());
        this.jitterMs = report.jitterMs;
        this.conversation.onPlayback({ kind: 'progress', itemId: report.itemId, played: report.played, rate: this.deps.contextRate });
        break;
      case 'drained':
        this.lastPlayRms = 0;
        this.echoCoherence.playedUpTo(report.taken, null);
        this.echoOnset = playbackStopped(this.echoOnset);
        this.conversation.onPlayback({ kind: 'drained', itemId: report.itemId });
        break;
      case 'flushed':
        this.lastPlayRms = 0;
        this.echoCoherence.discarded(report.taken);
        this.echoOnset = playbackStopped(this.echoOnset);
        this.conversation.onPlayback({ kind: 'flushed', items: report.items, rate: this.deps.contextRate });
        break;
      case 'underrun':
        this.stats.underruns = report.count;
        this.jitterMs = report.jitterMs;
        this.underrunTimes.push(this.deps.now());
        this.emitHealth();
        break;
      case 'overflow':
        break;
    }
  }

  // ---- state ----------------------------------------------------------------------------------------------

  private setLink(link: LinkState, state?: EngineState): void {
    this.link = link;
    this.publishState(state);
  }

  /** The one place EngineState is produced: the link's state, or the conversation's activity while the link is up. */
  private publishState(explicit?: EngineState): void {
    let next: EngineState;
    if (explicit) next = explicit;
    else if (this.link === 'open') next = { kind: this.conversation.activity satisfies Activity };
    else if (this.link === 'idle') next = { kind: 'idle' };
    else if (this.link === 'connecting') next = { kind: 'connecting' };
    else return; // 'lost' and 'failed' always come with an explicit state
    if (sameState(this.lastState, next)) return;
    this.lastState = next;
    this.deps.emit({ kind: 'state', state: next });
  }

  // ---- connection -----------------------------------------------------------------------------------------

  private isOpen(): boolean {
    return this.socket !== null && this.socket.readyState === OPEN && this.link === 'open';
  }

  private sendRaw(data: string | Uint8Array): void {
    const socket = this.socket;
    if (!socket || socket.readyState !== OPEN) return;
    socket.send(data);
    this.stats.bytesSent += typeof data === 'string' ? data.length : data.byteLength;
  }

  private sendEvent(event: ClientEvent): void {
    if (this.releasing) {
      this.releasing.events.push(event);
      return;
    }
    if (!this.isOpen()) return;
    this.sendRaw(JSON.stringify(event));
  }

  private sendControl(event: AppTextToRelay): void {
    this.sendRaw(JSON.stringify(event));
  }

  private pumpAudio(): void {
    if (!this.isOpen()) return;
    const socket = this.socket!;
    this.stats.appendsSent += this.sendQueue.drain(
      this.captureNowMs,
      () => socket.bufferedAmount < UP_SOCKET_BUFFER_BYTES,
      (frame) => this.sendRaw(frame),
    );
    this.stats.framesDropped = this.sendQueue.dropped;
  }

  private fail(error: EngineError): void {
    this.running = false;
    this.generation++;
    this.clearTimers();
    this.closeSocket(1000, 'client error');
    this.conversation.sessionEnded();
    this.releasing = null;
    this.ticket = null;
    this.setLink('failed', { kind: 'error', error });
  }

  private clearTimers(): void {
    if (this.retryTimer !== null) this.deps.clearTimeout(this.retryTimer);
    if (this.tickTimer !== null) this.deps.clearTimeout(this.tickTimer);
    this.retryTimer = this.tickTimer = null;
    this.clearOpenTimer();
  }

  private closeSocket(code: number, reason: string): void {
    const socket = this.socket;
    this.socket = null;
    if (this.tickTimer !== null) this.deps.clearTimeout(this.tickTimer);
    this.tickTimer = null;
    this.clearOpenTimer();
    if (!socket) return;
    socket.onopen = socket.onmessage = socket.onclose = null;
    // Not null: closing a socket that is still connecting reports an error, which must find a listener (ws).
    socket.onerror = () => undefined;
    try {
      socket.close(code, reason);
    } catch {
      // already closed
    }
  }

  private async connect(): Promise<void> {
    const options = this.options;
    if (!options || !this.running) return;
    const generation = ++this.generation;
    if (this.attempt === 0 && this.link !== 'lost') this.setLink('connecting');
    const urls = relayUrls(options.relayUrl);
    const resumeOnly = this.version === 'v2' && this.ticket !== null && this.policy !== null && !this.checkNext;
    if (!resumeOnly) {
      const body = await this.sessionCheck(urls.check, options.token, generation);
      if (generation !== this.generation) return;
      if (body === null) return this.scheduleRetry();
      this.policy = body.policy;
      this.deps.emit({ kind: 'session', user: body.user, policy: body.policy, backend: body.backend });
    }
    this.checkNext = false;
    this.wire = this.version;
    const resume = this.version === 'v2' ? this.ticket : null;
    this.askedToResume = resume !== null;
    const socket = this.deps.openSocket(urls.socket, offeredProtocols(this.version, options.token, resume ? { ...resume, received: this.received } : null));
    socket.binaryType = 'arraybuffer';
    this.socket = socket;
    let opened = false;
    this.openTimer = this.deps.setTimeout(() => {
      this.openTimer = null;
      if (generation !== this.generation || opened) return;
      this.linkLost(CLOSE_LINK_DEAD, 'connect timeout');
    }, SOCKET_OPEN_TIMEOUT_MS);
    socket.onopen = () => {
      if (generation !== this.generation) return;
      opened = true;
      this.clearOpenTimer();
      this.monitor.opened(this.deps.now());
      // A relay that does not know earshot.v2 picks the earshot.v1 offered after it: speak v1 on this link.
      this.wire = this.version === 'v2' && socket.protocol === SUBPROTOCOL ? 'v1' : this.version;
      this.stats.link = this.wire;
      if (this.wire === 'v2') this.scheduleTick(generation);
    };
    socket.onmessage = (ev) => {
      if (generation !== this.generation) return;
      try {
        this.onSocketMessage(ev.data);
      } catch (err) {
        // A malformed frame is dropped; the conversation goes on.
        console.error('[session] relay message', err);
      }
    };
    socket.onclose = (ev) => {
      if (generation !== this.generation) return;
      this.socket = null;
      this.clearOpenTimer();
      // Closed before it ever opened (not by our timeout: that bumps the generation): the relay refused the upgrade.
      if (!opened) this.checkNext = true;
      this.onClosed(ev.code);
    };
    socket.onerror = () => {
      // The close event follows with the code; nothing to do here.
    };
  }

  /** GET /api/session-check: the body, or null after telling the person why this try failed (or failing for good). */
  private async sessionCheck(url: string, token: string, generation: number): Promise<SessionCheckBody | null> {
    const abort = new AbortController();
    const timer = this.deps.setTimeout(() => abort.abort(), SESSION_CHECK_TIMEOUT_MS);
    try {
      const res = await this.deps.fetch(url, { headers: { Authorization: `Bearer ${token}` }, signal: abort.signal });
      const json = (await res.json().catch(() => null)) as unknown;
      if (generation !== this.generation) return null;
      if (res.status !== 200) {
        const code = (json as RejectBody | null)?.error?.code;
        const error = code ? rejectError(code) : unreachableError(`HTTP ${res.status}`);
        if (error.fatal) {
          this.fail(error);
          return null;
        }
        this.deps.emit({ kind: 'notice', error });
        return null;
      }
      return json as SessionCheckBody;
    } catch {
      if (generation === this.generation) this.deps.emit({ kind: 'notice', error: unreachableError() });
      return null;
    } finally {
      this.deps.clearTimeout(timer);
    }
  }

  private clearOpenTimer(): void {
    if (this.openTimer !== null) this.deps.clearTimeout(this.openTimer);
    this.openTimer = null;
  }

  private onSocketMessage(data: unknown): void {
    const now = this.deps.now();
    this.monitor.received(now);
    if (typeof data !== 'string') {
      const bytes = data instanceof ArrayBuffer ? new Uint8Array(data) : ArrayBuffer.isView(data) ? new Uint8Array(data.buffer, data.byteOffset, data.byteLength) : null;
      if (!bytes) return;
      this.stats.bytesReceived += bytes.byteLength;
      this.received++;
      this.onBinary(bytes);
      return;
    }
    this.stats.bytesReceived += data.length;
    let event: AppTextToClient | ServerEvent;
    try {
      event = JSON.parse(data) as AppTextToClient;
    } catch {
      if (this.wire === 'v2') this.received++;
      return; // not JSON: nothing a person can act on
    }
    if (this.wire === 'v1') {
      this.inbox.push({ kind: 'event', event: event as ServerEvent });
      return;
    }
    if (countsTowardAck(event)) this.received++;
    this.stats.received = this.received;
    switch (event.type) {
      case 'earshot.ping':
        this.sendControl({ type: 'earshot.pong', id: event.id, t: event.t, ack: this.received });
        return;
      case 'earshot.pong':
        if (this.monitor.pong(event, now) !== null) this.emitHealth();
        return;
      case 'earshot.session':
        this.onLinkSession(event);
        return;
      case 'earshot.audio.stream':
        this.streams.announce(event);
        return;
      case 'earshot.capture_clock':
        this.onCaptureClock(event);
        return;
      case 'earshot.input_cut':
        this.conversation.inputCut();
        return;
      default:
        this.inbox.push({ kind: 'event', event: event as ServerEvent });
    }
  }

  private onBinary(bytes: Uint8Array): void {
    const frame = decodeAppFrame(bytes);
    if (!frame.ok || frame.header.kind !== 2) return; // only AudioDown flows this way
    const verdict = this.streams.accept(frame.header);
    if (verdict.kind === 'drop' || !this.decoder) return;
    this.inbox.reserve();
    this.decoding.push({ itemId: verdict.itemId, samples: verdict.samples, gapSamples: verdict.gapSamples });
    // MUST copy: the payload is a view into the socket's buffer, and the decoder may hold it past this call.
    this.decoder.decode(frame.payload.slice());
  }

  private onDecoded(pcm: Float32Array): void {
    const meta = this.decoding.shift();
    if (!meta) return;
    this.inbox.fill({ kind: 'audio', itemId: meta.itemId, pcm: trimDecoded(pcm, meta.samples, meta.gapSamples) });
  }

  private deliver(item: InboxItem): void {
    try {
      if (item.kind === 'audio') {
        this.voice.locked = true;
        return this.conversation.onAssistantAudio(item.itemId, item.pcm);
      }
      if (item.event.type === 'session.created') this.onProviderSession();
      if (item.event.type === 'response.output_audio.delta') this.voice.locked = true;
      if (item.event.type === 'error' && item.event.error.code === 'cannot_update_voice') {
        // The provider kept the old voice (it had spoken already, perhaps before this app knew): say so, and
        // send the new one only to the next conversation.
        this.voice = { current: this.voiceBeforeUpdate, locked: true };
        this.deps.emit({ kind: 'notice', error: { reason: 'protocol_error', message: VOICE_NEXT_TIME, fatal: false } });
        return;
      }
      this.conversation.onServerEvent(item.event);
    } catch (err) {
      // A malformed event (e.g. corrupt base64 audio) is dropped; the conversation goes on.
      console.error('[session] server event', item.kind === 'event' ? item.event.type : 'audio', err);
    }
  }

  /** earshot.v2: message 1 of every link. Decides between going on and starting over. */
  private onLinkSession(session: LinkSession): void {
    const outcome = sessionOutcome(session, this.askedToResume, this.renewing);
    this.ticket = { resumeToken: session.resume_token, received: 0 };
    this.attempt = 0;
    if (outcome.kind === 'resumed') {
      this.stats.resumes++;
      this.link = 'open';
      this.conversation.linkUp();
      this.publishState();
      this.pumpAudio();
      return;
    }
    // A fresh provider session: what was in flight is gone; numbering starts again with this message.
    this.received = 1;
    this.stats.received = 1;
    if (this.askedToResume || this.renewing) this.conversation.sessionEnded();
    this.streams.reset();
    this.sendQueue.clear();
    this.releasing = null;
    this.carryPending = outcome.carry;
    this.renewing = null;
    if (outcome.notice) this.deps.emit({ kind: 'notice', error: { reason: 'relay_unreachable', message: outcome.notice, fatal: false } });
  }

  /** The provider's session.created: configure it and carry the conversation in if this one replaces another. */
  private onProviderSession(): void {
    this.attempt = 0;
    // A fresh provider session speaks with the voice the Earshot server gave it and has not spoken yet.
    if (this.policy) this.voice = { current: this.policy.voice, locked: false };
    this.stats.sessions++;
    this.link = 'open';
    this.sendSessionUpdate();
    const reason = this.wire === 'v2' ? this.carryPending : this.renewing;
    const carry = reason ? contextCarryEvent(this.conversation.history(), reason) : null;
    if (carry) this.sendEvent(carry);
    this.carryPending = null;
    this.renewing = null;
    this.conversation.linkUp();
    this.publishState();
    this.pumpAudio();
  }

  private onCaptureClock(event: LinkCaptureClock): void {
    if (event.event !== 'input_audio_buffer.speech_stopped' || !Number.isFinite(this.captureEpoch)) return;
    this.conversation.speechStoppedAt(this.captureEpoch + event.capture_ms);
  }

  private sendSessionUpdate(): void {
    if (!this.options || !this.policy) return;
    const plan = planSessionUpdate(this.options.settings, this.policy, this.voice);
    if (plan.event) this.sendEvent(plan.event);
    if (plan.voice !== undefined) {
      this.voiceBeforeUpdate = this.voice.current;
      this.voice = { ...this.voice, current: plan.voice };
    }
    if (plan.voiceDeferred) this.deps.emit({ kind: 'notice', error: { reason: 'protocol_error', message: VOICE_NEXT_TIME, fatal: false } });
    if (plan.refused.length > 0) {
      this.deps.emit({
        kind: 'notice',
        error: { reason: 'protocol_error', message: `Whoever runs your Earshot server does not allow changing: ${plan.refused.join(', ')}.`, fatal: false },
      });
    }
  }

  private scheduleTick(generation: number): void {
    this.tickTimer = this.deps.setTimeout(() => {
      this.tickTimer = null;
      if (generation !== this.generation || !this.socket) return;
      const now = this.deps.now();
      const tick = this.monitor.tick(now);
      if (tick.kind === 'dead') return this.linkLost(CLOSE_LINK_DEAD, 'link dead');
      if (tick.kind === 'ping') this.sendControl({ type: 'earshot.ping', id: tick.id, t: tick.t, ack: this.received });
      this.pumpAudio();
      this.scheduleTick(generation);
    }, LINK_TICK_MS);
  }

  /** The heartbeat (or the browser) says this link is dead: drop it and reconnect, offering to resume. */
  private linkLost(code: number, reason: string): void {
    this.generation++;
    this.closeSocket(code, reason);
    this.onClosed(1006);
  }

  private onClosed(code: number): void {
    if (!this.running) return;
    const action = closeAction(code);
    switch (action.kind) {
      case 'stop':
        return this.fail(action.error);
      case 'new-session':
        this.ticket = null;
        this.renewing = 'time_limit';
        this.conversation.sessionEnded();
        this.releasing = null;
        this.attempt = 0;
        return void this.connect();
      case 'reconnect':
        if (this.wire === 'v2' && this.ticket !== null) this.conversation.linkDown();
        else {
          this.conversation.sessionEnded();
          this.releasing = null;
          this.ticket = null;
        }
        this.link = 'lost';
        if (code !== 1006 && code !== CLOSE_LINK_DEAD) this.deps.emit({ kind: 'notice', error: action.error });
        return this.scheduleRetry();
    }
  }

  /** The provider said the session expired: open a fresh one now; the conversation's text goes with it. */
  private renewSession(): void {
    this.generation++;
    this.closeSocket(1000, 'session expired');
    this.conversation.sessionEnded();
    this.releasing = null;
    this.ticket = null;
    this.renewing = 'time_limit';
    this.attempt = 0;
    void this.connect();
  }

  /** Try again at once on the first attempt, then as reconnect-policy.ts says (close together while resuming). */
  private scheduleRetry(): void {
    if (!this.running) return;
    this.attempt++;
    this.stats.reconnects++;
    const delay = nextRetryDelayMs({ attempt: this.attempt, resuming: this.wire === 'v2' && this.ticket !== null, random: this.deps.random() });
    this.link = 'lost';
    this.publishState({ kind: 'reconnecting', attempt: this.attempt, retryAt: this.deps.wallNow() + delay });
    this.retryTimer = this.deps.setTimeout(() => {
      this.retryTimer = null;
      void this.connect();
    }, delay);
  }

  private noteCaptureClock(index: number): void {
    const estimate = this.deps.now() - (index + 1) * FRAME_MS;
    this.epochWindowMin = Math.min(this.epochWindowMin, estimate);
    this.captureEpoch = Math.min(this.captureEpoch, estimate);
    // Re-base every ~5 s so the audio clock's drift against performance.now() cannot accumulate.
    if (++this.epochWindowFrames >= 250) {
      this.captureEpoch = this.epochWindowMin;
      this.epochWindowMin = Number.POSITIVE_INFINITY;
      this.epochWindowFrames = 0;
    }
  }

  private emitHealth(): void {
    const now = this.deps.now();
    this.underrunTimes = this.underrunTimes.filter((t) => now - t < UNDERRUN_WINDOW_MS);
    const rttMs = this.monitor.rttMs;
    const quality = linkQuality({ rttMs, pingLoss: this.monitor.pingLoss(now), recentUnderruns: this.underrunTimes.length });
    this.deps.emit({ kind: 'link', health: { rttMs: rttMs === null ? null : Math.round(rttMs), quality, underruns: this.stats.underruns, jitterMs: this.jitterMs } });
  }

  private maybeEmitLevel(): void {
    const now = this.deps.now();
    if (now - this.lastLevelAt < 1000 / LEVEL_EVENT_HZ) return;
    this.lastLevelAt = now;
    // Map RMS to 0..1 on a dB scale (-60 dBFS -> 0, 0 dBFS -> 1): speech sits in the middle, not at the bottom.
    const scale = (rms: number) => Math.max(0, Math.min(1, 1 + (20 * Math.log10(Math.max(rms, 1e-6))) / 60));
    this.deps.emit({ kind: 'level', input: scale(this.inputLevel), output: scale(this.outputLevel) });
    this.inputLevel = 0;
    this.outputLevel = 0;
  }
}

