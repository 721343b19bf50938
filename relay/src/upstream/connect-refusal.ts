// Recognises the provider refusing a session after the upgrade: the GA service answers 101, then one `error`
// event and a close in the same millisecond — 3000 `invalid_request_error.invalid_api_key`, or 4000 for
// `invalid_model`, `missing_model`, `beta_api_shape_disabled` (issue 13). Such an `error` is held back, not
// forwarded: the provider's message can carry a fragment of the relay's own key, and the bridge turns the
// refusal into one clear close toward the client instead. Runs on the upstream's event thread; it parses only
// frames that arrive before the session's first non-error event.
import { peekType } from '../policy/peek-type.ts';
import type { Frame, UpstreamFailure } from './upstream.ts';

/** Close codes with which the provider refuses a session it has just upgraded. */
const REFUSAL_CLOSE_CODES = new Set([3000, 4000]);

const encoder = new TextEncoder();

function bytesOf(frame: Frame): Uint8Array {
  return typeof frame === 'string' ? encoder.encode(frame) : frame;
}

export class ConnectRefusalGate {
  private started = false;
  private held: Frame[] = [];
  private lastError: { code: string; message: string } | null = null;

  /** True once the session has started: from then on every frame passes as it is (callers skip accept()). */
  get passing(): boolean {
    return this.started;
  }

  /** The frames to deliver now for one arriving `frame`: none while an early `error` is held, else in order. */
  accept(frame: Frame): Frame[] {
    if (this.started) return [frame];
    const bytes = bytesOf(frame);
    if (peekType(bytes) === 'error') {
      try {
        const event = JSON.parse(Buffer.from(bytes).toString('utf8')) as { error?: { code?: unknown; message?: unknown } };
        this.lastError = { code: String(event.error?.code ?? ''), message: String(event.error?.message ?? '') };
      } catch {
        this.lastError = { code: '', message: '' };
      }
      this.held.push(frame);
      return [];
    }
    this.started = true;
    const out = [...this.held, frame];
    this.held = [];
    return out;
  }

  /** A refusal, if the provider closed before the session started with a refusal code. */
  refusal(code: number, reason: string): Extract<UpstreamFailure, { kind: 'refused' }> | null {
    if (this.started || !REFUSAL_CLOSE_CODES.has(code)) return null;
    // The close reason is `<type>.<code>`; the held error, when there is one, says more.
    const fromReason = reason.includes('.') ? reason.slice(reason.lastIndexOf('.') + 1) : reason;
    this.held = [];
    return { kind: 'refused', closeCode: code, code: this.lastError?.code || fromReason || 'unknown', message: this.lastError?.message ?? '' };
  }

  /** Frames still held when the close was not a refusal: deliver them before reporting the close. */
  flush(): Frame[] {
    const out = this.held;
    this.held = [];
    return out;
  }
}

/**
 * The provider's message without any key fragment. It echoes the presented key masked ("Incorrect API key
 * provided: sk-abc***xyz."); even masked, a relay's key does not belong in what its users see.
 */
export function withoutKeyFragments(message: string): string {
  return message
    .replace(/:?\s*\b(?:sk|ek|rk)-[A-Za-z0-9_*-]*/g, '')
    .replace(/:?\s*[A-Za-z0-9_-]*\*{2,}[A-Za-z0-9_-]*/g, '')
    .replace(/:?\s*\b[A-Za-z0-9]{32,}\b/g, '')
    .trim();
}
