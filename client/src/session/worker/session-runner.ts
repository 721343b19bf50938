// The session lifecycle inside the session worker: token check, socket, reconnect with backoff, fresh session on
// expiry (carrying the conversation so far), and the glue between capture frames, the Conversation state machine
// and the playback feeder. Every I/O primitive is passed in, so Node tests drive it with a real `ws` socket.
import { SUBPROTOCOL, TOKEN_SUBPROTOCOL_PREFIX, type RejectBody, type SessionCheckBody } from '../../../../protocol/relay-http.ts';
import type { ClientEvent, ServerEvent } from '../../../../protocol/realtime.ts';
import { LEVEL_EVENT_HZ, MAX_SOCKET_BUFFERED_BYTES } from '../../audio/constants.ts';
import type { PlaybackToSession } from '../../audio/messages.ts';
import { decodeBase64 } from '../../dsp/base64.ts';
import { pcm16ToFloat } from '../../dsp/pcm16.ts';
import { backoffDelay } from './backoff.ts';
import { CaptureSender } from './capture-sender.ts';
import { Conversation, contextCarryEvent } from './conversation.ts';
import type { EngineError, EngineEvent, EngineSettings, EngineState } from '../engine-api.ts';
import { closeAction, rejectError, unreachableError } from '../errors.ts';
import type { PlaybackFeeder } from './playback-feeder.ts';
import { planSessionUpdate } from './session-update.ts';

/** The parts of a browser WebSocket the runner uses (also satisfied by the `ws` package in tests). */
export interface SocketLike {
  readonly readyState: number;
  readonly bufferedAmount: number;
  send(data: string): void;
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
}

export interface RunnerStartOptions {
  relayUrl: string;
  token: string;
  settings: EngineSettings;
}

const OPEN = 1;

export function relayUrls(relayUrl: string): { check: string; socket: string } {
  const base = new URL(relayUrl);
  const check = new URL('/api/session-check', base).toString();
  const socket = new URL('/v1/realtime', base);
  socket.protocol = base.protocol === 'https:' ? 'wss:' : 'ws:';
  return { check, socket: socket.toString() };
}

export class SessionRunner {
  private readonly deps: RunnerDeps;
  private readonly conversation: Conversation;
  private readonly capture: CaptureSender;
  private options: RunnerStartOptions | null = null;
  private socket: SocketLike | null = null;
  private retryTimer: unknown = null;
  private attempt = 0;
  private running = false;
  private muted = false;
  private policy: SessionCheckBody['policy'] | null = null;
  private lastLevelAt = 0;
  private inputLevel = 0;
  private outputLevel = 0;
  /** Bumped on every connect/stop so callbacks of a stale socket or check are ignored. */
  private generation = 0;
  stats = { appendsSent: 0, framesDropped: 0, reconnects: 0, sessions: 0 };

  constructor(deps: RunnerDeps) {
    this.deps = deps;
    this.capture = new CaptureSender(deps.contextRate);
    this.conversation = new Conversation(
      {
        send: (e) => this.send(e),
        emit: (e) => deps.emit(e),
        playback: deps.playback,
        now: () => deps.now(),
        onSessionExpired: () => this.renewSession(),
        decode: (b64) => pcm16ToFloat(decodeBase64(b64)),
      },
      'hands-free',
    );
  }

  start(options: RunnerStartOptions): void {
    this.options = options;
    this.running = true;
    this.attempt = 0;
    this.conversation.setMode(options.settings.mode);
    this.connect();
  }

  stop(): void {
    this.running = false;
    this.generation++;
    if (this.retryTimer !== null) this.deps.clearTimeout(this.retryTimer);
    this.retryTimer = null;
    this.closeSocket(1000, 'client stop');
    this.conversation.connectedChanged(false);
    this.setState({ kind: 'idle' });
  }

