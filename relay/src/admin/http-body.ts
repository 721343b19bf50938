// Reads a uWS request body up to a byte cap. uWS lends each chunk only for the duration of the callback:
// it MUST be copied before returning. The caller MUST have registered onAborted before calling this.
import type uWS from 'uWebSockets.js';

export type BodyResult = { ok: true; text: string } | { ok: false; reason: 'too_large' };

export function readBody(res: uWS.HttpResponse, maxBytes: number, done: (result: BodyResult) => void): void {
  const chunks: Buffer[] = [];
  let size = 0;
  let finished = false;
  res.onData((chunk, isLast) => {
    if (finished) return;
    size += chunk.byteLength;
    if (size > maxBytes) {
      finished = true;
      done({ ok: false, reason: 'too_large' });
      return;
    }
    chunks.push(Buffer.from(chunk.slice(0))); // MUST copy: uWS reuses the chunk's memory after this returns
    if (isLast) {
      finished = true;
      done({ ok: true, text: Buffer.concat(chunks).toString('utf8') });
    }
  });
}
