// One simulated Realtime session: consumes client event text frames, emits server events through a sink.
// Transport-free so the in-process upstream (in-process.ts) and the standalone server (server.ts) share it.
// Deterministic: ids come from per-session counters and the reply is a function of the input audio.
import type {
  ConversationItem,
  RealtimeResponse,
  RealtimeResponseUsage,
  RealtimeServerEvent,
} from 'openai/resources/realtime/realtime';
import { PROVIDER_MAX_SESSION_MS, WIRE_SAMPLE_RATE } from '../../../protocol/constants.ts';
import { unknownEventTypeMessage } from '../../../protocol/realtime.ts';
import { depthOf, MAX_EVENT_DEPTH, type JsonValue } from '../policy/json-values.ts';
import { EnergyVad, type VadConfig } from './vad.ts';
import { applySessionUpdate, defaultSession, type SessionConfig } from './session-config.ts';
import { chime, decodePcm16, encodePcm16, pitchShift } from './pcm.ts';

export interface SimulatorOptions {
  /** Provider-style hard cap on a session; default 60 minutes, as the real service. */
  maxSessionMs?: number;
  /** Skip VAD: answer every append at once with a delta of the same audio (relay benchmarks). */
  benchmark?: boolean;
  /** Raise the echo's pitch so the reply is clearly the bot (default true). */
  pitchShift?: boolean;
  /** How much faster than real time reply audio streams (default 4, the provider is also faster). */
  paceFactor?: number;
}

export interface SimulatorSink {
  send(text: string): void;
  /** Called once when the simulator ends the session itself (expiry). */
  close(code: number, reason: string): void;
}

const DELTA_MS = 200;
const DELTA_SAMPLES = (WIRE_SAMPLE_RATE * DELTA_MS) / 1000;
const MAX_UTTERANCE_SAMPLES = WIRE_SAMPLE_RATE * 60;
const MIN_COMMIT_MS = 100;
const PITCH_FACTOR = 1.12;

interface StoredItem {
  item: ConversationItem & { id: string };
  /** pcm16 samples of an assistant item's audio, for truncate validation. */
  audioSamples: number;
  /** Text for text messages, used to answer them. */
  text?: string;
  utterance?: Int16Array;
}

interface ActiveResponse {
  id: string;
  itemId: string;
  audio: Int16Array;
  transcript: string;
  words: string[];
  sentSamples: number;
  sentWords: number;
  timer: NodeJS.Timeout | undefined;
  audioOut: boolean;
  inputAudioMs: number;
  inputText: string;
}

type Incoming = Record<string, unknown> & { type?: unknown; event_id?: unknown };

export class SimulatorSession {
  private readonly options: Required<SimulatorOptions>;
  private readonly sink: SimulatorSink;
  private session: SessionConfig;
  private counter = 0;
  private vad: EnergyVad | null;
  private buffer: Int16Array[] = [];
  private bufferSamples = 0;
  /** Session-clock position (ms) of the first sample in `buffer`. */
  private bufferStartMs = 0;
  private clockSamples = 0;
  private speechItemId: string | null = null;
  private speechStartMs = 0;
  private readonly items = new Map<string, StoredItem>();
  private lastItemId: string | null = null;
  /** The reply answers the latest user item, whatever came after it. */
  private lastUserItemId: string | null = null;
  private active: ActiveResponse | null = null;
  private expiry: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(options: SimulatorOptions, sink: SimulatorSink, model?: string) {
    this.options = {
      maxSessionMs: options.maxSessionMs ?? PROVIDER_MAX_SESSION_MS,
      benchmark: options.benchmark ?? false,
      pitchShift: options.pitchShift ?? true,
      paceFactor: options.paceFactor ?? 4,
    };
    this.sink = sink;
    this.session = defaultSession(model);
    this.vad = this.options.benchmark ? null : new EnergyVad(this.vadConfig()!);
  }

  start(): void {
    this.emit({ type: 'session.created', event_id: this.id('event'), session: this.session });
    this.expiry = setTimeout(() => this.expire(), this.options.maxSessionMs);
    this.expiry.unref?.();
  }

