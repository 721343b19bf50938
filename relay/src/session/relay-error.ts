// Realtime-shaped `error` events the relay itself sends to a client, so every client library already knows
// how to show them. `event_id` names the client event that caused it, as the provider does.
import type { ErrorEvent } from '../../../protocol/realtime.ts';

let counter = 0;

export function relayErrorEvent(code: string, message: string, param: string | null = null, eventId: string | null = null): string {
  counter = (counter + 1) % 1_000_000_000;
  const event = {
    type: 'error',
    event_id: `relay_err_${counter}`,
    error: { type: code.startsWith('upstream') ? 'server_error' : 'invalid_request_error', code, message, param, event_id: eventId },
  } satisfies ErrorEvent;
  return JSON.stringify(event);
}

/** The client's `event_id` if the frame is small enough to look at; null otherwise. */
export function clientEventId(frame: Uint8Array): string | null {
  if (frame.length > 64 * 1024) return null;
  try {
    const id = (JSON.parse(Buffer.from(frame.buffer, frame.byteOffset, frame.byteLength).toString('utf8')) as { event_id?: unknown }).event_id;
    return typeof id === 'string' ? id.slice(0, 128) : null;
  } catch {
    return null;
  }
}