  setMuted(muted: boolean): void {
    this.muted = muted;
    this.deps.emit({ kind: 'muted', muted });
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

  setTalking(down: boolean): void {
    this.conversation.setTalking(down);
  }

  sendText(text: string): void {
    this.conversation.sendText(text);
  }

  /** A capture frame from the capture worklet (context rate). */
  onCaptureFrame(samples: Float32Array, rms: number): void {
    this.inputLevel = Math.max(this.inputLevel, rms);
    this.maybeEmitLevel();
    const capturing = this.isOpen() && !this.muted && this.conversation.capturing;
    const events = this.capture.onFrame(samples, rms, { capturing, assistantAudible: this.conversation.assistantAudible });
    for (const e of events) {
      if ((this.socket?.bufferedAmount ?? 0) > MAX_SOCKET_BUFFERED_BYTES) {
        this.stats.framesDropped++;
        continue;
      }
      this.send(e);
      this.stats.appendsSent++;
    }
  }

  onPlaybackReport(report: PlaybackToSession): void {
    this.deps.playback.onReport(report);
    switch (report.kind) {
      case 'started':
        this.conversation.onPlayback({ kind: 'started', itemId: report.itemId });
        break;
      case 'progress':
        this.outputLevel = Math.max(this.outputLevel, report.rms);
        this.conversation.onPlayback({ kind: 'progress', itemId: report.itemId, played: report.played, rate: this.deps.contextRate });
        break;
      case 'drained':
        this.conversation.onPlayback({ kind: 'drained', itemId: report.itemId });
        break;
      case 'flushed':
        this.conversation.onPlayback({ kind: 'flushed', items: report.items, rate: this.deps.contextRate });
        break;
      case 'underrun':
      case 'overflow':
        break;
    }
  }

  // ---- connection -----------------------------------------------------------------------------------------

  private isOpen(): boolean {
    return this.socket !== null && this.socket.readyState === OPEN;
  }

  private send(event: ClientEvent): void {
    if (this.isOpen()) this.socket!.send(JSON.stringify(event));
  }

  private setState(state: EngineState): void {
    this.deps.emit({ kind: 'state', state });
  }

  private fail(error: EngineError): void {
    this.running = false;
    this.generation++;
    this.closeSocket(1000, 'client error');
    this.conversation.connectedChanged(false);
    this.setState({ kind: 'error', error });
  }

  private closeSocket(code: number, reason: string): void {
    const socket = this.socket;
    this.socket = null;
    if (!socket) return;
    socket.onopen = socket.onmessage = socket.onclose = socket.onerror = null;
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
    if (this.attempt === 0) this.setState({ kind: 'connecting' });
    const urls = relayUrls(options.relayUrl);
    let body: SessionCheckBody;
    try {
      const res = await this.deps.fetch(urls.check, { headers: { Authorization: `Bearer ${options.token}` } });
      const json = (await res.json().catch(() => null)) as unknown;
      if (generation !== this.generation) return;
      if (res.status !== 200) {
        const code = (json as RejectBody | null)?.error?.code;
        const error = code ? rejectError(code) : unreachableError(`HTTP ${res.status}`);
        if (error.fatal) return this.fail(error);
        this.deps.emit({ kind: 'notice', error });
        return this.scheduleRetry();
      }
      body = json as SessionCheckBody;
    } catch (err) {
      if (generation !== this.generation) return;
      this.deps.emit({ kind: 'notice', error: unreachableError() });
      return this.scheduleRetry();
    }
    this.policy = body.policy;
    this.deps.emit({ kind: 'session', user: body.user, policy: body.policy, backend: body.backend });
    const socket = this.deps.openSocket(urls.socket, [SUBPROTOCOL, `${TOKEN_SUBPROTOCOL_PREFIX}${options.token}`]);
    this.socket = socket;
    socket.onmessage = (ev) => {
      if (generation !== this.generation) return;
      let event: ServerEvent;
      try {
        event = JSON.parse(String(ev.data)) as ServerEvent;
      } catch {
        return; // not JSON: nothing a person can act on
      }
      try {
        if (event.type === 'session.created') this.onSessionStarted();
        this.conversation.onServerEvent(event);
      } catch (err) {
        // A malformed event (e.g. corrupt base64 audio) is dropped; the conversation goes on.
        console.error('[session] server event', event.type, err);
      }
    };
    socket.onclose = (ev) => {
      if (generation !== this.generation) return;
      this.socket = null;
      this.conversation.connectedChanged(false);
      this.onClosed(ev.code);
    };
    socket.onerror = () => {
      // The close event follows with the code; nothing to do here.
    };
  }

  private onSessionStarted(): void {
    this.attempt = 0;
    this.stats.sessions++;
    this.sendSessionUpdate();
    const carry = contextCarryEvent(this.conversation.history());
    if (carry) this.send(carry);
    this.conversation.connectedChanged(true);
  }

  private sendSessionUpdate(): void {
    if (!this.options || !this.policy) return;
    const plan = planSessionUpdate(this.options.settings, this.policy);
    if (plan.event) this.send(plan.event);
    if (plan.refused.length > 0) {
      this.deps.emit({
        kind: 'notice',
        error: { reason: 'protocol_error', message: `This relay’s operator does not allow changing: ${plan.refused.join(', ')}.`, fatal: false },
      });
    }
  }

  private onClosed(code: number): void {
    if (!this.running) return;
    const action = closeAction(code);
    switch (action.kind) {
      case 'stop':
        return this.fail(action.error);
      case 'new-session':
        this.attempt = 0;
        return void this.connect();
      case 'reconnect':
        this.deps.emit({ kind: 'notice', error: action.error });
        return this.scheduleRetry();
    }
  }

  /** The provider said the session expired: open a fresh one now; the conversation's text goes with it. */
  private renewSession(): void {
    this.closeSocket(1000, 'session expired');
    this.conversation.connectedChanged(false);
    this.attempt = 0;
    void this.connect();
  }

  private scheduleRetry(): void {
    if (!this.running) return;
    this.attempt++;
    this.stats.reconnects++;
    const delay = backoffDelay(this.attempt, this.deps.random());
    this.setState({ kind: 'reconnecting', attempt: this.attempt, retryAt: this.deps.wallNow() + delay });
    this.retryTimer = this.deps.setTimeout(() => {
      this.retryTimer = null;
      void this.connect();
    }, delay);
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