  dispose(): void {
    this.closed = true;
    clearTimeout(this.expiry);
    if (this.active) clearTimeout(this.active.timer);
    this.active = null;
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
    const eventId = typeof event.event_id === 'string' ? event.event_id : null;
    if (event.event_id !== undefined && typeof event.event_id !== 'string') {
      this.error('invalid_type', "Invalid type for 'event_id': expected a string.", 'event_id', null);
      return;
    }
    switch (event.type) {
      case 'session.update':
        return this.onSessionUpdate(event, eventId);
      case 'input_audio_buffer.append':
        return this.onAppend(event, eventId);
      case 'input_audio_buffer.commit':
        return this.onCommit(eventId);
      case 'input_audio_buffer.clear':
        this.resetBuffer();
        this.vad?.resetTurn();
        this.speechItemId = null;
        this.emit({ type: 'input_audio_buffer.cleared', event_id: this.id('event') });
        return;
      case 'conversation.item.create':
        return this.onItemCreate(event, eventId);
      case 'conversation.item.truncate':
        return this.onTruncate(event, eventId);
      case 'conversation.item.delete':
        return this.onDelete(event, eventId);
      case 'conversation.item.retrieve':
        return this.onRetrieve(event, eventId);
      case 'response.create':
        if (this.active) {
          this.error('conversation_already_has_active_response', `Conversation already has an active response in progress: ${this.active.id}. Wait until the response is finished before creating a new one.`, null, eventId);
          return;
        }
        this.startResponse();
        return;
      case 'response.cancel':
        if (!this.active) {
          this.error('response_cancel_not_active', 'Cancellation failed: no active response found.', null, eventId);
          return;
        }
        this.finishResponse('cancelled');
        return;
      case 'output_audio_buffer.clear':
        this.error('invalid_value', "'output_audio_buffer.clear' is only supported for WebRTC and SIP connections.", 'type', eventId);
        return;
      default:
        this.error(
          'invalid_value',
          unknownEventTypeMessage(typeof event.type === 'string' ? event.type : String(event.type)),
          'type',
          eventId,
        );
    }
  }

  // ---- session -------------------------------------------------------------------------------------------

  private vadConfig(): VadConfig | null {
    const td = this.session.audio?.input?.turn_detection;
    if (!td) return null;
    if (td.type === 'semantic_vad') return { threshold: 0.5, prefixPaddingMs: 300, silenceDurationMs: 500 };
    return { threshold: td.threshold ?? 0.5, prefixPaddingMs: td.prefix_padding_ms ?? 300, silenceDurationMs: td.silence_duration_ms ?? 500 };
  }

  private onSessionUpdate(event: Incoming, eventId: string | null): void {
    const result = applySessionUpdate(this.session, event.session);
    if (!result.ok) {
      this.error('invalid_value', result.message, result.param, eventId);
      return;
    }
    this.session = result.session;
    const config = this.vadConfig();
    if (this.options.benchmark || config === null) {
      this.vad = null;
    } else if (this.vad) {
      this.vad.configure(config);
    } else {
      this.vad = new EnergyVad(config);
    }
    this.emit({ type: 'session.updated', event_id: this.id('event'), session: this.session });
  }

  private expire(): void {
    if (this.closed) return;
    const minutes = Math.round(this.options.maxSessionMs / 60_000);
    this.error('session_expired', `Your session hit the maximum duration of ${minutes} minutes.`, null, null);
    this.dispose();
    this.sink.close(1000, 'session_expired');
  }

  // ---- input audio ---------------------------------------------------------------------------------------

  private onAppend(event: Incoming, eventId: string | null): void {
    if (typeof event.audio !== 'string') {
      this.error('invalid_type', "Invalid type for 'audio': expected a base64-encoded string.", 'audio', eventId);
      return;
    }
    const samples = decodePcm16(event.audio);
    if (samples === null) {
      this.error('invalid_value', "Invalid 'audio'. Expected base64-encoded pcm16 audio bytes.", 'audio', eventId);
      return;
    }
    if (this.options.benchmark) {
      // Echo at once, carrying the client's event_id so a load generator can time the round trip.
      this.emit({
        type: 'response.output_audio.delta',
        event_id: eventId ?? this.id('event'),
        response_id: 'resp_bench',
        item_id: 'item_bench',
        output_index: 0,
        content_index: 0,
        delta: event.audio,
      });
      return;
    }
    this.buffer.push(samples);
    this.bufferSamples += samples.length;
    this.clockSamples += samples.length;
    const vad = this.vad;
    if (!vad) {
      this.capBuffer(MAX_UTTERANCE_SAMPLES);
      return;
    }
    for (const boundary of vad.push(samples)) {
      if (boundary.kind === 'speech_started') this.onSpeechStarted(boundary.audioStartMs);
      else this.onSpeechStopped(boundary.audioEndMs);
    }
    if (!vad.inSpeech) {
      // Keep only what prefix padding could still need, so silence does not grow memory.
      const keepMs = (this.vadConfig()?.prefixPaddingMs ?? 300) + 100;
      this.capBuffer((WIRE_SAMPLE_RATE * keepMs) / 1000);
    } else {
      this.capBuffer(MAX_UTTERANCE_SAMPLES);
    }
  }

