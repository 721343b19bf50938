// One simulated Realtime session: the dispatcher. Parses client event text frames and hands each to the part
// that owns it — input-audio.ts (buffer + VAD), conversation.ts (items), response-stream.ts (responses) —
// and emits server events through a sink. Transport-free so the in-process upstream (in-process.ts) and the
// standalone server (server.ts) share it. Deterministic: ids come from one per-session counter and every
// reply is a function of the input.
import { PROVIDER_MAX_SESSION_MS } from '../../../protocol/constants.ts';
import { checkConnect, type ConnectRequest } from './connect-check.ts';
import type { IdPrefix, SimContext, SimulatorOptions } from './context.ts';
import { Conversation } from './conversation.ts';
import { InputAudio } from './input-audio.ts';
import { ResponseStream } from './response-stream.ts';
import { applySessionUpdate, defaultSession, defaultTranscriptionSession, type SessionConfig } from './session-config.ts';
import { unknownEventTypeMessage } from '../../../protocol/realtime.ts';
import { depthOf, MAX_EVENT_DEPTH, type JsonValue } from '../policy/json-values.ts';
import type { SimServerEvent } from './wire.ts';

export type { SimulatorOptions } from './context.ts';

export interface SimulatorSink {
  send(text: string): void;
  /** Called once when the simulator ends the session itself (expiry, a refused connect, `session.close`). */
  close(code: number, reason: string): void;
}

/** What the connecting request carried; absent fields mean "as the relay sends it" (a valid model, no key check). */
export type SessionOpen = Partial<ConnectRequest>;

type Incoming = Record<string, unknown> & { type?: unknown; event_id?: unknown };

export class SimulatorSession {
  private readonly options: Required<SimulatorOptions>;
  private readonly sink: SimulatorSink;
  private readonly connect: ConnectRequest;
  private session: SessionConfig;
  private counter = 0;
  private readonly ctx: SimContext;
  private readonly conversation: Conversation;
  private readonly input: InputAudio;
  private readonly responses: ResponseStream;
  private expiry: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(options: SimulatorOptions, sink: SimulatorSink, open: SessionOpen = {}) {
    this.options = {
      maxSessionMs: options.maxSessionMs ?? PROVIDER_MAX_SESSION_MS,
      benchmark: options.benchmark ?? false,
      pitchShift: options.pitchShift ?? true,
      paceFactor: options.paceFactor ?? 4,
      now: options.now ?? Date.now,
    };
    this.sink = sink;
    this.connect = { model: open.model === undefined ? 'gpt-realtime' : open.model, intent: open.intent ?? null, presentedKey: open.presentedKey ?? null, expectedKey: open.expectedKey ?? null, betaHeader: open.betaHeader ?? '' };
    const identity = { id: this.id('sess'), startedAt: this.options.now() };
    this.session = this.connect.intent === 'transcription' ? defaultTranscriptionSession(identity) : defaultSession(identity, this.connect.model ?? undefined);
    this.ctx = {
      options: this.options,
      emit: (event) => this.emit(event),
      id: (prefix) => this.id(prefix),
      error: (code, message, param, eventId) => this.error(code, message, param, eventId),
      session: () => this.session,
    };
    this.conversation = new Conversation(this.ctx);
    this.responses = new ResponseStream(this.ctx, this.conversation);
    this.input = new InputAudio(this.ctx, this.conversation, {
      speechStarted: () => {
        const td = this.session.audio?.input?.turn_detection;
        if (td && this.session.type === 'realtime' && (!('interrupt_response' in td) || td.interrupt_response !== false)) this.responses.cancel('turn_detected');
      },
      turnEnded: () => {
        const td = this.session.audio?.input?.turn_detection;
        if (td && this.session.type === 'realtime' && (!('create_response' in td) || td.create_response !== false)) this.responses.startDefault();
      },
    });
  }

  start(): void {
    const refused = checkConnect(this.connect);
    if (refused) {
      this.emit({ type: 'error', event_id: this.id('event'), error: refused.error });
      this.dispose();
      this.sink.close(refused.closeCode, refused.closeReason);
      return;
    }
    this.emit({ type: 'session.created', event_id: this.id('event'), session: this.session });
    this.expiry = setTimeout(() => this.expire(), this.options.maxSessionMs);
    this.expiry.unref?.();
  }

  dispose(): void {
    this.closed = true;
    clearTimeout(this.expiry);
    this.responses.dispose();
  }

  /** A binary frame: not part of the protocol; the provider answers `invalid_event` and goes on. */
  receiveBinary(): void {
    if (this.closed) return;
    this.error('invalid_event', 'Binary frames are not supported. Send client events as JSON text frames.', null, null);
  }

