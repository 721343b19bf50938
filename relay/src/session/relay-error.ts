// Realtime-shaped `error` events the relay itself sends to a client, so every client library already knows
// how to show them. `event_id` names the client event that caused it, as the provider does. Codes come from the
// shared vocabulary (protocol/relay-errors.ts): a code missing from it does not compile.
import type { ErrorEvent } from '../../../protocol/realtime.ts';
import { relayErrorMessage, type RelayErrorCode } from '../../../protocol/relay-errors.ts';

/**
 * Every refusal of a single client event: an `error` event, nothing forwarded, and the session goes on. Codes the
 * provider itself uses (`invalid_json`, `invalid_event`, `invalid_value`, `invalid_type`, `unknown_parameter`,
 * `missing_required_parameter`) are answered in its shape where the provider would refuse too; the rest are the
 * relay's own: what exists but the operator forbids, and what is too big or too deep to look at.
 */
export type ClientEventRefusalCode = Extract<
  RelayErrorCode,
  | 'invalid_json'
  | 'invalid_event'
  | 'invalid_value'
  | 'invalid_type'
  | 'missing_required_parameter'
  | 'unknown_parameter'
  | 'event_too_large'
  | 'event_too_deep'
  | 'event_type_not_allowed'
  | 'session_field_locked'
  | 'voice_not_allowed'
>;

// Each of them is a row of the shared vocabulary (its sentence, not fatal, no close code).
export const CLIENT_EVENT_REFUSALS_IN_VOCABULARY: ClientEventRefusalCode extends RelayErrorCode ? true : never = true;

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
