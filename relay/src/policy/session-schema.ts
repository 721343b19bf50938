// The GA `session` object's field tree, as far down as the relay judges fields one by one (below these nodes a
// value is compared whole). Each level is a list checked at compile time against the `openai` package's types, in
// both directions: no field the types lack, and none of theirs missing. The relay answers a field outside this
// tree with the provider's own `unknown_parameter` refusal instead of guessing whether the operator locked it.
import type {
  RealtimeAudioConfig,
  RealtimeAudioConfigInput,
  RealtimeAudioConfigOutput,
  RealtimeResponseCreateAudioOutput,
  RealtimeResponseCreateParams,
  RealtimeSessionCreateRequest,
  RealtimeTranscriptionSessionAudio,
  RealtimeTranscriptionSessionAudioInput,
  RealtimeTranscriptionSessionCreateRequest,
} from 'openai/resources/realtime/realtime';

/** A field whose value is judged whole (`true`), or an object whose own fields are judged one by one. */
export type SchemaNode = { readonly [field: string]: SchemaNode | true };

/** `Keys` lists exactly the keys of `T`: compiles to `true`, else to the keys that are missing. */
type Exact<T, Keys extends readonly PropertyKey[]> = [Exclude<keyof T, Keys[number]>] extends [never] ? true : Exclude<keyof T, Keys[number]>;

function level<T>() {
  return <const Keys extends readonly (keyof T & string)[]>(keys: Keys, complete: Exact<T, Keys>, children: { readonly [K in Keys[number]]?: SchemaNode } = {}): SchemaNode => {
    void complete;
    return Object.fromEntries(keys.map((k) => [k, (children as Record<string, SchemaNode | undefined>)[k] ?? true]));
  };
}

const realtimeAudio = level<RealtimeAudioConfig>()(['input', 'output'], true, {
  input: level<RealtimeAudioConfigInput>()(['format', 'noise_reduction', 'transcription', 'turn_detection'], true),
  output: level<RealtimeAudioConfigOutput>()(['format', 'speed', 'voice'], true),
});

/** `session.type: "realtime"` (the default). */
export const REALTIME_SESSION_SCHEMA: SchemaNode = level<RealtimeSessionCreateRequest>()(
  ['type', 'audio', 'include', 'instructions', 'max_output_tokens', 'model', 'output_modalities', 'parallel_tool_calls', 'prompt', 'reasoning', 'tool_choice', 'tools', 'tracing', 'truncation'],
  true,
  { audio: realtimeAudio },
);

/** `session.type: "transcription"`. */
export const TRANSCRIPTION_SESSION_SCHEMA: SchemaNode = level<RealtimeTranscriptionSessionCreateRequest>()(['type', 'audio', 'include'], true, {
  audio: level<RealtimeTranscriptionSessionAudio>()(['input'], true, {
    input: level<RealtimeTranscriptionSessionAudioInput>()(['format', 'noise_reduction', 'transcription', 'turn_detection'], true),
  }),
});

export function sessionSchemaFor(sessionType: unknown): SchemaNode {
  return sessionType === 'transcription' ? TRANSCRIPTION_SESSION_SCHEMA : REALTIME_SESSION_SCHEMA;
}

/**
 * The `response` of a `response.create`: per-response overrides of session fields, judged against the same policy
 * paths (a locked `instructions` must not come back through the response), plus three fields of its own.
 */
export const RESPONSE_SCHEMA: SchemaNode = level<RealtimeResponseCreateParams>()(
  ['audio', 'conversation', 'input', 'instructions', 'max_output_tokens', 'metadata', 'output_modalities', 'parallel_tool_calls', 'prompt', 'reasoning', 'tool_choice', 'tools'],
  true,
  {
    audio: level<RealtimeResponseCreateAudioOutput>()(['output'], true, {
      output: level<RealtimeResponseCreateAudioOutput.Output>()(['format', 'voice'], true),
    }),
  },
);

/** Fields of a response that override nothing in the session: what to answer, with which input, tagged how. */
export const RESPONSE_OWN_FIELDS: readonly string[] = ['conversation', 'input', 'metadata'];
