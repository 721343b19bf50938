// One relay session: a client uWS socket on one side, an Upstream on the other. Client frames pass the event
// gate (../policy/event-gate.ts): plain audio appends go verbatim, every other event as the checked, re-serialised
// object. Server frames pass verbatim; only small control events are parsed. Backpressure: a slow client pauses
// the upstream, and past a hard limit the session closes; a client flooding the relay hits rate and size limits.
// A bug while handling one frame ends this session with 1011 and a log line, never the relay (issue 11).
//
// Lifetime rules (uWS): the socket MUST NOT be touched after its close handler ran — every send goes through
// `toClient`, which checks `clientOpen`. Message ArrayBuffers MUST be copied before the handler returns.
import { CloseCode } from '../../../protocol/close-codes.ts';
import { assertNever } from '../../../protocol/realtime.ts';
import type { AppLink } from '../app-link/app-link.ts';
import type { RelayConfig } from '../config/config.ts';
import type { Metrics } from '../http/metrics.ts';
import type { Logger } from '../log.ts';
import { ClientEventGate } from '../policy/event-gate.ts';
import { isJsonObject } from '../policy/json-values.ts';
import { peekType } from '../policy/peek-type.ts';
import type { Frame, Upstream, UpstreamFactory, UpstreamFailure } from '../upstream/upstream.ts';
import { withoutKeyFragments } from '../upstream/connect-refusal.ts';
import type { ClientSide } from './client-side.ts';
import type { SessionHooks, SessionHooksFactory, SessionInfo } from './hooks.ts';
import type { RelayErrorCode } from '../../../protocol/relay-errors.ts';
import { relayErrorEvent } from './relay-error.ts';
import { ALL_FRAME_FEATURES, type FrameFeatures } from './frame-features.ts';

export interface ConnData {
  session?: RelaySession;
  /** Set when the client negotiated `earshot.v2` (the app link): the upgrade's resume offer, if any. */
  appLink?: { resume: { token: string; received: number } | null };
  /** The app link this socket belongs to (v2 only); the socket's uWS handlers go to it. */
  link?: AppLink;
  info: SessionInfo;
  model: string;
  /** The first session.update (operator policy) for this user. */
  policyUpdate: string;
  /** `?intent=transcription`: forwarded to the provider, with the transcription policy as first update. */
  intent?: 'transcription';
}

export interface BridgeDeps {
  config: RelayConfig;
  metrics: Metrics;
  upstreamFactory: UpstreamFactory;
  hooksFactory: SessionHooksFactory;
  log: Logger;
  onEnd(session: RelaySession): void;
  /** Per-frame steps a benchmark build switches off (frame-features.ts); every one is on unless given. */
  features?: FrameFeatures;
}

// A power of two: the sample test is a mask. One frame in 32 per direction still gives a 200-session relay ~600
// samples a second for the histogram; one in 8 read the clock 4× as often for no better percentile (issue 17).
export const LATENCY_SAMPLE_EVERY = 32;

export class RelaySession {
  readonly info: SessionInfo;
  private readonly client: ClientSide;
  private readonly data: ConnData;
  private readonly deps: BridgeDeps;
  private readonly hooks: SessionHooks;
  private readonly gate: ClientEventGate;
  private readonly features: FrameFeatures;
  /** deps.config.limits and deps.metrics.hot, held here: the hot path reads them per frame without the hops. */
  private readonly limits: RelayConfig['limits'];
  private readonly hot: Metrics['hot'];
  private upstream: Upstream | null = null;
  private clientOpen = true;
  private ended = false;
  private upstreamPaused = false;
  private sessionExpired = false;
  private windowStart = 0;
  private windowCount = 0;
  private tokensUsed = 0;
  /** Frames per direction, for the latency sample: one shared counter sampled only one direction when frames alternate. */
  private upFrames = 0;
  private downFrames = 0;
  private readonly limitTimer: NodeJS.Timeout;

