// The gate every client frame passes on its way upstream (one per session, on the relay's event loop). It decides
// from the bytes alone, with no socket in sight, so tests can drive it directly:
//   - a plain audio append (append-scan.ts proves it) goes upstream byte for byte: the hot path;
//   - anything else must fit `limits.maxEventBytes` (else refused unparsed), is parsed with a depth cap, checked
//     (known type, allowed type, the session policy), and what goes upstream is the re-serialised object that was
//     checked — never the client's bytes, so no upstream parser can read a duplicate or escaped key differently;
//   - a refused frame is answered with a Realtime-shaped error and forwards nothing; the session goes on.
// It also watches the provider's session.created/updated, to judge session updates (and the per-response overrides
// of response.create) by their outcome.
import { CLIENT_EVENT_TYPES, unknownEventTypeMessage } from '../../../protocol/realtime.ts';
import type { RelayConfig } from '../config/config.ts';
import type { ClientEventRefusalCode } from '../session/relay-error.ts';
import { scanAppend, type AppendSpan, type AppendType } from './append-scan.ts';
import { base64DecodedBytes } from '../accounts/meter.ts';
import { isJsonObject, MAX_EVENT_DEPTH, parseBoundedJson, type JsonObject } from './json-values.ts';
import { judgeResponseCreate, judgeSessionUpdate, overlaySession } from './session-policy.ts';

export interface Refusal {
  code: ClientEventRefusalCode;
  message: string;
  param: string | null;
  /** The client's `event_id`, echoed as the provider does (null when the frame could not be read). */
  eventId: string | null;
}

export type GateVerdict =
  /**
   * Forward the client's own bytes: a proven plain append, with its decoded audio length (measured by the scan,
   * so the usage meter need not scan again). The gate reuses this object: it is valid until the next judge().
   */
  | { kind: 'verbatim'; type: AppendType; audioBytes: number }
  /** Forward `bytes` (the checked event, re-serialised), then send each notice to the client. */
  | { kind: 'forward'; type: string; bytes: Uint8Array; notices: Refusal[] }
  /** Forward nothing; answer with `refusal`. */
  | { kind: 'refuse'; refusal: Refusal };

export interface GateOptions {
  config: Pick<RelayConfig, 'limits' | 'policy'>;
  /** The model this connection was opened with. */
  model: string;
  /** The `session` of the relay's own first session.update (the operator's policy for this user). */
  policySession: JsonObject;
}

const KNOWN_TYPES: ReadonlySet<string> = new Set(CLIENT_EVENT_TYPES);

function refuse(code: ClientEventRefusalCode, message: string, param: string | null = null, eventId: string | null = null): GateVerdict {
  return { kind: 'refuse', refusal: { code, message, param, eventId } };
}

export class ClientEventGate {
  private readonly options: GateOptions;
  private readonly allowed: ReadonlySet<string>;
  /** `allowed` for the two append types, read once: the hot path tests a boolean, not a Set (issue 17). */
  private readonly allowAppend: boolean;
  private readonly allowSessionAppend: boolean;
  /** What the provider last said the session is (with the relay's policy on top until it confirms one). */
  private effective: JsonObject;
  private confirmed = false;
  /** Locked fields already reported to this client: SDKs restate them in every update; say it once. */
  private readonly reported = new Set<string>();
  /** Filled by scanAppend; one per gate so the hot path allocates nothing. */
  private readonly span: AppendSpan = { audioStart: 0, audioEnd: 0 };
  /** The one verbatim verdict, refilled per append (HOT PATH: no object per frame). */
  private readonly verbatim: Extract<GateVerdict, { kind: 'verbatim' }> = { kind: 'verbatim', type: 'input_audio_buffer.append', audioBytes: 0 };

  constructor(options: GateOptions) {
    this.options = options;
    this.allowed = new Set(options.config.policy.allowedClientEvents);
    this.allowAppend = this.allowed.has('input_audio_buffer.append');
    this.allowSessionAppend = this.allowed.has('session.input_audio_buffer.append');
    this.effective = options.policySession;
  }

  /** The session the gate judges updates against (tests and logs). */
  effectiveSession(): JsonObject {
    return this.effective;
  }

