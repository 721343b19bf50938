// The input audio buffer and its VAD glue: `input_audio_buffer.append/commit/clear`, speech boundaries from
// the energy VAD (vad.ts), committing a turn into a user audio item, and that item's input transcription
// (word-by-word deltas, then `completed`; the words are a deterministic description of the audio, since the
// simulator does no speech recognition). What happens after a turn (a response, or not) is the engine's call.
import { WIRE_SAMPLE_RATE } from '../../../protocol/constants.ts';
import { obfuscation, type SimContext } from './context.ts';
import type { Conversation, Item } from './conversation.ts';
import { decodePcm16 } from './pcm.ts';
import { EnergyVad, type VadConfig } from './vad.ts';

const MAX_UTTERANCE_SAMPLES = WIRE_SAMPLE_RATE * 60;
const MIN_COMMIT_MS = 100;

export interface TurnHooks {
  /** Speech began: the engine may cancel a response (`interrupt_response`). */
  speechStarted(): void;
  /** VAD ended a turn and committed it: the engine may answer (`create_response`). */
  turnEnded(): void;
}

/** The words the simulator "hears" in `samples`: their length, e.g. "(1.8 s of speech)". */
export function transcriptOf(samples: number): string {
  return `(${(samples / WIRE_SAMPLE_RATE).toFixed(1)} s of speech)`;
}

export class InputAudio {
  private readonly ctx: SimContext;
  private readonly conversation: Conversation;
  private readonly hooks: TurnHooks;
  private vad: EnergyVad | null = null;
  private buffer: Int16Array[] = [];
  private bufferSamples = 0;
  /** Session-clock position (ms) of the first sample in `buffer`. */
  private bufferStartMs = 0;
  private clockSamples = 0;
  private speechItemId: string | null = null;
  private speechStartMs = 0;

  constructor(ctx: SimContext, conversation: Conversation, hooks: TurnHooks) {
    this.ctx = ctx;
    this.conversation = conversation;
    this.hooks = hooks;
    this.configure();
  }

  private vadConfig(): VadConfig | null {
    const td = this.ctx.session().audio?.input?.turn_detection;
    if (!td) return null;
    if (td.type === 'semantic_vad') return { threshold: 0.5, prefixPaddingMs: 300, silenceDurationMs: 500 };
    return { threshold: td.threshold ?? 0.5, prefixPaddingMs: td.prefix_padding_ms ?? 300, silenceDurationMs: td.silence_duration_ms ?? 500 };
  }

  /** Follows the session's turn detection after a `session.update`. */
  configure(): void {
    const config = this.vadConfig();
    if (this.ctx.options.benchmark || config === null) this.vad = null;
    else if (this.vad) this.vad.configure(config);
    else this.vad = new EnergyVad(config, (this.clockSamples * 1000) / WIRE_SAMPLE_RATE);
  }