  constructor(client: ClientSide, data: ConnData, deps: BridgeDeps) {
    this.client = client;
    this.data = data;
    this.deps = deps;
    this.info = data.info;
    this.features = deps.features ?? ALL_FRAME_FEATURES;
    this.limits = deps.config.limits;
    this.hot = deps.metrics.hot;
    this.hooks = deps.hooksFactory(this.info, { terminate: (code, errorCode, message) => this.terminate(code, errorCode, message) });
    const policySession = (JSON.parse(data.policyUpdate) as { session?: unknown }).session;
    this.gate = new ClientEventGate({ config: deps.config, model: data.model, policySession: isJsonObject(policySession) ? policySession : {} });
    this.limitTimer = setTimeout(
      () => this.terminate(CloseCode.SessionLimit, 'session_limit', `This relay ends conversations after ${Math.round(deps.config.limits.maxSessionMs / 60_000)} minutes. Start a new one to go on.`),
      deps.config.limits.maxSessionMs,
    );
    this.limitTimer.unref();
  }

  /** On the app's own link (earshot.v2), not the verbatim Realtime path (the console's Now page shows which). */
  get isAppLink(): boolean {
    return this.data.appLink !== undefined;
  }

  start(): void {
    const data = this.data;
    this.upstream = this.deps.upstreamFactory(
      { model: data.model, sessionId: this.info.sessionId, userId: this.info.userId, ...(data.intent ? { intent: data.intent } : {}) },
      {
        onOpen: () => this.deps.log.debug({ session: this.info.sessionId }, 'upstream open'),
        onMessage: (frame) => this.fromUpstream(frame),
        onClose: (code, reason, failure) => this.upstreamClosed(code, reason, failure),
      },
    );
    // The operator's policy goes first, before any client frame (frames sent before open are queued in order).
    this.upstream.send(data.policyUpdate);
  }

  // ---- client → upstream ---------------------------------------------------------------------------------

  onClientMessage(message: ArrayBuffer, isBinary: boolean): void {
    if (this.ended) return;
    try {
      this.clientMessage(message, isBinary);
    } catch (err) {
      this.fail(err, 'client frame');
    }
  }

  // HOT PATH: 50 frames a second per session. No closure, no per-frame object beyond the frame's own copy;
  // counters are plain integer adds (http/metrics.ts folds them into Prometheus on scrape); the clock is read
  // only for the one frame in LATENCY_SAMPLE_EVERY whose latency is sampled.
  private clientMessage(message: ArrayBuffer, isBinary: boolean): void {
    const f = this.features;
    const sampled = f.latency && (++this.upFrames & (LATENCY_SAMPLE_EVERY - 1)) === 0;
    const started = sampled ? performance.now() : 0;
    const limits = this.limits;
    if (f.size && message.byteLength > limits.maxFrameBytes) {
      this.deps.metrics.rejectedEvents.inc({ code: 'frame_too_large' });
      this.terminate(CloseCode.MessageTooBig, 'frame_too_large', `A message of ${message.byteLength} bytes is over this relay's limit of ${limits.maxFrameBytes} bytes. Send audio in smaller appends.`);
      return;
    }
    if (f.rate) {
      const now = Date.now();
      if (now - this.windowStart >= 1000) {
        this.windowStart = now;
        this.windowCount = 0;
      }
      if (++this.windowCount > limits.maxMessagesPerSecond) {
        this.deps.metrics.rejectedEvents.inc({ code: 'rate_limited' });
        this.terminate(CloseCode.RateLimited, 'rate_limited', `More than ${limits.maxMessagesPerSecond} messages in one second. Slow down: 20 ms audio appends are 50 a second.`);
        return;
      }
    }
    // MUST copy: uWS frees `message` when this handler returns, and the upstream may queue the frame. The copy
    // comes first and the gate reads it, so a verbatim frame costs one pooled Buffer (allocUnsafe slices Node's
    // 8 KB pool below 4 KB) and one memcpy, not a view plus a fresh ArrayBuffer.
    const copy = Buffer.allocUnsafe(message.byteLength);
    copy.set(new Uint8Array(message));
    const verdict = f.type ? this.gate.judge(copy, isBinary, f.policy) : this.gate.assumeAppend(copy);
    switch (verdict.kind) {
      case 'refuse': {
        const { code, message: text, param, eventId } = verdict.refusal;
        this.reject(code, text, eventId, param);
        return;
      }
      case 'verbatim':
        if (!this.sendUpstream(verdict.type, copy, verdict.audioBytes)) return;
        break;
      case 'forward':
        if (!this.sendUpstream(verdict.type, verdict.bytes, -1)) return;
        for (const n of verdict.notices) this.reject(n.code, n.message, n.eventId, n.param);
        break;
      default:
        return assertNever(verdict, 'gate verdict');
    }
    if (sampled) this.hot.observeUp(performance.now() - started);
  }

