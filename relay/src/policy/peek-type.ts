// Reads a client event's `type` without parsing the whole frame. Audio appends are ~1.3 KB per 20 ms and the
// relay forwards them verbatim, so the hot path only looks at the first bytes.
import type { ClientEventType, ServerEventType } from '../../../protocol/realtime.ts';

const OPEN_BRACE = 0x7b;
const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const PREFIX = Uint8Array.from(Buffer.from('"type"'));
const decoder = new TextDecoder('utf-8', { fatal: true });

/**
 * The types that make up nearly every frame of a conversation, returned as these very literals (issue 17). Slicing
 * the type out of the Buffer is a native call and a new string per frame; comparing ~30 bytes here is neither, and
 * a literal is an internalized string, so the `type === '…'` tests after this are pointer compares.
 */
const HOT_TYPES = [
  'response.output_audio.delta',
  'response.output_audio_transcript.delta',
  'response.output_text.delta',
  'conversation.item.input_audio_transcription.delta',
  'input_audio_buffer.append',
] as const satisfies ReadonlyArray<ServerEventType | ClientEventType>;
/** HOT_TYPES by length: at most a couple of byte compares per frame. */
const HOT_BY_LENGTH: Array<Array<{ bytes: Uint8Array; type: string }>> = [];
for (const type of HOT_TYPES) (HOT_BY_LENGTH[type.length] ??= []).push({ bytes: Uint8Array.from(Buffer.from(type, 'latin1')), type });

/** The literal from HOT_TYPES spelled by frame[start, end), if any. */
function hotType(frame: Uint8Array, start: number, end: number): string | null {
  const candidates = HOT_BY_LENGTH[end - start];
  if (candidates === undefined) return null;
  for (const { bytes, type } of candidates) {
    let k = 0;
    while (k < bytes.length && frame[start + k] === bytes[k]) k++;
    if (k === bytes.length) return type;
  }
  return null;
}

function isSpace(b: number | undefined): boolean {
  return b === 0x20 || b === 0x09 || b === 0x0a || b === 0x0d;
}

/**
 * The top-level `type` string of a JSON event, or null if the frame is not a JSON object with a string `type`.
 * Fast path: `{"type":"…"` at the start is provably the top-level key. Otherwise the frame is parsed in full.
 */
export function peekType(frame: Uint8Array): string | null {
  let i = 0;
  while (isSpace(frame[i])) i++;
  if (frame[i] !== OPEN_BRACE) return null;
  i++;
  while (isSpace(frame[i])) i++;
  let fast = true;
  for (let k = 0; k < PREFIX.length; k++) {
    if (frame[i + k] !== PREFIX[k]) {
      fast = false;
      break;
    }
  }
  if (fast) {
    i += PREFIX.length;
    while (isSpace(frame[i])) i++;
    if (frame[i] === 0x3a) {
      i++;
      while (isSpace(frame[i])) i++;
      if (frame[i] === QUOTE) {
        const start = i + 1;
        let end = start;
        let ascii = true;
        for (; end < frame.length && end - start < 128; end++) {
          const b = frame[end]!;
          if (b === QUOTE || b === BACKSLASH) break;
          if (b >= 0x80) ascii = false;
        }
        if (frame[end] === QUOTE) {
          const hot = ascii ? hotType(frame, start, end) : null;
          if (hot !== null) return hot;
          // Any other ASCII type from a Buffer is sliced natively, no view, no decoder.
          if (ascii && Buffer.isBuffer(frame)) return frame.toString('latin1', start, end);
          try {
            return decoder.decode(frame.subarray(start, end));
          } catch {
            return null;
          }
        }
      }
    }
  }
  return slowType(frame);
}

function slowType(frame: Uint8Array): string | null {
  try {
    const value: unknown = JSON.parse(decoder.decode(frame));
    if (typeof value !== 'object' || value === null || Array.isArray(value)) return null;
    const type = (value as { type?: unknown }).type;
    return typeof type === 'string' ? type : null;
  } catch {
    return null;
  }
}
