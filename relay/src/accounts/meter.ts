// Per-session usage counters, fed by the session bridge's hooks (../session/hooks.ts) on every frame.
// HOT PATH: an `input_audio_buffer.append` arrives every 20 ms per session and is ~1.3 KB. Counting it costs a
// string compare on the type, a few native `indexOf` jumps to find the `"audio":"` value and its closing quote,
// and integer adds — no JSON.parse, no base64 decode, no allocation. accounting.ts drains the counters as
// deltas on its group-commit tick.
import { WIRE_SAMPLE_RATE } from '../../../protocol/constants.ts';

/** pcm16 mono at the wire rate: 48 000 bytes per second of audio, both directions. */
export const PCM16_BYTES_PER_SECOND = WIRE_SAMPLE_RATE * 2;

/** Everything metered for a session (or summed for a user): integers, so totals add up exactly. */
export interface UsageCounters {
  connectedMs: number;
  inputAudioBytes: number;
  outputAudioBytes: number;
  textInputTokens: number;
  textOutputTokens: number;
  audioInputTokens: number;
  audioOutputTokens: number;
}

export function zeroCounters(): UsageCounters {
  return { connectedMs: 0, inputAudioBytes: 0, outputAudioBytes: 0, textInputTokens: 0, textOutputTokens: 0, audioInputTokens: 0, audioOutputTokens: 0 };
}

export function addCounters(into: UsageCounters, delta: UsageCounters): void {
  into.connectedMs += delta.connectedMs;
  into.inputAudioBytes += delta.inputAudioBytes;
  into.outputAudioBytes += delta.outputAudioBytes;
  into.textInputTokens += delta.textInputTokens;
  into.textOutputTokens += delta.textOutputTokens;
  into.audioInputTokens += delta.audioInputTokens;
  into.audioOutputTokens += delta.audioOutputTokens;
}

function subtract(a: UsageCounters, b: UsageCounters): UsageCounters {
  return {
    connectedMs: a.connectedMs - b.connectedMs,
    inputAudioBytes: a.inputAudioBytes - b.inputAudioBytes,
    outputAudioBytes: a.outputAudioBytes - b.outputAudioBytes,
    textInputTokens: a.textInputTokens - b.textInputTokens,
    textOutputTokens: a.textOutputTokens - b.textOutputTokens,
    audioInputTokens: a.audioInputTokens - b.audioInputTokens,
    audioOutputTokens: a.audioOutputTokens - b.audioOutputTokens,
  };
}

export function isZero(c: UsageCounters): boolean {
  return (
    c.connectedMs === 0 &&
    c.inputAudioBytes === 0 &&
    c.outputAudioBytes === 0 &&
    c.textInputTokens === 0 &&
    c.textOutputTokens === 0 &&
    c.audioInputTokens === 0 &&
    c.audioOutputTokens === 0
  );
}

/** Tokens the provider billed: text and audio, input and output (from `response.done` usage). */
export function billedTokens(c: Pick<UsageCounters, 'textInputTokens' | 'textOutputTokens' | 'audioInputTokens' | 'audioOutputTokens'>): number {
  return c.textInputTokens + c.textOutputTokens + c.audioInputTokens + c.audioOutputTokens;
}

/** Seconds of pcm16 audio in `bytes`. */
export function audioSeconds(bytes: number): number {
  return bytes / PCM16_BYTES_PER_SECOND;
}

/**
 * "Spoken" seconds, the unit quotas are written in: audio the user sent plus audio the assistant produced —
 * what the provider bills as audio. Note a hands-free client streams its mic all the time (server VAD needs
 * it), so the input half is close to connected time.
 */
