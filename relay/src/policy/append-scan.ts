// HOT PATH (relay event loop, 50 frames/s per session): proves that a client frame is a plain audio append, so it
// may go upstream byte for byte without being parsed. One pass over the bytes, no allocation. The proof is strict
// on purpose: a frame is a plain append only if it is exactly one JSON object whose keys are spelled
//   "type" (exactly once), "audio" (exactly once), "event_id" (at most once)
// with no escapes anywhere, string values only, `type` one of the two append types, `event_id` printable ASCII,
// and nothing after the closing brace. Every other frame — a duplicate or escaped key (`"\u0074ype"`), an escaped
// value, an extra key, a nested value — takes the slow path (event-gate.ts), where it is parsed, checked and
// re-serialised, so a parser upstream cannot read it differently from the relay (issue 11, finding 2).
//
// The audio string (~1.3 KB of the ~1.35 KB frame) is searched with Buffer's native indexOf/lastIndexOf for its
// closing quote and for any backslash, not walked byte by byte in JS against the base64 alphabet: measured
// (bench/gate.ts) the JS walk costs about as much as JSON.parse of the whole frame, the native search ~30× less.
// Only `"` and `\` can change where a JSON parser ends that string; any other non-base64 byte is either invalid
// JSON for every parser (a raw control byte) or invalid base64, which the provider refuses on its own.

export type AppendType = 'input_audio_buffer.append' | 'session.input_audio_buffer.append';

/** Where a proven append's audio string lies (between its quotes), filled by scanAppend for the usage meter. */
export interface AppendSpan {
  audioStart: number;
  audioEnd: number;
}

const QUOTE = 0x22;
const COLON = 0x3a;
const COMMA = 0x2c;
const OPEN = 0x7b;
const CLOSE = 0x7d;

const ascii = (s: string): Uint8Array => Uint8Array.from(s, (c) => c.charCodeAt(0));
// Key spellings including the closing quote, compared byte for byte after the opening one.
const KEY_TYPE = ascii('type"');
const KEY_AUDIO = ascii('audio"');
const KEY_EVENT_ID = ascii('event_id"');
const APPEND = ascii('input_audio_buffer.append"');
const SESSION_APPEND = ascii('session.input_audio_buffer.append"');

const BACKSLASH = 0x5c;
/** 1 = printable ASCII other than `"` and `\` (what an event_id may hold on the fast path). */
const PLAIN = new Uint8Array(256);
for (let b = 0x20; b < 0x7f; b++) if (b !== QUOTE && b !== 0x5c) PLAIN[b] = 1;

function skipSpace(f: Buffer, i: number): number {
  for (;;) {
    const b = f[i];
    if (b !== 0x20 && b !== 0x09 && b !== 0x0a && b !== 0x0d) return i;
    i++;
  }
}

/** `word` (ending in the closing quote) starts at `i`. */
function startsWith(f: Buffer, i: number, word: Uint8Array): boolean {
  if (i + word.length > f.length) return false;
  for (let k = 0; k < word.length; k++) if (f[i + k] !== word[k]) return false;
  return true;
}

/** Index just past a short string's closing quote if every byte before it is PLAIN, else -1. `i` is after the opening quote. */
function endOfPlain(f: Buffer, i: number): number {
  const n = f.length;
  while (i < n && PLAIN[f[i]!] === 1) i++;
  return f[i] === QUOTE ? i + 1 : -1;
}

/** Like endOfPlain for a long string, with native searches: -1 if it has a backslash or no closing quote. */
function endOfAudio(f: Buffer, i: number): number {
  const end = f.indexOf(QUOTE, i);
  if (end < 0) return -1;
  const backslash = f.lastIndexOf(BACKSLASH, end);
  return backslash >= i ? -1 : end + 1;
}

/**
 * The append type if `frame` is provably a plain append (see the file header), else null: take the slow path.
 * Pass a Buffer on the hot path (a view costs nothing more than the Uint8Array view it replaces); anything else is
 * wrapped first.
 */
export function scanAppend(bytes: Uint8Array, span?: AppendSpan): AppendType | null {
  const frame = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let i = skipSpace(frame, 0);
  if (frame[i] !== OPEN) return null;
  let type: AppendType | null = null;
  let audio = false;
  let eventId = false;
  i = skipSpace(frame, i + 1);
  for (;;) {
    if (frame[i] !== QUOTE) return null;
    i++;
    let key: 'type' | 'audio' | 'event_id';
    if (startsWith(frame, i, KEY_TYPE)) {
      key = 'type';
      i += KEY_TYPE.length;
    } else if (startsWith(frame, i, KEY_AUDIO)) {
      key = 'audio';
      i += KEY_AUDIO.length;
    } else if (startsWith(frame, i, KEY_EVENT_ID)) {
      key = 'event_id';
      i += KEY_EVENT_ID.length;
    } else return null;
    i = skipSpace(frame, i);
    if (frame[i] !== COLON) return null;
    i = skipSpace(frame, i + 1);
    if (frame[i] !== QUOTE) return null;
    i++;
    if (key === 'type') {
      if (type !== null) return null;
      if (startsWith(frame, i, APPEND)) {
        type = 'input_audio_buffer.append';
        i += APPEND.length;
      } else if (startsWith(frame, i, SESSION_APPEND)) {
        type = 'session.input_audio_buffer.append';
        i += SESSION_APPEND.length;
      } else return null;
    } else if (key === 'audio') {
      if (audio) return null;
      audio = true;
      const start = i;
      i = endOfAudio(frame, i);
      if (span && i > 0) {
        span.audioStart = start;
        span.audioEnd = i - 1;
      }
    } else {
      if (eventId) return null;
      eventId = true;
      i = endOfPlain(frame, i);
    }
    if (i < 0) return null;
    i = skipSpace(frame, i);
    if (frame[i] === COMMA) {
      i = skipSpace(frame, i + 1);
      continue;
    }
    if (frame[i] !== CLOSE) return null;
    break;
  }
  if (type === null || !audio) return null;
  return skipSpace(frame, i + 1) === frame.length ? type : null;
}
