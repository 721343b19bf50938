// The response stream: `response.create` (with its `response` parameters honoured: instructions,
// output_modalities, metadata, tools/tool_choice, `conversation: "none"` out of band, `input` items) and
// `response.cancel`, the paced deltas of a reply, and the closing `response.done` + `rate_limits.updated`.
//
// What the simulator answers, deterministically, from the latest turn:
//   - a user audio message → its own audio echoed (pitch-shifted) with "Echo: 1.8 s of speech heard";
//   - a user text message naming a function tool (function-tools.ts) → a `function_call` with minimal valid arguments;
//   - a `function_call_output` → a message quoting it: `Echo: get_weather returned {"temp":21}`;
//   - any other user text → `Echo: you wrote "…"` with a short chime.
import type { ConversationItem, RealtimeResponse, RealtimeResponseUsage } from 'openai/resources/realtime/realtime';
import { WIRE_SAMPLE_RATE } from '../../../protocol/constants.ts';
import { obfuscation, type SimContext } from './context.ts';
import type { Conversation, Item, StoredItem } from './conversation.ts';
import { functionTools, minimalArguments, toolNamedIn, type FunctionTool } from './function-tools.ts';
import { chime, encodePcm16, pitchShift } from './pcm.ts';

const DELTA_MS = 200;
const DELTA_SAMPLES = (WIRE_SAMPLE_RATE * DELTA_MS) / 1000;
const PITCH_FACTOR = 1.12;
const TOKENS_PER_MINUTE_LIMIT = 40_000;

type Modality = 'text' | 'audio';

/** `response.create`'s `response` object, validated, with the session's values filled in. */
interface ResponseParams {
  instructions: string;
  modalities: Modality[];
  metadata: Record<string, string> | null;
  /** `conversation: "none"`: the output is not added to the conversation. */
  outOfBand: boolean;
  /** `input` items: the response answers these instead of the conversation. */
  input: StoredItem[] | null;
  tools: FunctionTool[];
  toolChoice: unknown;
  maxOutputTokens: number | 'inf';
}

type Plan =
  | { kind: 'message'; audio: Int16Array; transcript: string; inputAudioMs: number }
  | { kind: 'function_call'; tool: FunctionTool };

