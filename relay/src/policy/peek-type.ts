// Reads a client event's `type` without parsing the whole frame. Audio appends are ~1.3 KB per 20 ms and the
// relay forwards them verbatim, so the hot path only looks at the first bytes.
const OPEN_BRACE = 0x7b;
const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const PREFIX = Uint8Array.from(Buffer.from('"type"'));
const decoder = new TextDecoder('utf-8', { fatal: true });

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
          // HOT PATH (every server frame): an ASCII type from a Buffer is sliced natively, no view, no decoder.
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
