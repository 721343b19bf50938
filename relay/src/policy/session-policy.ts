// The operator's session policy as the provider sees it: the first `session.update` of every session, and the
// judgement of a client's `session.update` by its outcome (issue 13): a field the client may change passes; a
// locked field whose value equals the session's effective one (or is SDK plumbing) is dropped silently; a locked
// field with another value is dropped and reported while the rest applies (or, in strict mode, the whole update
// is refused); a field the GA schema does not have is refused as the provider would (`unknown_parameter`).
// Runs on the relay's event loop for each client session.update; every walk is bounded by session-schema.ts.
import type { SessionPolicy } from '../config/config.ts';
import type { UserRecord } from '../store/store.ts';
import type { ClientPolicyView } from '../../../protocol/relay-http.ts';
import type { RelayErrorCode } from '../../../protocol/relay-errors.ts';
import type { EventOf, ClientEvent } from '../../../protocol/realtime.ts';
import type { ClientEventRefusalCode } from '../session/relay-error.ts';
import { isJsonObject, jsonEqual, valueAt, type JsonObject, type JsonValue } from './json-values.ts';
import { RESPONSE_OWN_FIELDS, RESPONSE_SCHEMA, sessionSchemaFor, type SchemaNode } from './session-schema.ts';

export function initialSessionUpdate(policy: SessionPolicy, user: Pick<UserRecord, 'voice' | 'instructions'>, model: string): EventOf<ClientEvent, 'session.update'> {
  return {
    type: 'session.update',
    event_id: 'relay_policy',
    session: {
      type: 'realtime',
      model,
      instructions: user.instructions ?? policy.instructions,
      output_modalities: ['audio'],
      audio: {
        input: {
          format: { type: 'audio/pcm', rate: 24000 },
          transcription: policy.transcriptionModel ? { model: policy.transcriptionModel } : (null as never),
          turn_detection: policy.turnDetection,
          noise_reduction: policy.noiseReduction ? { type: policy.noiseReduction } : (null as never),
        },
        output: { format: { type: 'audio/pcm', rate: 24000 }, voice: user.voice ?? policy.voice },
      },
    },
  };
}

export function clientPolicyView(policy: SessionPolicy, user: Pick<UserRecord, 'voice' | 'instructions'>, model: string): ClientPolicyView {
  return {
    mutableFields: policy.clientMutableFields,
    voice: user.voice ?? policy.voice,
    voices: policy.voices,
    instructions: user.instructions ?? policy.instructions,
    model,
  };
}

/** One field the relay did not pass on, or the reason a whole update was refused. */
export interface FieldRefusal {
  code: Extract<ClientEventRefusalCode, 'session_field_locked' | 'voice_not_allowed' | 'unknown_parameter' | 'invalid_type'>;
  /** `session.instructions` */
  param: string;
  message: string;
}

export type SessionUpdateVerdict =
  /** Forward `session` (the client's, minus `dropped`); tell the client about each of `dropped`. */
  | { kind: 'forward'; session: JsonObject; dropped: FieldRefusal[] }
  /** Forward nothing: the whole update is refused, as the provider (or strict mode) would. */
  | { kind: 'refuse'; refusal: FieldRefusal };

export interface SessionUpdateContext {
  policy: SessionPolicy;
  /** The session as the provider last described it (session.created/updated), with the relay's policy on top. */
  effective: JsonObject;
  /** The model this connection was opened with. */
  model: string;
}

/** The only audio format the relay's clients and metering speak; SDKs restate it in every first update. */
function isWireFormat(value: JsonValue | undefined): boolean {
  return isJsonObject(value) && value.type === 'audio/pcm' && (value.rate === undefined || value.rate === 24000) && Object.keys(value).every((k) => k === 'type' || k === 'rate');
}

/** Locked fields SDKs send for plumbing: dropped without a word when they change nothing the operator cares about. */
function isPlumbing(path: string, value: JsonValue, ctx: SessionUpdateContext): boolean {
  switch (path) {
    case 'tracing': // the Agents SDK's `tracing: "auto"`: the provider's tracing of the operator's own account
      return true;
    case 'model':
      return value === ctx.model;
    case 'audio.input.format':
    case 'audio.output.format':
      return isWireFormat(value);
    default:
      return false;
  }
}

function isMutable(path: string, mutable: readonly string[]): boolean {
  return mutable.some((m) => path === m || path.startsWith(`${m}.`));
}

/**
 * Judges the `session` of a client `session.update`. Iterative over the schema's levels (at most three deep), so the
 * client's nesting below a schema leaf is never walked here; values are compared with the iterative jsonEqual.
 */
export function judgeSessionUpdate(session: JsonValue | undefined, ctx: SessionUpdateContext): SessionUpdateVerdict {
  if (!isJsonObject(session)) {
    return { kind: 'refuse', refusal: { code: 'invalid_type', param: 'session', message: "Invalid type for 'session': expected an object." } };
  }
  return judgeFields(session, { root: 'session', schema: sessionSchemaFor(session.type ?? ctx.effective.type), mutable: ctx.policy.clientMutableFields }, ctx);
}

/**
 * Judges the `response` of a client `response.create` the same way: its fields override the session's for one
 * response, so a locked `instructions`, `tools` or voice must not come back through it. Absent is fine.
 */