interface Active {
  id: string;
  itemId: string;
  params: ResponseParams;
  audioOut: boolean;
  audio: Int16Array;
  words: string[];
  sentSamples: number;
  sentWords: number;
  timer: NodeJS.Timeout | undefined;
  inputAudioMs: number;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export class ResponseStream {
  private readonly ctx: SimContext;
  private readonly conversation: Conversation;
  private readonly conversationId: string;
  private active: Active | null = null;
  private tokensUsed = 0;

  constructor(ctx: SimContext, conversation: Conversation) {
    this.ctx = ctx;
    this.conversation = conversation;
    this.conversationId = ctx.id('conv');
  }

  isActive(): boolean {
    return this.active !== null;
  }

  activeItemId(): string | null {
    return this.active?.itemId ?? null;
  }

  dispose(): void {
    if (this.active) clearTimeout(this.active.timer);
    this.active = null;
  }

  onCreate(event: Record<string, unknown>, eventId: string | null): void {
    if (this.active) {
      this.ctx.error('conversation_already_has_active_response', `Conversation already has an active response in progress: ${this.active.id}. Wait until the response is finished before creating a new one.`, null, eventId);
      return;
    }
    const params = this.parseParams(event.response, eventId);
    if (params) this.start(params);
  }

  onCancel(eventId: string | null): void {
    if (!this.active) {
      this.ctx.error('response_cancel_not_active', 'Cancellation failed: no active response found.', null, eventId);
      return;
    }
    this.finish('cancelled', 'client_cancelled');
  }

  /** A response from server VAD (no `response` parameters). */
  startDefault(): void {
    if (this.active) return;
    const params = this.parseParams(undefined, null);
    if (params) this.start(params);
  }

  cancel(reason: 'turn_detected' | 'client_cancelled'): void {
    if (this.active) this.finish('cancelled', reason);
  }

  // ---- parameters ----------------------------------------------------------------------------------------

  private parseParams(raw: unknown, eventId: string | null): ResponseParams | null {
    const session = this.ctx.session();
    if (session.type !== 'realtime') return null;
    const fail = (code: string, message: string, param: string): null => {
      this.ctx.error(code, message, param, eventId);
      return null;
    };
    if (raw !== undefined && !isObject(raw)) return fail('invalid_type', "Invalid type for 'response': expected an object.", 'response');
    const r: Record<string, unknown> = raw ?? {};
    if (r.instructions !== undefined && typeof r.instructions !== 'string') return fail('invalid_type', "Invalid type for 'response.instructions': expected a string.", 'response.instructions');
    let modalities: Modality[] = session.output_modalities ?? ['audio'];
    if (r.output_modalities !== undefined) {
      const m = r.output_modalities;
      if (!Array.isArray(m) || m.length !== 1 || (m[0] !== 'text' && m[0] !== 'audio')) {
        return fail('invalid_value', "Invalid 'response.output_modalities': expected ['text'] or ['audio'].", 'response.output_modalities');
      }
      modalities = m as Modality[];
    }
    let metadata: Record<string, string> | null = null;
    if (r.metadata !== undefined && r.metadata !== null) {
      if (!isObject(r.metadata) || Object.values(r.metadata).some((v) => typeof v !== 'string') || Object.keys(r.metadata).length > 16) {
        return fail('invalid_value', "Invalid 'response.metadata': expected at most 16 string values.", 'response.metadata');
      }
      metadata = r.metadata as Record<string, string>;
    }
    if (r.conversation !== undefined && r.conversation !== 'auto' && r.conversation !== 'none') {
      return fail('invalid_value', `Invalid value: '${String(r.conversation).slice(0, 64)}'. Supported values are: 'auto' and 'none'.`, 'response.conversation');
    }
    let input: StoredItem[] | null = null;
    if (r.input !== undefined) {
      if (!Array.isArray(r.input)) return fail('invalid_type', "Invalid type for 'response.input': expected an array.", 'response.input');
      input = [];
      for (const [i, rawItem] of (r.input as unknown[]).entries()) {
        // An item reference (`{type: "item_reference", id}`) names one already in the conversation.
        if (isObject(rawItem) && rawItem.type === 'item_reference' && typeof rawItem.id === 'string') {
          const found = this.conversation.get(rawItem.id);
          if (!found) return fail('invalid_value', `Item with id not found: ${rawItem.id.slice(0, 64)}`, `response.input[${i}].id`);
          input.push(found);
          continue;
        }
        const stored = this.conversation.parseItem(rawItem, `response.input[${i}]`, eventId);
        if (!stored) return null;
        input.push(stored);
      }
    }
    const max = r.max_output_tokens ?? session.max_output_tokens ?? 'inf';
    if (max !== 'inf' && (typeof max !== 'number' || !Number.isInteger(max) || max < 1 || max > 4096)) {
      return fail('invalid_value', "Invalid 'max_output_tokens': expected an integer from 1 to 4096, or 'inf'.", 'response.max_output_tokens');
    }
    return {
      instructions: typeof r.instructions === 'string' ? r.instructions : (session.instructions ?? ''),
      modalities,
      metadata,
      outOfBand: r.conversation === 'none',
      input,
      tools: functionTools(r.tools ?? session.tools),
      toolChoice: r.tool_choice ?? session.tool_choice ?? 'auto',
      maxOutputTokens: max,
    };
  }

  /** What to answer: the latest user message or tool output among the response's context items. */
  private plan(params: ResponseParams): Plan {
    const items = params.input ?? this.conversation.all();
    const turn = items.findLast((s) => (s.item.type === 'message' && s.item.role === 'user') || s.item.type === 'function_call_output');
    if (turn?.item.type === 'function_call_output') {
      const callId = turn.item.call_id;
      const call = [...items, ...this.conversation.all()].find((s) => s.item.type === 'function_call' && s.item.call_id === callId);
      const name = call?.item.type === 'function_call' ? call.item.name : 'the tool';
      return { kind: 'message', audio: chime(400), transcript: `Echo: ${name} returned ${(turn.text ?? '').slice(0, 500)}`, inputAudioMs: 0 };
    }
    if (turn?.utterance && turn.utterance.length > 0) {
      const inputAudioMs = (turn.utterance.length * 1000) / WIRE_SAMPLE_RATE;
      const audio = this.ctx.options.pitchShift ? pitchShift(turn.utterance, PITCH_FACTOR) : turn.utterance;
      return { kind: 'message', audio, transcript: `Echo: ${(inputAudioMs / 1000).toFixed(1)} s of speech heard`, inputAudioMs };
    }
    if (turn?.text) {
      const tool = this.chooseTool(params, turn.text);
      if (tool) return { kind: 'function_call', tool };
      return { kind: 'message', audio: chime(400), transcript: `Echo: you wrote "${turn.text.slice(0, 500)}"`, inputAudioMs: 0 };
    }
    return { kind: 'message', audio: chime(300), transcript: 'Echo: nothing to echo yet — say something.', inputAudioMs: 0 };
  }

  private chooseTool(params: ResponseParams, text: string): FunctionTool | undefined {
    const choice = params.toolChoice;
    if (choice === 'none' || params.tools.length === 0) return undefined;
    if (isObject(choice) && choice.type === 'function') return params.tools.find((t) => t.name === choice.name);
    return toolNamedIn(text, params.tools) ?? (choice === 'required' ? params.tools[0] : undefined);
  }

  // ---- streaming -----------------------------------------------------------------------------------------

  private start(params: ResponseParams): void {
    const { ctx } = this;
    const plan = this.plan(params);
    const audioOut = plan.kind === 'message' && params.modalities.includes('audio');
    const transcript = plan.kind === 'message' ? plan.transcript : '';
    const r: Active = {
      id: ctx.id('resp'),
      itemId: ctx.id('item'),
      params,
      audioOut,
      audio: plan.kind === 'message' && audioOut ? plan.audio : new Int16Array(0),
      words: transcript ? transcript.split(/(?<= )/) : [],
      sentSamples: 0,
      sentWords: 0,
      timer: undefined,
      inputAudioMs: plan.kind === 'message' ? plan.inputAudioMs : 0,
    };
    this.active = r;
    ctx.emit({ type: 'response.created', event_id: ctx.id('event'), response: this.responseObject(r, 'in_progress', []) });
    if (plan.kind === 'function_call') {
      this.callFunction(r, plan.tool);
      return;
    }
    const item = this.assistantItem(r, 'in_progress', null);
    ctx.emit({ type: 'response.output_item.added', event_id: ctx.id('event'), response_id: r.id, output_index: 0, item });
    this.addToConversation(r, { item, audioSamples: 0 });
    ctx.emit({
      type: 'response.content_part.added',
      event_id: ctx.id('event'),
      response_id: r.id,
      item_id: r.itemId,
      output_index: 0,
      content_index: 0,
      part: audioOut ? { type: 'audio', transcript: '' } : { type: 'text', text: '' },
    });
    this.streamNext();
  }

  private addToConversation(r: Active, stored: StoredItem): void {
    // Out-of-band output is the client's alone: the provider does not add it to the conversation.
    if (!r.params.outOfBand) this.conversation.add(stored, { done: false });
  }

  private callFunction(r: Active, tool: FunctionTool): void {
    const { ctx } = this;
    const args = minimalArguments(tool);
    const base = { id: r.itemId, type: 'function_call', object: 'realtime.item', call_id: ctx.id('call'), name: tool.name } as const;
    const added: Item = { ...base, status: 'in_progress', arguments: '' };
    ctx.emit({ type: 'response.output_item.added', event_id: ctx.id('event'), response_id: r.id, output_index: 0, item: added });
    this.addToConversation(r, { item: added, audioSamples: 0 });
    const common = { response_id: r.id, item_id: r.itemId, output_index: 0, call_id: base.call_id };
    ctx.emit({ type: 'response.function_call_arguments.delta', event_id: ctx.id('event'), ...common, delta: args, obfuscation: obfuscation(args) });
    ctx.emit({ type: 'response.function_call_arguments.done', event_id: ctx.id('event'), ...common, name: tool.name, arguments: args });
    const done: Item = { ...base, status: 'completed', arguments: args };
    if (!r.params.outOfBand) this.conversation.finish(done);
    ctx.emit({ type: 'response.output_item.done', event_id: ctx.id('event'), response_id: r.id, output_index: 0, item: done });
    this.active = null;
    this.done(r, 'completed', [done], Math.ceil(args.length / 4));
  }

  private streamNext(): void {
    const r = this.active;
    if (!r) return;
    const { ctx } = this;
    const stored = this.conversation.get(r.itemId);
    if (r.audioOut && r.sentSamples < r.audio.length) {
      const chunk = r.audio.subarray(r.sentSamples, r.sentSamples + DELTA_SAMPLES);
      r.sentSamples += chunk.length;
      if (stored) stored.audioSamples = r.sentSamples;
      ctx.emit({ type: 'response.output_audio.delta', event_id: ctx.id('event'), response_id: r.id, item_id: r.itemId, output_index: 0, content_index: 0, delta: encodePcm16(chunk) });
    }
    // Spread the transcript over the audio so text and sound arrive together.
    const totalSteps = Math.max(1, Math.ceil(r.audio.length / DELTA_SAMPLES));
    const step = Math.max(1, Math.ceil(r.sentSamples / DELTA_SAMPLES));
    const wordsDue = r.audioOut ? Math.ceil((r.words.length * step) / totalSteps) : Math.min(r.words.length, r.sentWords + 3);
    if (wordsDue > r.sentWords) {
      const delta = r.words.slice(r.sentWords, wordsDue).join('');
      r.sentWords = wordsDue;
      const common = { event_id: ctx.id('event'), response_id: r.id, item_id: r.itemId, output_index: 0, content_index: 0, delta, obfuscation: obfuscation(delta) };
      if (r.audioOut) ctx.emit({ type: 'response.output_audio_transcript.delta', ...common });
      else ctx.emit({ type: 'response.output_text.delta', ...common });
    }
    if (r.sentSamples >= r.audio.length && r.sentWords >= r.words.length) {
      this.finish('completed');
      return;
    }
    r.timer = setTimeout(() => this.streamNext(), DELTA_MS / ctx.options.paceFactor);
  }

  private finish(status: 'completed' | 'cancelled', reason?: 'turn_detected' | 'client_cancelled'): void {
    const r = this.active;
    if (!r) return;
    const { ctx } = this;
    clearTimeout(r.timer);
    this.active = null;
    const heard = r.words.slice(0, r.sentWords).join('');
    const common = { response_id: r.id, item_id: r.itemId, output_index: 0, content_index: 0 };
    if (r.audioOut) {
      ctx.emit({ type: 'response.output_audio.done', event_id: ctx.id('event'), ...common });
      ctx.emit({ type: 'response.output_audio_transcript.done', event_id: ctx.id('event'), ...common, transcript: heard });
    } else {
      ctx.emit({ type: 'response.output_text.done', event_id: ctx.id('event'), ...common, text: heard });
    }
    ctx.emit({ type: 'response.content_part.done', event_id: ctx.id('event'), ...common, part: r.audioOut ? { type: 'audio', transcript: heard } : { type: 'text', text: heard } });
    const item = this.assistantItem(r, status === 'completed' ? 'completed' : 'incomplete', heard);
    if (!r.params.outOfBand) this.conversation.finish(item);
    ctx.emit({ type: 'response.output_item.done', event_id: ctx.id('event'), response_id: r.id, output_index: 0, item });
    const outAudio = Math.ceil((r.sentSamples * 1000) / WIRE_SAMPLE_RATE / 50);
    this.done(r, status, [item], outAudio + Math.ceil(heard.length / 4), reason);
  }

  /** `response.done`, then (as the provider does, just after it) `rate_limits.updated`. */
  private done(r: Active, status: 'completed' | 'cancelled', output: ConversationItem[], outputTokens: number, reason?: 'turn_detected' | 'client_cancelled'): void {
    const { ctx } = this;
    const response = this.responseObject(r, status, output);
    const usage = this.usage(r, outputTokens);
    response.usage = usage;
    if (status === 'cancelled') response.status_details = { type: 'cancelled', reason: reason ?? 'client_cancelled' };
    ctx.emit({ type: 'response.done', event_id: ctx.id('event'), response });
    this.tokensUsed += usage.total_tokens ?? 0;
    ctx.emit({
      type: 'rate_limits.updated',
      event_id: ctx.id('event'),
      rate_limits: [{ name: 'tokens', limit: TOKENS_PER_MINUTE_LIMIT, remaining: Math.max(0, TOKENS_PER_MINUTE_LIMIT - this.tokensUsed), reset_seconds: 0.6 }],
    });
  }

  private assistantItem(r: Active, status: 'in_progress' | 'completed' | 'incomplete', heard: string | null): Item {
    // The provider announces the item with no content yet, then fills it in at `done`.
    const content: Extract<ConversationItem, { role: 'assistant' }>['content'] =
      heard === null ? [] : [r.audioOut ? { type: 'output_audio', transcript: heard } : { type: 'output_text', text: heard }];
    return { id: r.itemId, type: 'message', role: 'assistant', status, object: 'realtime.item', content };
  }

  private responseObject(r: Active, status: RealtimeResponse['status'], output: ConversationItem[]): RealtimeResponse {
    const session = this.ctx.session();
    const voice = session.type === 'realtime' && typeof session.audio?.output?.voice === 'string' ? session.audio.output.voice : 'marin';
    return {
      id: r.id,
      object: 'realtime.response',
      status,
      status_details: null as never,
      output,
      conversation_id: r.params.outOfBand ? (null as never) : this.conversationId,
      output_modalities: r.params.modalities,
      max_output_tokens: r.params.maxOutputTokens,
      audio: { output: { format: { type: 'audio/pcm', rate: 24000 }, voice } },
      usage: null as never,
      metadata: r.params.metadata,
    };
  }

  /** Plausible token counts: ~10 audio tokens per second heard, ~20 per second spoken, ~4 characters per text token. */
  private usage(r: Active, outputTokens: number): RealtimeResponseUsage {
    const inAudio = Math.ceil(r.inputAudioMs / 100);
    const contextText = (r.params.input ?? this.conversation.all()).reduce((n, s) => n + (s.utterance ? 0 : (s.text?.length ?? 0)), 0);
    const inText = Math.ceil((r.params.instructions.length + contextText) / 4);
    const outAudio = r.audioOut ? Math.ceil((r.sentSamples * 1000) / WIRE_SAMPLE_RATE / 50) : 0;
    return {
      input_tokens: inAudio + inText,
      output_tokens: outputTokens,
      total_tokens: inAudio + inText + outputTokens,
      input_token_details: {
        text_tokens: inText,
        audio_tokens: inAudio,
        image_tokens: 0,
        cached_tokens: 0,
        cached_tokens_details: { text_tokens: 0, audio_tokens: 0, image_tokens: 0 },
      },
      output_token_details: { text_tokens: outputTokens - outAudio, audio_tokens: outAudio },
    };
  }
}