  /**
   * Sends one checked (or relay-made) client frame upstream: metrics, meter, backpressure. False if that ended the
   * session. `audioBytes`: the decoded audio of a proven append when the gate already measured it, else -1.
   */
  private sendUpstream(type: string, frame: Uint8Array, audioBytes: number): boolean {
    const upstream = this.upstream;
    if (!upstream) return false;
    upstream.send(frame);
    const f = this.features;
    if (f.metrics) this.hot.countUp(frame.byteLength);
    if (f.meter) this.hooks.onClientFrame(type, frame, audioBytes);
    if (f.backpressure && upstream.bufferedAmount() > this.limits.upstreamBufferHardBytes) {
      this.terminate(CloseCode.Backpressure, 'upstream_backpressure', 'The provider is not keeping up with the audio you send. The conversation was stopped; start it again.');
      return false;
    }
    return true;
  }

  /**
   * A client event the relay itself made (the app link's pcm16 appends and clears from Opus audio): trusted, so
   * no gate or rate window, but metered and backpressured like any other frame sent upstream.
   */
  forwardTrusted(type: 'input_audio_buffer.append' | 'input_audio_buffer.clear', frame: Uint8Array): void {
    if (this.ended) return;
    try {
      this.sendUpstream(type, frame, -1);
    } catch (err) {
      this.fail(err, 'relay-made client frame');
    }
  }


  get isEnded(): boolean {
    return this.ended;
  }

  private reject(code: RelayErrorCode, message: string, eventId: string | null, param: string | null = null): void {
    this.deps.metrics.rejectedEvents.inc({ code });
    this.toClient(relayErrorEvent(code, message, param, eventId), 'error');
  }

  // ---- upstream → client ---------------------------------------------------------------------------------

  private fromUpstream(frame: Frame): void {
    if (this.ended) return;
    try {
      this.serverMessage(frame);
    } catch (err) {
      this.fail(err, 'server frame');
    }
  }

  private serverMessage(frame: Frame): void {
    const f = this.features;
    const sampled = f.latency && (++this.downFrames & (LATENCY_SAMPLE_EVERY - 1)) === 0;
    const started = sampled ? performance.now() : 0;
    const bytes = typeof frame === 'string' ? Buffer.from(frame) : frame;
    const type = peekType(bytes) ?? 'unknown';
    if (type === 'error' || type === 'response.done') this.inspectControl(type, bytes);
    // Tested here, not only in the gate: the 50-a-second audio deltas do not call into the gate at all (issue 17).
    else if (type === 'session.created' || type === 'session.updated') this.gate.observeServer(type, bytes);
    const queued = this.toClient(frame, type);
    if (f.metrics) this.hot.countDown(bytes.byteLength);
    if (f.meter) this.hooks.onServerFrame(type, frame);
    if (sampled) this.hot.observeDown(performance.now() - started);
    // A frame that left with nothing queued cannot have crossed a limit; a paused upstream is resumed by onDrain.
    if (f.backpressure && queued) this.applyBackpressure();
  }