  receive(text: string): void {
    if (this.closed) return;
    let event: Incoming;
    try {
      const parsed: unknown = JSON.parse(text);
      if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new Error('not an object');
      // Deeper values would overflow the recursive JSON.stringify/structuredClone below (JSON.parse is iterative).
      if (depthOf(parsed as JsonValue) > MAX_EVENT_DEPTH) throw new Error('too deep');
      event = parsed as Incoming;
    } catch {
      this.error('invalid_json', "The server could not parse the event: expected a JSON object. Check that you are sending valid JSON.", null, null);
      return;
    }
    if (event.event_id !== undefined && typeof event.event_id !== 'string') {
      this.error('invalid_type', "Invalid type for 'event_id': expected a string.", 'event_id', null);
      return;
    }
    const eventId = typeof event.event_id === 'string' ? event.event_id : null;
    const type = event.type;
    if (this.session.type === 'transcription' && typeof type === 'string' && (type.startsWith('response.') || type === 'conversation.item.create')) {
      this.error('invalid_value', `'${type}' is not supported in transcription sessions.`, 'type', eventId);
      return;
    }
    switch (type) {
      case 'session.update':
        return this.onSessionUpdate(event, eventId);
      case 'session.close':
        this.dispose();
        this.sink.close(1000, 'session closed by the client');
        return;
      case 'input_audio_buffer.append':
      case 'session.input_audio_buffer.append':
        return this.input.onAppend(event, eventId);
      case 'input_audio_buffer.commit':
        return this.input.onCommit(eventId);
      case 'input_audio_buffer.clear':
        return this.input.onClear();
      case 'conversation.item.create':
        return this.conversation.onCreate(event, eventId);
      case 'conversation.item.truncate': {
        const truncated = this.conversation.onTruncate(event, eventId);
        if (!truncated) return;
        if (this.responses.activeItemId() === truncated.itemId) this.responses.cancel('client_cancelled');
        this.conversation.announceTruncated(truncated.itemId, event.audio_end_ms as number);
        return;
      }
      case 'conversation.item.delete':
        return this.conversation.onDelete(event, eventId);
      case 'conversation.item.retrieve':
        return this.conversation.onRetrieve(event, eventId);
      case 'response.create':
        return this.responses.onCreate(event, eventId);
      case 'response.cancel':
        return this.responses.onCancel(eventId);
      case 'output_audio_buffer.clear':
        this.error('invalid_value', "'output_audio_buffer.clear' is only supported for WebRTC and SIP connections.", 'type', eventId);
        return;
      default:
        this.error(
          'invalid_value',
          unknownEventTypeMessage(typeof type === 'string' ? type : String(type)),
          'type',
          eventId,
        );
    }
  }

  private onSessionUpdate(event: Incoming, eventId: string | null): void {
    // The provider locks the voice once the assistant has spoken: a different voice after any audio output is
    // refused with `cannot_update_voice` and the whole update is discarded (the same voice again is fine).
    if (this.assistantAudioSent && voiceChangeIn(event.session, this.session)) {
      this.error('cannot_update_voice', "Cannot update a conversation's voice if assistant audio is present.", null, eventId);
      return;
    }
    const result = applySessionUpdate(this.session, event.session);
    if (!result.ok) {
      // The whole update is discarded, as the provider does.
      this.error(result.code, result.message, result.param, eventId);
      return;
    }
    this.session = result.session;
    this.input.configure();
    this.emit({ type: 'session.updated', event_id: this.id('event'), session: this.session });
  }

  private expire(): void {
    if (this.closed) return;
    const minutes = Math.round(this.options.maxSessionMs / 60_000);
    this.error('session_expired', `Your session hit the maximum duration of ${minutes} minutes.`, null, null);
    this.dispose();
    this.sink.close(1000, 'session_expired');
  }

  private error(code: string, message: string, param: string | null, eventId: string | null): void {
    this.emit({ type: 'error', event_id: this.id('event'), error: { type: 'invalid_request_error', code, message, param, event_id: eventId } });
  }

  private emit(event: SimServerEvent): void {
    if (this.closed && event.type !== 'error') return;
    if (event.type === 'response.output_audio.delta') this.assistantAudioSent = true;
    this.sink.send(JSON.stringify(event));
  }

  /** Whether any assistant audio went out in this session (the provider then locks the voice). */
  private assistantAudioSent = false;

  private id(prefix: IdPrefix): string {
    this.counter++;
    return `${prefix}_sim${String(this.counter).padStart(6, '0')}`;
  }
}

/** Whether a `session.update` body asks for a voice other than the session's current one. */
function voiceChangeIn(body: unknown, session: SessionConfig): boolean {
  const voice = (body as { audio?: { output?: { voice?: unknown } } } | null)?.audio?.output?.voice;
  if (voice === undefined) return false;
  const current = session.type === 'realtime' ? session.audio?.output?.voice : undefined;
  return voice !== current;
}