  private capBuffer(maxSamples: number): void {
    while (this.bufferSamples > maxSamples && this.buffer.length > 1) {
      const first = this.buffer.shift()!;
      this.bufferSamples -= first.length;
      this.bufferStartMs += (first.length * 1000) / WIRE_SAMPLE_RATE;
    }
  }

  private onSpeechStarted(audioStartMs: number): void {
    const td = this.session.audio?.input?.turn_detection;
    if (this.active && td && td.interrupt_response !== false) this.finishResponse('cancelled', 'turn_detected');
    this.speechItemId = this.id('item');
    this.speechStartMs = audioStartMs;
    this.emit({ type: 'input_audio_buffer.speech_started', event_id: this.id('event'), audio_start_ms: audioStartMs, item_id: this.speechItemId });
  }

  private onSpeechStopped(audioEndMs: number): void {
    const itemId = this.speechItemId ?? this.id('item');
    this.emit({ type: 'input_audio_buffer.speech_stopped', event_id: this.id('event'), audio_end_ms: audioEndMs, item_id: itemId });
    const fromMs = Math.max(this.bufferStartMs, this.speechStartMs);
    this.commit(itemId, fromMs);
    const td = this.session.audio?.input?.turn_detection;
    if (td && td.create_response !== false && !this.active) this.startResponse();
  }

  private onCommit(eventId: string | null): void {
    const ms = (this.bufferSamples * 1000) / WIRE_SAMPLE_RATE;
    if (ms < MIN_COMMIT_MS) {
      this.error(
        'input_audio_buffer_commit_empty',
        `Error committing input audio buffer: buffer too small. Expected at least ${MIN_COMMIT_MS}ms of audio, but buffer only has ${ms.toFixed(2)}ms of audio.`,
        null,
        eventId,
      );
      return;
    }
    this.commit(this.speechItemId ?? this.id('item'), this.bufferStartMs);
    this.vad?.resetTurn();
  }

  /** Turns the buffered audio from `fromMs` on into a user audio item. */
  private commit(itemId: string, fromMs: number): void {
    const all = new Int16Array(this.bufferSamples);
    let offset = 0;
    for (const chunk of this.buffer) {
      all.set(chunk, offset);
      offset += chunk.length;
    }
    const skip = Math.max(0, Math.min(all.length, Math.round(((fromMs - this.bufferStartMs) * WIRE_SAMPLE_RATE) / 1000)));
    const utterance = all.slice(skip);
    this.resetBuffer();
    this.speechItemId = null;
    const previous = this.lastItemId;
    this.emit({ type: 'input_audio_buffer.committed', event_id: this.id('event'), item_id: itemId, previous_item_id: previous });
    const item = { id: itemId, type: 'message', role: 'user', status: 'completed', object: 'realtime.item', content: [{ type: 'input_audio', transcript: null as never }] } satisfies ConversationItem;
    this.remember({ item, audioSamples: utterance.length, utterance });
    this.emit({ type: 'conversation.item.added', event_id: this.id('event'), item, previous_item_id: previous });
    this.emit({ type: 'conversation.item.done', event_id: this.id('event'), item, previous_item_id: previous });
    const transcription = this.session.audio?.input?.transcription;
    if (transcription) {
      const seconds = (utterance.length / WIRE_SAMPLE_RATE).toFixed(1);
      const transcript = `(${seconds} s of speech)`;
      this.emit({ type: 'conversation.item.input_audio_transcription.delta', event_id: this.id('event'), item_id: itemId, content_index: 0, delta: transcript });
      this.emit({
        type: 'conversation.item.input_audio_transcription.completed',
        event_id: this.id('event'),
        item_id: itemId,
        content_index: 0,
        transcript,
        usage: { type: 'duration', seconds: Number(seconds) },
      });
    }
  }

  private resetBuffer(): void {
    this.buffer = [];
    this.bufferSamples = 0;
    this.bufferStartMs = (this.clockSamples * 1000) / WIRE_SAMPLE_RATE;
  }

  // ---- conversation items --------------------------------------------------------------------------------

