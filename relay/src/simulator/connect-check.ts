// How the provider refuses a connection: not with an HTTP status but after the upgrade (101), with one
// `error` event and a close in the same millisecond — 3000 for the API key, 4000 for the request
// (recorded from the live GA service, issue 13).
import type { RealtimeError } from 'openai/resources/realtime/realtime';

export interface ConnectRequest {
  /** `?model=`, or null when absent. */
  model: string | null;
  /** `?intent=`, e.g. `transcription`. */
  intent: string | null;
  /** The key the client presented (`Authorization: Bearer …` or `api-key`), or null. */
  presentedKey: string | null;
  /** The key the server expects; null = any (the in-process simulator, or no `SIM_API_KEY`). */
  expectedKey: string | null;
  /** `OpenAI-Beta` header value. */
  betaHeader: string;
}

export interface ConnectRefusal {
  closeCode: 3000 | 4000;
  /** `<error.type>.<error.code>`, as the provider's close reason. */
  closeReason: string;
  error: RealtimeError & { code: string };
}

/** Models the simulator answers as; anything else is `invalid_model`, as the provider does. */
export function isRealtimeModel(model: string): boolean {
  return /^gpt-(4o-(mini-)?realtime|realtime|audio)(-[a-z0-9.-]+)?$/.test(model);
}

/** The provider masks all but the ends of a presented key in its message ("sk-abc***xyz"); so does the simulator. */
export function maskKey(key: string): string {
  return key.length <= 8 ? '***' : `${key.slice(0, 6)}***${key.slice(-4)}`;
}

function refusal(closeCode: 3000 | 4000, code: string, message: string, param: string | null = null): ConnectRefusal {
  return { closeCode, closeReason: `invalid_request_error.${code}`, error: { type: 'invalid_request_error', code, message, param, event_id: null } };
}

export function checkConnect(req: ConnectRequest): ConnectRefusal | null {
  if (req.expectedKey !== null && req.presentedKey !== req.expectedKey) {
    return req.presentedKey === null || req.presentedKey === ''
      ? refusal(3000, 'invalid_api_key', "You didn't provide an API key. You need to provide your API key in an Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY).")
      : refusal(3000, 'invalid_api_key', `Incorrect API key provided: ${maskKey(req.presentedKey)}. You can find your API key at https://platform.openai.com/account/api-keys.`);
  }
  if (/realtime\s*=\s*v1/.test(req.betaHeader)) {
    return refusal(4000, 'beta_api_shape_disabled', "The Realtime API beta shape is disabled for this request. Remove the 'OpenAI-Beta: realtime=v1' header to use the GA interface.");
  }
  if (req.intent === 'transcription') return null;
  if (req.model === null || req.model === '') return refusal(4000, 'missing_model', "Missing required parameter: 'model'.", 'model');
  if (!isRealtimeModel(req.model)) {
    return refusal(4000, 'invalid_model', `Invalid model: '${req.model.slice(0, 100)}'. The model does not exist or is not a Realtime model.`, 'model');
  }
  return null;
}
