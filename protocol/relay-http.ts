// Shapes of the relay's own HTTP surface (outside the provider protocol): upgrade rejections and the
// token check endpoint the PWA calls before opening its socket (browsers cannot read a failed upgrade's status).
import type { RefusalCode } from './relay-errors.ts';

/** Subprotocols a browser offers: `earshot.v1` plus `earshot-token.<token>`; the relay echoes only `earshot.v1`. */
export const SUBPROTOCOL = 'earshot.v1';
export const TOKEN_SUBPROTOCOL_PREFIX = 'earshot-token.';
/** OpenAI's browser SDK offers `realtime` + `openai-insecure-api-key.<key>`; the relay echoes `realtime`. */
export const OPENAI_SUBPROTOCOL = 'realtime';
export const OPENAI_KEY_SUBPROTOCOL_PREFIX = 'openai-insecure-api-key.';

/** A refusal before the upgrade: the codes of `RELAY_ERRORS` that have an HTTP status. */
export type RejectReason = RefusalCode;

/** Body of every rejected upgrade or failed token check (the status is `RELAY_ERRORS[code].status`). */
export interface RejectBody {
  /** `renewsAt` (epoch ms): with `quota_exhausted`, when the exhausted allowance comes back. */
  error: { code: RejectReason; message: string; renewsAt?: number };
}

/** What the client may change with `session.update`, as the operator's policy says. */
export interface ClientPolicyView {
  /** `session` fields a client may set in `session.update` (e.g. "audio.output.voice", "instructions"). */
  mutableFields: string[];
  voice: string;
  /** Whether the operator allows choosing among the provider's voices. */
  voices: string[];
  instructions: string;
  model: string;
}

/** `GET /api/session-check` with `Authorization: Bearer <token>` → 200 with this, or a RejectBody. */
export interface SessionCheckBody {
  user: string;
  tokenId: string;
  expiresAt: number; // epoch seconds
  policy: ClientPolicyView;
  backend: 'simulator' | 'provider';
}