  private remember(stored: StoredItem): void {
    this.items.set(stored.item.id, stored);
    this.lastItemId = stored.item.id;
    if (stored.item.type === 'message' && stored.item.role === 'user') this.lastUserItemId = stored.item.id;
    // Bound memory on very long sessions: forget the oldest items' audio.
    if (this.items.size > 200) {
      const oldest = this.items.keys().next().value as string;
      this.items.delete(oldest);
    }
  }

  private onItemCreate(event: Incoming, eventId: string | null): void {
    const raw = event.item as Record<string, unknown> | undefined;
    if (typeof raw !== 'object' || raw === null) {
      this.error('missing_required_parameter', "Missing required parameter: 'item'.", 'item', eventId);
      return;
    }
    if (raw.type !== 'message' || (raw.role !== 'user' && raw.role !== 'system' && raw.role !== 'assistant')) {
      this.error('invalid_value', "The simulator supports only 'message' items with role 'user', 'system' or 'assistant'.", 'item.type', eventId);
      return;
    }
    if (!Array.isArray(raw.content)) {
      this.error('invalid_type', "Invalid type for 'item.content': expected an array.", 'item.content', eventId);
      return;
    }
    const texts: string[] = [];
    for (const part of raw.content as unknown[]) {
      const p = part as Record<string, unknown>;
      if (typeof p !== 'object' || p === null || typeof p.type !== 'string') {
        this.error('invalid_type', "Invalid type for 'item.content[]': expected an object with a 'type'.", 'item.content', eventId);
        return;
      }
      if (typeof p.text === 'string') texts.push(p.text);
    }
    const id = typeof raw.id === 'string' && raw.id.length > 0 ? raw.id.slice(0, 64) : this.id('item');
    const item = { ...(raw as object), id, object: 'realtime.item', status: 'completed' } as ConversationItem & { id: string };
    const previous = typeof event.previous_item_id === 'string' ? event.previous_item_id : this.lastItemId;
    this.remember({ item, audioSamples: 0, text: texts.join(' ') });
    this.emit({ type: 'conversation.item.added', event_id: this.id('event'), item, previous_item_id: previous });
    this.emit({ type: 'conversation.item.done', event_id: this.id('event'), item, previous_item_id: previous });
  }

  private onTruncate(event: Incoming, eventId: string | null): void {
    const itemId = event.item_id;
    const audioEndMs = event.audio_end_ms;
    if (typeof itemId !== 'string') return this.error('missing_required_parameter', "Missing required parameter: 'item_id'.", 'item_id', eventId);
    if (typeof audioEndMs !== 'number' || !Number.isInteger(audioEndMs) || audioEndMs < 0) {
      return this.error('invalid_value', "Invalid 'audio_end_ms': expected a non-negative integer.", 'audio_end_ms', eventId);
    }
    if (event.content_index !== 0) return this.error('invalid_value', "Invalid 'content_index': only 0 is supported for audio items.", 'content_index', eventId);
    const stored = this.items.get(itemId);
    if (!stored) return this.error('item_truncate_invalid_item_id', `Item with item_id not found: ${itemId}`, 'item_id', eventId);
    if (stored.item.type !== 'message' || stored.item.role !== 'assistant' || stored.audioSamples === 0) {
      return this.error('item_truncate_invalid_item_id', 'Only assistant messages with audio can be truncated.', 'item_id', eventId);
    }
    const durationMs = Math.floor((stored.audioSamples * 1000) / WIRE_SAMPLE_RATE);
    if (audioEndMs > durationMs) {
      return this.error('invalid_value', `Audio content of ${durationMs}ms is already shorter than ${audioEndMs}ms`, 'audio_end_ms', eventId);
    }
    stored.audioSamples = Math.floor((audioEndMs * WIRE_SAMPLE_RATE) / 1000);
    if (this.active?.itemId === itemId) this.finishResponse('cancelled', 'client_cancelled');
    this.emit({ type: 'conversation.item.truncated', event_id: this.id('event'), item_id: itemId, content_index: 0, audio_end_ms: audioEndMs });
  }

  private onDelete(event: Incoming, eventId: string | null): void {
    const itemId = event.item_id;
    if (typeof itemId !== 'string' || !this.items.delete(itemId)) {
      return this.error('item_delete_invalid_item_id', `Item with item_id not found: ${String(itemId)}`, 'item_id', eventId);
    }
    this.emit({ type: 'conversation.item.deleted', event_id: this.id('event'), item_id: itemId });
  }

