// The simulated conversation: the items the provider keeps per session, and the client events that edit them
// (`conversation.item.create/truncate/delete/retrieve`). Responses read it to decide what to answer.
import type { ConversationItem } from 'openai/resources/realtime/realtime';
import { WIRE_SAMPLE_RATE } from '../../../protocol/constants.ts';
import type { SimContext } from './context.ts';

export type Item = ConversationItem & { id: string };

export interface StoredItem {
  item: Item;
  /** pcm16 samples of an assistant item's audio, for truncate validation. */
  audioSamples: number;
  /** The words of a text message (or an audio message's transcript), what a reply answers. */
  text?: string;
  /** A user audio message's samples, what the echo plays back. */
  utterance?: Int16Array;
}

type Incoming = Record<string, unknown>;

/** Items kept; older ones are forgotten so a very long session does not grow memory. */
const MAX_ITEMS = 200;
/**
 * User audio kept across items (2 minutes of pcm16, 5.76 MB). Only the latest user turn is ever echoed, but 200
 * items of up to 60 s each would hold 576 MB per session — in the relay's own process when the simulator is its
 * backend, where a client appending big frames and committing could exhaust its memory (issue 11). Older items
 * keep their length (usage estimates) and lose their samples.
 */
export const MAX_KEPT_UTTERANCE_SAMPLES = WIRE_SAMPLE_RATE * 120;

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export class Conversation {
  private readonly ctx: SimContext;
  private readonly items = new Map<string, StoredItem>();
  private lastItemId: string | null = null;

  constructor(ctx: SimContext) {
    this.ctx = ctx;
  }

  get(id: string): StoredItem | undefined {
    return this.items.get(id);
  }

  /** Items in conversation order, oldest first. */
  all(): StoredItem[] {
    return [...this.items.values()];
  }

  lastId(): string | null {
    return this.lastItemId;
  }

  /** Stores an item and announces it: `added` now, `done` too unless the item is still being produced. */
  add(stored: StoredItem, options: { previous?: string | null; done: boolean }): void {
    const previous = options.previous !== undefined ? options.previous : this.lastItemId;
    this.items.set(stored.item.id, stored);
    this.lastItemId = stored.item.id;
    if (this.items.size > MAX_ITEMS) this.items.delete(this.items.keys().next().value as string);
    if (stored.utterance) this.forgetOldUtterances();
    this.ctx.emit({ type: 'conversation.item.added', event_id: this.ctx.id('event'), item: stored.item, previous_item_id: previous });
    if (options.done) this.ctx.emit({ type: 'conversation.item.done', event_id: this.ctx.id('event'), item: stored.item, previous_item_id: previous });
  }

  /** User audio samples held across all items (at most MAX_KEPT_UTTERANCE_SAMPLES). */
  keptUtteranceSamples(): number {
    let n = 0;
    for (const s of this.items.values()) n += s.utterance?.length ?? 0;
    return n;
  }

  /** Newest first, keeps utterances within the budget; older ones become empty (still audio messages, no samples). */
  private forgetOldUtterances(): void {
    let kept = 0;
    for (const s of [...this.items.values()].reverse()) {
      if (!s.utterance || s.utterance.length === 0) continue;
      if (kept > 0 && kept + s.utterance.length > MAX_KEPT_UTTERANCE_SAMPLES) s.utterance = new Int16Array(0);
      else kept += s.utterance.length;
    }
  }

  /** Replaces a stored item (a response finished it) and announces `done`. */
  finish(item: Item): void {
    const stored = this.items.get(item.id);
    if (stored) stored.item = item;
    this.ctx.emit({ type: 'conversation.item.done', event_id: this.ctx.id('event'), item });
  }

  /** Validates a client-supplied item (from `conversation.item.create` or `response.create`'s `input`). */
  parseItem(raw: unknown, param: string, eventId: string | null): StoredItem | null {
    const fail = (code: string, message: string, p: string): null => {
      this.ctx.error(code, message, p, eventId);
      return null;
    };
    if (!isObject(raw)) return fail('missing_required_parameter', `Missing required parameter: '${param}'.`, param);
    const id = typeof raw.id === 'string' && raw.id.length > 0 ? raw.id.slice(0, 64) : this.ctx.id('item');
    if (raw.type === 'function_call_output') {
      if (typeof raw.call_id !== 'string') return fail('missing_required_parameter', `Missing required parameter: '${param}.call_id'.`, `${param}.call_id`);
      if (typeof raw.output !== 'string') return fail('invalid_type', `Invalid type for '${param}.output': expected a string.`, `${param}.output`);
      const item = { type: 'function_call_output', id, object: 'realtime.item', status: 'completed', call_id: raw.call_id, output: raw.output } satisfies Item;
      return { item, audioSamples: 0, text: raw.output };
    }
    if (raw.type === 'function_call') {
      if (typeof raw.name !== 'string' || typeof raw.call_id !== 'string' || typeof raw.arguments !== 'string') {
        return fail('missing_required_parameter', `A function_call item needs string 'name', 'call_id' and 'arguments'.`, param);
      }
      const item = { type: 'function_call', id, object: 'realtime.item', status: 'completed', name: raw.name, call_id: raw.call_id, arguments: raw.arguments } satisfies Item;
      return { item, audioSamples: 0 };
    }
    if (raw.type !== 'message' || (raw.role !== 'user' && raw.role !== 'system' && raw.role !== 'assistant')) {
      return fail('invalid_value', "The simulator supports 'message' items (role 'user', 'system' or 'assistant'), 'function_call' and 'function_call_output'.", `${param}.type`);
    }
    if (!Array.isArray(raw.content)) return fail('invalid_type', `Invalid type for '${param}.content': expected an array.`, `${param}.content`);
    const texts: string[] = [];
    for (const part of raw.content as unknown[]) {
      if (!isObject(part) || typeof part.type !== 'string') return fail('invalid_type', `Invalid type for '${param}.content[]': expected an object with a 'type'.`, `${param}.content`);
      if (typeof part.text === 'string') texts.push(part.text);
      else if (typeof part.transcript === 'string') texts.push(part.transcript);
    }
    const item = { ...raw, id, object: 'realtime.item', status: 'completed' } as Item;
    return { item, audioSamples: 0, text: texts.join(' ') };
  }

  onCreate(event: Incoming, eventId: string | null): void {
    const stored = this.parseItem(event.item, 'item', eventId);
    if (!stored) return;
    const previous = typeof event.previous_item_id === 'string' ? event.previous_item_id : this.lastItemId;
    this.add(stored, { previous, done: true });
  }

  onTruncate(event: Incoming, eventId: string | null): { itemId: string } | null {
    const fail = (code: string, message: string, param: string): null => {
      this.ctx.error(code, message, param, eventId);
      return null;
    };
    const itemId = event.item_id;
    const audioEndMs = event.audio_end_ms;
    if (typeof itemId !== 'string') return fail('missing_required_parameter', "Missing required parameter: 'item_id'.", 'item_id');
    if (typeof audioEndMs !== 'number' || !Number.isInteger(audioEndMs) || audioEndMs < 0) {
      return fail('invalid_value', "Invalid 'audio_end_ms': expected a non-negative integer.", 'audio_end_ms');
    }
    if (event.content_index !== 0) return fail('invalid_value', "Invalid 'content_index': only 0 is supported for audio items.", 'content_index');
    const stored = this.items.get(itemId);
    if (!stored) return fail('item_truncate_invalid_item_id', `Item with item_id not found: ${itemId}`, 'item_id');
    if (stored.item.type !== 'message' || stored.item.role !== 'assistant' || stored.audioSamples === 0) {
      return fail('item_truncate_invalid_item_id', 'Only assistant messages with audio can be truncated.', 'item_id');
    }
    const durationMs = Math.floor((stored.audioSamples * 1000) / WIRE_SAMPLE_RATE);
    if (audioEndMs > durationMs) {
      return fail('invalid_value', `Audio content of ${durationMs}ms is already shorter than ${audioEndMs}ms`, 'audio_end_ms');
    }
    stored.audioSamples = Math.floor((audioEndMs * WIRE_SAMPLE_RATE) / 1000);
    return { itemId };
  }

  announceTruncated(itemId: string, audioEndMs: number): void {
    this.ctx.emit({ type: 'conversation.item.truncated', event_id: this.ctx.id('event'), item_id: itemId, content_index: 0, audio_end_ms: audioEndMs });
  }

  onDelete(event: Incoming, eventId: string | null): void {
    const itemId = event.item_id;
    if (typeof itemId !== 'string' || !this.items.delete(itemId)) {
      this.ctx.error('item_delete_invalid_item_id', `Item with item_id not found: ${String(itemId)}`, 'item_id', eventId);
      return;
    }
    if (this.lastItemId === itemId) this.lastItemId = this.all().at(-1)?.item.id ?? null;
    this.ctx.emit({ type: 'conversation.item.deleted', event_id: this.ctx.id('event'), item_id: itemId });
  }

  onRetrieve(event: Incoming, eventId: string | null): void {
    const stored = typeof event.item_id === 'string' ? this.items.get(event.item_id) : undefined;
    if (!stored) {
      this.ctx.error('item_retrieve_invalid_item_id', `Item with item_id not found: ${String(event.item_id)}`, 'item_id', eventId);
      return;
    }
    this.ctx.emit({ type: 'conversation.item.retrieved', event_id: this.ctx.id('event'), item: stored.item });
  }
}