  /** Small control events the relay acts on: the provider's session expiry, and the token budget. */
  private inspectControl(type: string, bytes: Uint8Array): void {
    try {
      const event = JSON.parse(Buffer.from(bytes).toString('utf8')) as { error?: { code?: string }; response?: { usage?: { total_tokens?: number } } };
      if (type === 'error' && event.error?.code === 'session_expired') this.sessionExpired = true;
      const budget = this.deps.config.limits.sessionTokenBudget;
      if (type === 'response.done' && budget > 0) {
        this.tokensUsed += event.response?.usage?.total_tokens ?? 0;
        if (this.tokensUsed >= budget) {
          setImmediate(() => this.terminate(CloseCode.SessionLimit, 'session_token_budget', `This conversation used its budget of ${budget} tokens. Start a new one to go on.`));
        }
      }
    } catch {
      // Not JSON: forwarded as is; the client will complain.
    }
  }

  private applyBackpressure(): void {
    if (!this.clientOpen) return;
    const buffered = this.client.bufferedAmount();
    const { clientBufferSoftBytes, clientBufferHardBytes } = this.limits;
    if (buffered > clientBufferHardBytes) {
      this.terminate(CloseCode.Backpressure, 'client_too_slow', 'Your connection is too slow to receive the audio. The conversation was stopped; try again on a better network.');
    } else if (buffered > clientBufferSoftBytes && !this.upstreamPaused) {
      this.upstreamPaused = true;
      this.upstream?.pause();
    }
  }

  onDrain(): void {
    if (!this.upstreamPaused || !this.clientOpen) return;
    if (this.client.bufferedAmount() < this.deps.config.limits.clientBufferSoftBytes / 2) {
      this.upstreamPaused = false;
      this.upstream?.resume();
    }
  }

  private upstreamClosed(code: number, reason: string, failure?: UpstreamFailure): void {
    this.upstream = null;
    if (this.ended) return;
    if (failure) this.deps.metrics.upstreamErrors.inc({ kind: failure.kind });
    if (this.sessionExpired || reason === 'session_expired') {
      this.endWith(CloseCode.SessionExpired, 'session expired');
      return;
    }
    if (failure?.kind === 'refused') {
      this.refused(failure);
      return;
    }
    if (failure?.kind === 'rejected' && (failure.status === 401 || failure.status === 403)) {
      this.terminate(CloseCode.UpstreamAuth, 'upstream_auth_failed', `The AI provider refused this relay's API key (HTTP ${failure.status}): ${failure.message} Tell your operator.`);
      return;
    }
    if (failure) {
      const what = failure.kind === 'unreachable' ? 'could not be reached' : failure.kind === 'rejected' ? `refused the connection (HTTP ${failure.status})` : 'dropped the connection';
      this.terminate(CloseCode.UpstreamUnavailable, 'upstream_unavailable', `The AI provider ${what}. The app will try again; if it keeps failing, tell your operator.`);
      return;
    }
    if (code !== 1000) {
      // A clean close the relay did not ask for (e.g. 1001: the provider is going away), possibly mid-response:
      // the client must learn why, like any other provider failure, not just see a bare close code.
      this.terminate(CloseCode.UpstreamUnavailable, 'upstream_unavailable', `The AI provider ended the connection (code ${code}). The app will try again; if it keeps failing, tell your operator.`);
      return;
    }
    this.endWith(CloseCode.Normal, 'upstream closed');
  }