export function spokenSeconds(c: Pick<UsageCounters, 'inputAudioBytes' | 'outputAudioBytes'>): number {
  return audioSeconds(c.inputAudioBytes + c.outputAudioBytes);
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const EQUALS = 0x3d;
const COLON = 0x3a;

function isSpace(c: number | undefined): boolean {
  return c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d;
}

/** Bytes that `chars` base64 characters decode to, `padding` of them being trailing `=`. Unpadded works too. */
export function base64DecodedBytes(chars: number, padding: number): number {
  return Math.floor(((chars - padding) * 3) / 4);
}

// HOT PATH (every output_audio delta): the span is written into this one object, not returned as a fresh tuple
// per frame (72 B a frame pair in bench:alloc's heap profile). Single-threaded: read it right after the call.
const span = { start: 0, end: 0, padding: 0 };
const FOUND = 0;
const SLOW = 1;
const NONE = 2;
type SpanResult = typeof FOUND | typeof SLOW | typeof NONE;

/**
 * Decoded byte length of the base64 string value of key `key` in a JSON event frame, without parsing or
 * decoding it. A quoted `"key"` followed by `:` cannot occur inside a JSON string (its quotes would be
 * escaped), so the first such match is a real key. Falls back to JSON.parse when the value holds escapes, or
 * when the rest of the frame is bigger than `maxOverhead` — so a client cannot hide its audio behind a small
 * decoy `audio` key nested elsewhere. 0 when there is no such string value.
 */
export function base64FieldBytes(frame: string | Uint8Array, key: string, maxOverhead = Infinity): number {
  const found = typeof frame === 'string' ? spanInString(frame, key) : spanInBytes(frame, needleFor(key));
  if (found === SLOW) return slow(frame, key);
  if (found === NONE) return frame.length > maxOverhead ? slow(frame, key) : 0;
  if (frame.length - (span.end - span.start) > maxOverhead) return slow(frame, key);
  return base64DecodedBytes(span.end - span.start, span.padding);
}

function spanInString(frame: string, key: string): SpanResult {
  const needle = `"${key}"`;
  for (let at = frame.indexOf(needle); at !== -1; at = frame.indexOf(needle, at + 1)) {
    let i = at + needle.length;
    while (isSpace(frame.charCodeAt(i))) i++;
    if (frame.charCodeAt(i) !== COLON) continue;
    i++;
    while (isSpace(frame.charCodeAt(i))) i++;
    if (frame.charCodeAt(i) !== QUOTE) return SLOW;
    const start = i + 1;
    const end = frame.indexOf('"', start);
    if (end === -1) return NONE;
    const bs = frame.indexOf('\\', start);
    if (bs !== -1 && bs < end) return SLOW;
    let padding = 0;
    if (end > start && frame.charCodeAt(end - 1) === EQUALS) padding++;
    if (end - 1 > start && frame.charCodeAt(end - 2) === EQUALS) padding++;
    span.start = start;
    span.end = end;
    span.padding = padding;
    return FOUND;
  }
  return NONE;
}

const encoder = new TextEncoder();
const needles = new Map<string, Uint8Array>();
function needleFor(key: string): Uint8Array {
  let needle = needles.get(key);
  if (!needle) needles.set(key, (needle = encoder.encode(`"${key}"`)));
  return needle;
}
/** The output delta's key, looked up once: every `response.output_audio.delta` is metered (no Map lookup a frame). */
const DELTA_NEEDLE = needleFor('delta');

/** base64FieldBytes(frame, 'delta') for a provider's output audio delta, the one metered on every server frame. */
function outputDeltaBytes(frame: string | Uint8Array): number {
  if (typeof frame === 'string') return base64FieldBytes(frame, 'delta');
  const found = spanInBytes(frame, DELTA_NEEDLE);
  if (found === SLOW) return slow(frame, 'delta');
  return found === NONE ? 0 : base64DecodedBytes(span.end - span.start, span.padding);
}

// Node's Buffer#indexOf is memchr in C++ and accepts any Uint8Array as `this` — ~20 ns for a 1.3 KB append,
// where %TypedArray%.prototype.indexOf walks it element by element (~400 ns) and wrapping the frame in a
// Buffer view first costs ~100 ns.
const bufferIndexOf = Buffer.prototype.indexOf;
function memchr(frame: Uint8Array, byte: number, from: number): number {
  return bufferIndexOf.call(frame as Buffer, byte, from);
}

function spanInBytes(frame: Uint8Array, needle: Uint8Array): SpanResult {
  // One native search for the quoted key, skipping matches not followed by a colon (a string value spelled like
  // the key), then one to the value's closing quote: the same matches as jumping quote to quote, which cost one
  // native call per string token before the key (~14 for a provider's delta).
  for (let q = bufferIndexOf.call(frame as Buffer, needle, 0); q !== -1; q = bufferIndexOf.call(frame as Buffer, needle, q + 1)) {
    let i = q + needle.length;
    while (isSpace(frame[i])) i++;
    if (frame[i] !== COLON) continue;
    i++;
    while (isSpace(frame[i])) i++;
    if (frame[i] !== QUOTE) return SLOW;
    const start = i + 1;
    const end = memchr(frame, QUOTE, start);
    if (end === -1) return NONE;
    const bs = memchr(frame, BACKSLASH, start);
    if (bs !== -1 && bs < end) return SLOW;
    let padding = 0;
    if (end > start && frame[end - 1] === EQUALS) padding++;
    if (end - 1 > start && frame[end - 2] === EQUALS) padding++;
    span.start = start;
    span.end = end;
    span.padding = padding;
    return FOUND;
  }
  return NONE;
}

const decoder = new TextDecoder();

/** The careful path for odd frames: parse, and let Buffer count the base64 (byteLength does not decode). */
function slow(frame: string | Uint8Array, key: string): number {
  try {
    const value: unknown = JSON.parse(typeof frame === 'string' ? frame : decoder.decode(frame));
    const field = typeof value === 'object' && value !== null ? (value as Record<string, unknown>)[key] : undefined;
    return typeof field === 'string' ? Buffer.byteLength(field, 'base64') : 0;
  } catch {
    return 0;
  }
}

/** Appends carry ~60-100 bytes besides the audio (type, event_id); a frame with more gets a full parse. */
export const MAX_APPEND_OVERHEAD = 512;

/** Bytes of every `input_audio` content part of `items` (message items; anything else counts 0). */
function inputAudioOf(items: unknown[]): number {
  let bytes = 0;
  for (const item of items) {
    const content = (item as { content?: unknown } | null)?.content;
    if (!Array.isArray(content)) continue;
    for (const part of content as unknown[]) {
      if (typeof part !== 'object' || part === null) continue;
      const { type, audio } = part as { type?: unknown; audio?: unknown };
      if (type === 'input_audio' && typeof audio === 'string') bytes += Buffer.byteLength(audio, 'base64');
    }
  }
  return bytes;
}

/**
 * Audio a client sends inside events rather than appends — `input_audio` content parts of a
 * `conversation.item.create` item, or of the `input` items of a `response.create` (an out-of-band response's own
 * input): the provider hears and bills it like appended audio, so it counts as spoken input. These events are
 * rare (a client replaying a conversation), so a full parse is fine; Buffer counts the base64 without decoding it.
 */
export function itemAudioBytes(frame: string | Uint8Array): number {
  let event: unknown;
  try {
    event = JSON.parse(typeof frame === 'string' ? frame : decoder.decode(frame));
  } catch {
    return 0;
  }
  if (typeof event !== 'object' || event === null) return 0;
  const { item, response } = event as { item?: unknown; response?: { input?: unknown } | null };
  const input = response?.input;
  return inputAudioOf([item, ...(Array.isArray(input) ? (input as unknown[]) : [])]);
}

interface TokenDetails {
  text_tokens?: unknown;
  audio_tokens?: unknown;
  image_tokens?: unknown;
}

interface UsageShape {
  input_tokens?: unknown;
  output_tokens?: unknown;
  input_token_details?: TokenDetails;
  output_token_details?: TokenDetails;
}

function tokens(n: unknown): number {
  return typeof n === 'number' && Number.isFinite(n) && n > 0 ? Math.floor(n) : 0;
}

/**
 * One side (input or output) of a usage object as [text, audio] tokens. The provider's total for the side is
 * what it bills, so whatever is not audio counts as text: image tokens (an `input_image` part) and any kind of
 * token a newer API adds to the total would otherwise be billed and never metered.
 */
function split(total: unknown, details: TokenDetails | undefined): [text: number, audio: number] {
  const audio = tokens(details?.audio_tokens);
  const listed = tokens(details?.text_tokens) + tokens(details?.image_tokens) + audio;
  return [Math.max(tokens(total), listed) - audio, audio];
}

/** The provider's bill for transcribing one user turn (realtime and transcription sessions alike). */
export const INPUT_TRANSCRIPTION_COMPLETED = 'conversation.item.input_audio_transcription.completed';

/** Counters of one live session. Single-threaded: the bridge and the accounting tick share one event loop. */
export class SessionMeter {
  private readonly total = zeroCounters();
  /** What take() has already handed out. */
  private taken = zeroCounters();
  private markAt: number;

  constructor(startedAt: number) {
    this.markAt = startedAt;
  }

  /**
   * `audioBytes`: the decoded audio of an append whose scan (policy/append-scan.ts) already found it, so the frame
   * is not searched twice; -1 when unknown (relay-made or re-serialised frames), and the meter finds it itself.
   */
  onClientFrame(type: string, frame: string | Uint8Array, audioBytes = -1): void {
    // `session.input_audio_buffer.append` is the GA alias of the same event (same `audio` field): billed the same.
    if (type === 'input_audio_buffer.append' || type === 'session.input_audio_buffer.append') this.total.inputAudioBytes += audioBytes >= 0 ? audioBytes : base64FieldBytes(frame, 'audio', MAX_APPEND_OVERHEAD);
    else if (type === 'conversation.item.create' || type === 'response.create') this.total.inputAudioBytes += itemAudioBytes(frame);
  }

  onServerFrame(type: string, frame: string | Uint8Array): void {
    if (type === 'response.output_audio.delta') this.total.outputAudioBytes += outputDeltaBytes(frame);
    else if (type === 'response.done' || type === INPUT_TRANSCRIPTION_COMPLETED) this.addUsage(type, frame);
  }

  /**
   * Billed tokens: a response's (`response.done`), and the input transcription's, which the provider bills on its
   * own (`…input_audio_transcription.completed`, the only bill of a transcription session, which has no
   * responses; a `usage` of `type: "duration"` bills seconds the minutes already count). Both come once per turn
   * and carry no audio: parsing them is fine.
   */
  private addUsage(type: string, frame: string | Uint8Array): void {
    let usage: (UsageShape & { type?: unknown }) | undefined;
    try {
      const event = JSON.parse(typeof frame === 'string' ? frame : decoder.decode(frame)) as { response?: { usage?: UsageShape }; usage?: UsageShape & { type?: unknown } };
      usage = type === 'response.done' ? event.response?.usage : event.usage;
    } catch {
      return;
    }
    if (typeof usage !== 'object' || usage === null || (type === INPUT_TRANSCRIPTION_COMPLETED && usage.type !== 'tokens')) return;
    const [textIn, audioIn] = split(usage.input_tokens, usage.input_token_details);
    const [textOut, audioOut] = split(usage.output_tokens, usage.output_token_details);
    this.total.textInputTokens += textIn;
    this.total.audioInputTokens += audioIn;
    this.total.textOutputTokens += textOut;
    this.total.audioOutputTokens += audioOut;
  }

  /** Everything counted so far, connected time up to `now`. */
  snapshot(now: number): UsageCounters {
    this.advance(now);
    return { ...this.total };
  }

  /** Counted since the previous take() (connected time up to `now`); marks it taken. */
  take(now: number): UsageCounters {
    this.advance(now);
    const delta = subtract(this.total, this.taken);
    this.taken = { ...this.total };
    return delta;
  }

  /** Counted but not yet taken: what quota checks add on top of the stored totals. */
  pending(now: number): UsageCounters {
    this.advance(now);
    return subtract(this.total, this.taken);
  }

  private advance(now: number): void {
    if (now > this.markAt) {
      this.total.connectedMs += now - this.markAt;
      this.markAt = now;
    }
  }
}