  private onRetrieve(event: Incoming, eventId: string | null): void {
    const stored = typeof event.item_id === 'string' ? this.items.get(event.item_id) : undefined;
    if (!stored) return this.error('item_retrieve_invalid_item_id', `Item with item_id not found: ${String(event.item_id)}`, 'item_id', eventId);
    this.emit({ type: 'conversation.item.retrieved', event_id: this.id('event'), item: stored.item });
  }

  // ---- responses -----------------------------------------------------------------------------------------

  private startResponse(): void {
    const last = this.lastUserItemId ? this.items.get(this.lastUserItemId) : undefined;
    const audioOut = (this.session.output_modalities ?? ['audio']).includes('audio');
    let audio: Int16Array;
    let transcript: string;
    let inputAudioMs = 0;
    let inputText = this.session.instructions ?? '';
    if (last?.utterance && last.utterance.length > 0) {
      inputAudioMs = (last.utterance.length * 1000) / WIRE_SAMPLE_RATE;
      transcript = `Echo: ${(inputAudioMs / 1000).toFixed(1)} s of speech heard`;
      audio = this.options.pitchShift ? pitchShift(last.utterance, PITCH_FACTOR) : last.utterance;
    } else if (last?.text) {
      inputText += last.text;
      transcript = `Echo: you wrote "${last.text.slice(0, 500)}"`;
      audio = chime(400);
    } else {
      transcript = 'Echo: nothing to echo yet — say something.';
      audio = chime(300);
    }
    if (!audioOut) audio = new Int16Array(0);
    const id = this.id('resp');
    const itemId = this.id('item');
    this.active = {
      id,
      itemId,
      audio,
      transcript,
      words: transcript.split(/(?<= )/),
      sentSamples: 0,
      sentWords: 0,
      timer: undefined,
      audioOut,
      inputAudioMs,
      inputText,
    };
    const response = this.responseObject(this.active, 'in_progress', []);
    this.emit({ type: 'response.created', event_id: this.id('event'), response });
    this.emit({
      type: 'rate_limits.updated',
      event_id: this.id('event'),
      rate_limits: [
        { name: 'requests', limit: 5000, remaining: 4999, reset_seconds: 0.012 },
        { name: 'tokens', limit: 40000, remaining: 39000, reset_seconds: 1.5 },
      ],
    });
    const item = this.assistantItem(this.active, 'in_progress', '');
    const previous = this.lastItemId;
    this.remember({ item, audioSamples: 0 });
    this.emit({ type: 'response.output_item.added', event_id: this.id('event'), response_id: id, output_index: 0, item });
    this.emit({ type: 'conversation.item.added', event_id: this.id('event'), item, previous_item_id: previous });
    this.emit({
      type: 'response.content_part.added',
      event_id: this.id('event'),
      response_id: id,
      item_id: itemId,
      output_index: 0,
      content_index: 0,
      part: audioOut ? { type: 'audio', transcript: '' } : { type: 'text', text: '' },
    });
    this.streamNext();
  }

  private streamNext(): void {
    const r = this.active;
    if (!r || this.closed) return;
    const stored = this.items.get(r.itemId);
    if (r.audioOut && r.sentSamples < r.audio.length) {
      const chunk = r.audio.subarray(r.sentSamples, r.sentSamples + DELTA_SAMPLES);
      r.sentSamples += chunk.length;
      if (stored) stored.audioSamples = r.sentSamples;
      this.emit({ type: 'response.output_audio.delta', event_id: this.id('event'), response_id: r.id, item_id: r.itemId, output_index: 0, content_index: 0, delta: encodePcm16(chunk) });
    }
    // Spread the transcript over the audio so text and sound arrive together.
    const totalSteps = Math.max(1, Math.ceil(r.audio.length / DELTA_SAMPLES));
    const step = Math.max(1, Math.ceil(r.sentSamples / DELTA_SAMPLES));
    const wordsDue = r.audioOut ? Math.ceil((r.words.length * step) / totalSteps) : r.words.length;
    if (wordsDue > r.sentWords) {
      const delta = r.words.slice(r.sentWords, wordsDue).join('');
      r.sentWords = wordsDue;
      const common = { event_id: this.id('event'), response_id: r.id, item_id: r.itemId, output_index: 0, content_index: 0, delta };
      if (r.audioOut) this.emit({ type: 'response.output_audio_transcript.delta', ...common });
      else this.emit({ type: 'response.output_text.delta', ...common });
    }
    if (r.sentSamples >= r.audio.length && r.sentWords >= r.words.length) {
      this.finishResponse('completed');
      return;
    }
    r.timer = setTimeout(() => this.streamNext(), DELTA_MS / this.options.paceFactor);
  }