  /** The provider upgraded, then refused the session (connect-refusal.ts): one clear error, no key fragment. */
  private refused(failure: Extract<UpstreamFailure, { kind: 'refused' }>): void {
    const said = withoutKeyFragments(failure.message);
    const detail = said ? ` It said: "${said.slice(0, 300)}"` : '';
    if (failure.code === 'invalid_api_key' || failure.closeCode === 3000) {
      this.terminate(CloseCode.UpstreamAuth, 'upstream_auth_failed', `The AI provider refused this relay's API key.${detail} Tell your operator.`);
    } else if (failure.code === 'missing_model') {
      // The relay always names a model, so only an UPSTREAM_URL with an empty `?model=` of its own gets here.
      this.terminate(CloseCode.UpstreamRefused, 'model_not_available', `The AI provider was not told which model to use.${detail} Tell your operator: the relay's UPSTREAM_URL names an empty model.`);
    } else if (failure.code === 'invalid_model') {
      const model = this.data.model.slice(0, 100);
      this.terminate(CloseCode.UpstreamRefused, 'model_not_available', `The AI provider does not offer the model '${model}'.${detail} Connect with another ?model= or ask your operator which models work.`);
    } else if (failure.code === 'beta_api_shape_disabled') {
      this.terminate(CloseCode.UpstreamRefused, 'upstream_protocol_refused', `The AI provider refused the relay's protocol version (a beta header reached it).${detail} Tell your operator.`);
    } else {
      this.terminate(CloseCode.UpstreamRefused, 'upstream_refused', `The AI provider refused to open the session (${failure.code.slice(0, 64)}).${detail} Tell your operator.`);
    }
  }

  // ---- endings -------------------------------------------------------------------------------------------

  /** True when bytes may be waiting toward the client (ClientSide.send). */
  private toClient(frame: Frame, type: string): boolean {
    if (!this.clientOpen) return false;
    return this.client.send(frame, type);
  }

  /**
   * A bug in handling one frame (the relay's, a hook's, a parser's): this session ends with 1011 and the error is
   * logged; the process and every other session go on. Never throws.
   */
  private fail(err: unknown, where: string): void {
    try {
      this.deps.log.error({ err, session: this.info.sessionId, user: this.info.userId, where }, 'session failed: unexpected error while handling a frame');
      this.terminate(CloseCode.InternalError, 'internal_error', 'The relay hit an unexpected problem with this conversation and ended it. Start a new one; if it happens again, tell your operator.');
    } catch (again) {
      // Even the ending failed (a hook's onEnd, a logger): release what is left, each step on its own.
      this.ended = true;
      const { clientOpen, upstream } = this;
      const steps: Array<() => void> = [
        () => this.deps.log.error({ err: again, session: this.info.sessionId }, 'session cleanup failed'),
        () => {
          if (clientOpen) this.client.end(CloseCode.InternalError, 'internal_error');
        },
        () => upstream?.close(1000, 'client gone'),
        () => clearTimeout(this.limitTimer),
        () => this.deps.onEnd(this),
      ];
      this.clientOpen = false;
      this.upstream = null;
      for (const step of steps) {
        try {
          step();
        } catch {
          // go on with the next
        }
      }
    }
  }

  /** Sends a Realtime-shaped error, then closes with `code`. Safe to call at any time, more than once. */
  terminate(code: number, errorCode: RelayErrorCode, message: string): void {
    if (this.ended) return;
    this.deps.log.info({ session: this.info.sessionId, user: this.info.userId, code, errorCode }, 'session terminated');
    this.toClient(relayErrorEvent(errorCode, message), 'error');
    this.endWith(code, errorCode);
  }

  /** Closes the client (if still open) and the upstream, once. */
  endWith(code: number, reason: string): void {
    if (this.ended) return;
    this.ended = true;
    if (this.clientOpen) {
      this.clientOpen = false;
      this.client.end(code, reason.slice(0, 120));
    }
    this.cleanup(code);
  }

  /** uWS close handler: the socket is gone and MUST NOT be touched again. */
  onClientClose(code: number): void {
    this.clientOpen = false;
    if (this.ended) return;
    this.ended = true;
    this.cleanup(code);
  }

  private cleanup(code: number): void {
    clearTimeout(this.limitTimer);
    const upstream = this.upstream;
    this.upstream = null;
    upstream?.close(1000, 'client gone');
    this.deps.metrics.closes.inc({ code: String(code) });
    this.deps.metrics.sessionDuration.observe((Date.now() - this.info.startedAt) / 1000);
    try {
      this.hooks.onEnd();
    } finally {
      this.deps.onEnd(this);
    }
  }
}