export function judgeResponseCreate(response: JsonValue | undefined, ctx: SessionUpdateContext): SessionUpdateVerdict {
  if (response === undefined) return { kind: 'forward', session: {}, dropped: [] };
  if (!isJsonObject(response)) {
    return { kind: 'refuse', refusal: { code: 'invalid_type', param: 'response', message: "Invalid type for 'response': expected an object." } };
  }
  return judgeFields(response, { root: 'response', schema: RESPONSE_SCHEMA, mutable: [...ctx.policy.clientMutableFields, ...RESPONSE_OWN_FIELDS] }, ctx);
}

function judgeFields(session: JsonObject, shape: { root: 'session' | 'response'; schema: SchemaNode; mutable: readonly string[] }, ctx: SessionUpdateContext): SessionUpdateVerdict {
  const { policy } = ctx;
  const { root, mutable } = shape;
  const dropped: FieldRefusal[] = [];
  const out: JsonObject = {};
  const stack: Array<{ from: JsonObject; to: JsonObject; schema: SchemaNode; prefix: string }> = [{ from: session, to: out, schema: shape.schema, prefix: '' }];
  for (let level = stack.pop(); level !== undefined; level = stack.pop()) {
    for (const [key, value] of Object.entries(level.from)) {
      const path = level.prefix ? `${level.prefix}.${key}` : key;
      const node = Object.hasOwn(level.schema, key) ? level.schema[key] : undefined;
      if (node === undefined) {
        // The provider discards the whole update for an unknown field; so does the relay, in its words.
        return { kind: 'refuse', refusal: { code: 'unknown_parameter', param: `${root}.${path}`, message: `Unknown parameter: '${root}.${path}'.` } };
      }
      if (isMutable(path, mutable)) {
        level.to[key] = value;
        continue;
      }
      if (node !== true && isJsonObject(value)) {
        // Judge the fields inside one by one: `audio.output.format` may be plumbing while `audio.output.voice` is mutable.
        const to: JsonObject = {};
        level.to[key] = to;
        stack.push({ from: value, to, schema: node, prefix: path });
        continue;
      }
      if (isPlumbing(path, value, ctx) || jsonEqual(value, valueAt(ctx.effective, path))) continue; // changes nothing
      dropped.push({
        code: 'session_field_locked',
        param: `${root}.${path}`,
        message: `The relay's operator does not allow clients to change 'session.${path}'${root === 'response' ? ', not even for one response' : ''}; the rest of this ${root === 'response' ? 'response.create' : 'update'} was applied.`,
      });
    }
  }
  const voiceVerdict = checkVoice(out, ctx, root);
  if (voiceVerdict) dropped.push(voiceVerdict);
  pruneEmpty(out, session);
  if (policy.strictSessionUpdate && dropped.length > 0) {
    const first = dropped[0]!;
    return { kind: 'refuse', refusal: { ...first, message: first.message.replace(/; the rest of this (update|response\.create) was applied\.$/, '. Nothing of it was applied.') } };
  }
  return { kind: 'forward', session: out, dropped };
}

/** The voice, wherever it came in (a mutable `audio` or `audio.output` carries it too), must be one the operator offers. */
function checkVoice(out: JsonObject, ctx: SessionUpdateContext, root: 'session' | 'response'): FieldRefusal | null {
  const output = valueAt(out, 'audio.output');
  if (!isJsonObject(output) || !Object.hasOwn(output, 'voice')) return null;
  const voice = output.voice;
  if ((typeof voice === 'string' && ctx.policy.voices.includes(voice)) || jsonEqual(voice, valueAt(ctx.effective, 'audio.output.voice'))) return null;
  delete output.voice;
  return {
    code: 'voice_not_allowed',
    param: `${root}.audio.output.voice`,
    message: `Voice '${typeof voice === 'string' ? voice.slice(0, 64) : JSON.stringify(voice).slice(0, 64)}' is not offered on this relay. Choose one of: ${ctx.policy.voices.join(', ')}.`,
  };
}

/** Drops objects the judgement emptied (`audio: {output: {}}` after a dropped format); keeps ones the client sent empty. */
function pruneEmpty(out: JsonObject, original: JsonObject): void {
  for (const section of ['input', 'output'] as const) {
    const to = valueAt(out, `audio.${section}`);
    const from = valueAt(original, `audio.${section}`);
    if (isJsonObject(to) && Object.keys(to).length === 0 && isJsonObject(from) && Object.keys(from).length > 0) delete (out.audio as JsonObject)[section];
  }
  const audio = out.audio;
  if (isJsonObject(audio) && Object.keys(audio).length === 0 && isJsonObject(original.audio) && Object.keys(original.audio).length > 0) delete out.audio;
}

/** The session the relay assumes before the provider confirms: what it reported, with the relay's policy applied on top. */
export function overlaySession(base: JsonObject, top: JsonObject): JsonObject {
  const out: JsonObject = { ...base };
  for (const [key, value] of Object.entries(top)) {
    const under = out[key];
    // Our own policy object is at most four levels deep: this recursion is bounded by the operator's config, not a client.
    out[key] = isJsonObject(value) && isJsonObject(under) ? overlaySession(under, value) : value;
  }
  return out;
}