  private finishResponse(status: 'completed' | 'cancelled', reason?: 'turn_detected' | 'client_cancelled'): void {
    const r = this.active;
    if (!r) return;
    clearTimeout(r.timer);
    this.active = null;
    const heard = r.words.slice(0, r.sentWords).join('');
    const itemStatus = status === 'completed' ? 'completed' : 'incomplete';
    const common = { response_id: r.id, item_id: r.itemId, output_index: 0, content_index: 0 };
    if (r.audioOut) {
      this.emit({ type: 'response.output_audio.done', event_id: this.id('event'), ...common });
      this.emit({ type: 'response.output_audio_transcript.done', event_id: this.id('event'), ...common, transcript: heard });
    } else {
      this.emit({ type: 'response.output_text.done', event_id: this.id('event'), ...common, text: heard });
    }
    this.emit({
      type: 'response.content_part.done',
      event_id: this.id('event'),
      ...common,
      part: r.audioOut ? { type: 'audio', transcript: heard } : { type: 'text', text: heard },
    });
    const item = this.assistantItem(r, itemStatus, heard);
    const stored = this.items.get(r.itemId);
    if (stored) stored.item = item;
    this.emit({ type: 'response.output_item.done', event_id: this.id('event'), response_id: r.id, output_index: 0, item });
    this.emit({ type: 'conversation.item.done', event_id: this.id('event'), item });
    const response = this.responseObject(r, status, [item]);
    if (status === 'cancelled') response.status_details = { type: 'cancelled', reason: reason ?? 'client_cancelled' };
    this.emit({ type: 'response.done', event_id: this.id('event'), response });
  }

  private assistantItem(r: ActiveResponse, status: 'in_progress' | 'completed' | 'incomplete', heard: string): ConversationItem & { id: string } {
    return {
      id: r.itemId,
      type: 'message',
      role: 'assistant',
      status,
      object: 'realtime.item',
      content: [r.audioOut ? { type: 'output_audio', transcript: heard } : { type: 'output_text', text: heard }],
    };
  }

  private responseObject(r: ActiveResponse, status: RealtimeResponse['status'], output: ConversationItem[]): RealtimeResponse {
    return {
      id: r.id,
      object: 'realtime.response',
      status,
      conversation_id: 'conv_sim',
      output_modalities: r.audioOut ? ['audio'] : ['text'],
      max_output_tokens: 'inf',
      output,
      audio: { output: { format: { type: 'audio/pcm', rate: 24000 }, voice: this.voiceName() } },
      ...(status === 'in_progress' ? {} : { usage: this.usage(r) }),
    };
  }

  private voiceName(): string {
    const voice = this.session.audio?.output?.voice;
    return typeof voice === 'string' ? voice : 'marin';
  }

  /** Plausible token counts: ~10 audio tokens per second heard, ~20 per second spoken, ~4 chars per text token. */
  private usage(r: ActiveResponse): RealtimeResponseUsage {
    const inAudio = Math.ceil(r.inputAudioMs / 100);
    const inText = Math.ceil(r.inputText.length / 4);
    const outAudio = Math.ceil((r.sentSamples * 1000) / WIRE_SAMPLE_RATE / 50);
    const outText = Math.ceil(r.words.slice(0, r.sentWords).join('').length / 4);
    return {
      input_tokens: inAudio + inText,
      output_tokens: outAudio + outText,
      total_tokens: inAudio + inText + outAudio + outText,
      input_token_details: { audio_tokens: inAudio, text_tokens: inText, cached_tokens: 0 },
      output_token_details: { audio_tokens: outAudio, text_tokens: outText },
    };
  }

  // ---- plumbing ------------------------------------------------------------------------------------------

  private error(code: string, message: string, param: string | null, eventId: string | null): void {
    this.emit({ type: 'error', event_id: this.id('event'), error: { type: 'invalid_request_error', code, message, param, event_id: eventId } });
  }

  private emit(event: RealtimeServerEvent): void {
    if (this.closed && event.type !== 'error') return;
    this.sink.send(JSON.stringify(event));
  }

  private id(prefix: 'event' | 'item' | 'resp'): string {
    this.counter++;
    return `${prefix}_sim${String(this.counter).padStart(6, '0')}`;
  }
}