  /**
   * `frame` may be a view of memory the caller frees after return: a verdict never keeps it. `checkAllowed`
   * false (benchmark builds only, session/frame-features.ts) skips the allowed-type check on the fast path.
   */
  judge(frame: Uint8Array, isBinary: boolean, checkAllowed = true): GateVerdict {
    if (isBinary) return refuse('invalid_event', 'Binary frames are not part of the Realtime protocol: send each event as one JSON text frame.');
    const span = this.span;
    const append = scanAppend(frame, span);
    if (append !== null && (!checkAllowed || (append === 'input_audio_buffer.append' ? this.allowAppend : this.allowSessionAppend))) return this.verbatimAppend(append, frame, span.audioStart, span.audioEnd);
    // Below the fast path on purpose: an append never reads the options or config objects (issue 17).
    const { limits, policy } = this.options.config;
    if (frame.byteLength > limits.maxEventBytes) {
      return refuse('event_too_large', `This event is ${frame.byteLength} bytes; this relay takes events other than plain audio appends up to ${limits.maxEventBytes} bytes.`);
    }
    const parsed = parseBoundedJson(frame, MAX_EVENT_DEPTH);
    if (!parsed.ok) {
      if (parsed.reason === 'too_deep') return refuse('event_too_deep', `This event nests deeper than ${MAX_EVENT_DEPTH} levels, more than any Realtime event needs.`);
      return refuse('invalid_json', 'The relay could not parse this event: send one JSON object per text frame.');
    }
    const event = parsed.value;
    if (!isJsonObject(event)) return refuse('invalid_json', 'The relay could not parse this event: expected a JSON object.');
    const eventId = typeof event.event_id === 'string' ? event.event_id.slice(0, 128) : null;
    const type = event.type;
    if (type === undefined) return refuse('missing_required_parameter', "Missing required parameter: 'type'.", 'type', eventId);
    if (typeof type !== 'string') return refuse('invalid_type', "Invalid type for 'type': expected a string.", 'type', eventId);
    if (!this.allowed.has(type)) {
      // What does not exist is answered as the provider would; what exists but the operator forbids, as the relay.
      if (!KNOWN_TYPES.has(type)) return refuse('invalid_value', unknownEventTypeMessage(type), 'type', eventId);
      return refuse('event_type_not_allowed', `Events of type '${type}' are not allowed on this relay.`, 'type', eventId);
    }
    const notices: Refusal[] = [];
    if (type === 'session.update' || (type === 'response.create' && event.response !== undefined)) {
      const ctx = { policy, effective: this.effective, model: this.options.model };
      const verdict = type === 'session.update' ? judgeSessionUpdate(event.session, ctx) : judgeResponseCreate(event.response, ctx);
      if (verdict.kind === 'refuse') return refuse(verdict.refusal.code, verdict.refusal.message, verdict.refusal.param, eventId);
      if (type === 'session.update') event.session = verdict.session;
      else event.response = verdict.session;
      for (const field of verdict.dropped) {
        if (this.reported.has(field.param)) continue;
        this.reported.add(field.param);
        notices.push({ ...field, eventId });
      }
    }
    return { kind: 'forward', type, bytes: Buffer.from(JSON.stringify(event)), notices };
  }

  /**
   * BENCHMARK BUILDS ONLY (the `type` step switched off): the frame is taken for a plain append unchecked, its
   * audio taken as everything but ~60 bytes of envelope, so the rest of the path does the same work.
   */
  assumeAppend(frame: Uint8Array): GateVerdict {
    return this.verbatimAppend('input_audio_buffer.append', frame, 0, Math.max(0, frame.byteLength - 60));
  }

  private verbatimAppend(type: AppendType, frame: Uint8Array, start: number, end: number): GateVerdict {
    const v = this.verbatim;
    v.type = type;
    let padding = 0;
    if (end > start && frame[end - 1] === 0x3d) padding++;
    if (end - 1 > start && frame[end - 2] === 0x3d) padding++;
    v.audioBytes = base64DecodedBytes(end - start, padding);
    return v;
  }

  /** Every server event, by type: session.created/updated (small, rare) update the effective session. */
  observeServer(type: string, bytes: Uint8Array): void {
    if (type !== 'session.created' && type !== 'session.updated') return;
    let session: unknown;
    try {
      session = (JSON.parse(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8')) as { session?: unknown }).session;
    } catch {
      return; // not JSON: the client will see it as it is
    }
    if (!isJsonObject(session)) return;
    if (type === 'session.updated') {
      this.effective = session;
      this.confirmed = true;
    } else if (!this.confirmed) {
      // session.created describes the provider's defaults, before the relay's policy update is applied.
      this.effective = overlaySession(session, this.options.policySession);
    }
  }
}