  onAppend(event: Record<string, unknown>, eventId: string | null): void {
    const { ctx } = this;
    if (typeof event.audio !== 'string') {
      ctx.error('invalid_type', "Invalid type for 'audio': expected a base64-encoded string.", 'audio', eventId);
      return;
    }
    const samples = decodePcm16(event.audio);
    if (samples === null) {
      ctx.error('invalid_value', "Invalid 'audio'. Expected base64-encoded pcm16 audio bytes.", 'audio', eventId);
      return;
    }
    if (ctx.options.benchmark) {
      // Echo at once, carrying the client's event_id so a load generator can time the round trip.
      ctx.emit({ type: 'response.output_audio.delta', event_id: eventId ?? ctx.id('event'), response_id: 'resp_bench', item_id: 'item_bench', output_index: 0, content_index: 0, delta: event.audio });
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

  onCommit(eventId: string | null): void {
    const ms = (this.bufferSamples * 1000) / WIRE_SAMPLE_RATE;
    if (ms < MIN_COMMIT_MS) {
      this.ctx.error(
        'input_audio_buffer_commit_empty',
        `Error committing input audio buffer: buffer too small. Expected at least ${MIN_COMMIT_MS}ms of audio, but buffer only has ${ms.toFixed(2)}ms of audio.`,
        null,
        eventId,
      );
      return;
    }
    this.commit(this.speechItemId ?? this.ctx.id('item'), this.bufferStartMs);
    this.vad?.resetTurn();
  }

  onClear(): void {
    this.resetBuffer();
    this.vad?.resetTurn();
    this.speechItemId = null;
    this.ctx.emit({ type: 'input_audio_buffer.cleared', event_id: this.ctx.id('event') });
  }

  private capBuffer(maxSamples: number): void {
    while (this.bufferSamples > maxSamples && this.buffer.length > 1) {
      const first = this.buffer.shift()!;
      this.bufferSamples -= first.length;
      this.bufferStartMs += (first.length * 1000) / WIRE_SAMPLE_RATE;
    }
  }

  private onSpeechStarted(audioStartMs: number): void {
    this.hooks.speechStarted();
    this.speechItemId = this.ctx.id('item');
    this.speechStartMs = audioStartMs;
    this.ctx.emit({ type: 'input_audio_buffer.speech_started', event_id: this.ctx.id('event'), audio_start_ms: audioStartMs, item_id: this.speechItemId });
  }

  private onSpeechStopped(audioEndMs: number): void {
    const itemId = this.speechItemId ?? this.ctx.id('item');
    this.ctx.emit({ type: 'input_audio_buffer.speech_stopped', event_id: this.ctx.id('event'), audio_end_ms: audioEndMs, item_id: itemId });
    this.commit(itemId, Math.max(this.bufferStartMs, this.speechStartMs));
    this.hooks.turnEnded();
  }

  /** Turns the buffered audio from `fromMs` on into a user audio item, then transcribes it if configured. */
  private commit(itemId: string, fromMs: number): void {
    const { ctx } = this;
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
    const previous = this.conversation.lastId();
    ctx.emit({ type: 'input_audio_buffer.committed', event_id: ctx.id('event'), item_id: itemId, previous_item_id: previous });
    const transcription = ctx.session().audio?.input?.transcription;
    const transcript = transcriptOf(utterance.length);
    const item: Item = { id: itemId, type: 'message', role: 'user', status: 'completed', object: 'realtime.item', content: [{ type: 'input_audio', transcript: null as never }] };
    this.conversation.add({ item, audioSamples: utterance.length, utterance, text: transcription ? transcript : undefined }, { previous, done: true });
    if (!transcription) return;
    const words = transcript.split(/(?<= )/);
    for (const delta of words) {
      ctx.emit({ type: 'conversation.item.input_audio_transcription.delta', event_id: ctx.id('event'), item_id: itemId, content_index: 0, delta, obfuscation: obfuscation(delta) });
    }
    // What `conversation.item.retrieve` returns from now on (SDKs fetch the transcript that way).
    const stored = this.conversation.get(itemId);
    if (stored) stored.item = { ...item, content: [{ type: 'input_audio', transcript }] };
    const audioTokens = Math.ceil((utterance.length * 1000) / WIRE_SAMPLE_RATE / 100);
    const textTokens = Math.ceil(transcript.length / 4);
    ctx.emit({
      type: 'conversation.item.input_audio_transcription.completed',
      event_id: ctx.id('event'),
      item_id: itemId,
      content_index: 0,
      transcript,
      usage: { type: 'tokens', input_tokens: audioTokens, output_tokens: textTokens, total_tokens: audioTokens + textTokens, input_token_details: { audio_tokens: audioTokens, text_tokens: 0 } },
    });
  }

  private resetBuffer(): void {
    this.buffer = [];
    this.bufferSamples = 0;
    this.bufferStartMs = (this.clockSamples * 1000) / WIRE_SAMPLE_RATE;
  }
}
