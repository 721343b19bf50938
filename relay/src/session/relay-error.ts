// Realtime-shaped `error` events the relay itself sends to a client, so every client library already knows
// how to show them. `event_id` names the client event that caused it, as the provider does. Codes come from the
// shared vocabulary (protocol/relay-errors.ts): a code missing from it does not compile.
import type { ErrorEvent } from '../../../protocol/realtime.ts';
import { relayErrorMessage, type RelayErrorCode } from '../../../protocol/relay-errors.ts';

let counter = 0;

/** `message` defaults to the vocabulary's sentence; pass one to say more (a limit, the offending value). */
export function relayErrorEvent(code: RelayErrorCode, message: string = relayErrorMessage(code), param: string | null = null, eventId: string | null = null): string {
  counter = (counter + 1) % 1_000_000_000;
  const event = {
    type: 'error',
    event_id: `relay_err_${counter}`,
    error: { type: code.startsWith('upstream') || code === 'internal_error' ? 'server_error' : 'invalid_request_error', code, message, param, event_id: eventId },
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
