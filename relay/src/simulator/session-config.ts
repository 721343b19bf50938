// The simulator's effective session: the provider's GA defaults (as its `session.created` shows them), updated
// by `session.update` the way the provider merges it (a field present replaces the old value;
// `turn_detection: null` switches VAD off; a field outside the GA schema refuses the whole update).
import type { RealtimeSessionCreateRequest, RealtimeTranscriptionSessionCreateRequest } from 'openai/resources/realtime/realtime';
import { DEFAULT_MODEL, PROVIDER_MAX_SESSION_MS } from '../../../protocol/constants.ts';
import type { SimRealtimeSession, SimSession, SimTranscriptionSession } from './wire.ts';

export type SessionConfig = SimSession;
export type SessionKind = SimSession['type'];

/** Every top-level field of each GA session schema; `satisfies` makes the compiler prove the lists complete. */
const REALTIME_FIELDS = {
  type: true,
  audio: true,
  include: true,
  instructions: true,
  max_output_tokens: true,
  model: true,
  output_modalities: true,
  parallel_tool_calls: true,
  prompt: true,
  reasoning: true,
  tool_choice: true,
  tools: true,
  tracing: true,
  truncation: true,
} satisfies Record<keyof RealtimeSessionCreateRequest, true>;
const TRANSCRIPTION_FIELDS = { type: true, audio: true, include: true } satisfies Record<keyof RealtimeTranscriptionSessionCreateRequest, true>;

/** The provider's server VAD defaults for a new session. */
const SERVER_VAD = {
  type: 'server_vad',
  threshold: 0.5,
  prefix_padding_ms: 300,
  silence_duration_ms: 200,
  idle_timeout_ms: null,
  create_response: true,
  interrupt_response: true,
} as const;

export interface SessionIdentity {
  id: string;
  /** ms since the epoch at which the session started. */
  startedAt: number;
}

function expiresAt(identity: SessionIdentity): number {
  return Math.floor((identity.startedAt + PROVIDER_MAX_SESSION_MS) / 1000);
}

export function defaultSession(identity: SessionIdentity, model: string = DEFAULT_MODEL): SimRealtimeSession {
  return {
    type: 'realtime',
    object: 'realtime.session',
    id: identity.id,
    model,
    output_modalities: ['audio'],
    instructions: 'You are a helpful assistant.',
    tools: [],
    tool_choice: 'auto',
    max_output_tokens: 'inf',
    tracing: null,
    truncation: 'auto',
    prompt: null,
    expires_at: expiresAt(identity),
    audio: {
      input: {
        format: { type: 'audio/pcm', rate: 24000 },
        transcription: null as never,
        noise_reduction: null as never,
        turn_detection: { ...SERVER_VAD },
      },
      output: { format: { type: 'audio/pcm', rate: 24000 }, voice: 'marin', speed: 1 },
    },
    include: null as never,
  } satisfies SimRealtimeSession;
}

export function defaultTranscriptionSession(identity: SessionIdentity): SimTranscriptionSession {
  return {
    type: 'transcription',
    object: 'realtime.transcription_session',
    id: identity.id,
    expires_at: expiresAt(identity),
    audio: {
      input: {
        format: { type: 'audio/pcm', rate: 24000 },
        transcription: { model: 'gpt-4o-mini-transcribe', language: null as never, prompt: '' },
        noise_reduction: null as never,
        turn_detection: { type: 'server_vad', threshold: 0.5, prefix_padding_ms: 300, silence_duration_ms: 200 },
      },
    },
    include: null as never,
  } satisfies SimTranscriptionSession;
}

export type UpdateResult =
  | { ok: true; session: SessionConfig }
  | { ok: false; code: 'invalid_value' | 'invalid_type' | 'unknown_parameter'; param: string; message: string };

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function invalid(param: string, message: string, code: 'invalid_value' | 'invalid_type' = 'invalid_value'): UpdateResult {
  return { ok: false, code, param, message };
}

/** Applies a `session.update` body. Validates the fields the simulator acts on; other GA fields are stored as given. */
export function applySessionUpdate(current: SessionConfig, update: unknown): UpdateResult {
  if (!isObject(update)) return invalid('session', "Invalid type for 'session': expected an object.", 'invalid_type');
  if (update.type !== undefined && update.type !== current.type) {
    return invalid('session.type', `Invalid value: '${String(update.type)}'. This session is a '${current.type}' session and cannot change type.`);
  }
  const known: Record<string, true> = current.type === 'realtime' ? REALTIME_FIELDS : TRANSCRIPTION_FIELDS;
  for (const key of Object.keys(update)) {
    if (!Object.hasOwn(known, key) && key !== 'object' && key !== 'id' && key !== 'expires_at') {
      return { ok: false, code: 'unknown_parameter', param: `session.${key.slice(0, 64)}`, message: `Unknown parameter: 'session.${key.slice(0, 64)}'.` };
    }
  }
  if (update.instructions !== undefined && typeof update.instructions !== 'string') {
    return invalid('session.instructions', "Invalid type for 'session.instructions': expected a string.", 'invalid_type');
  }
  if (update.tools !== undefined) {
    if (!Array.isArray(update.tools)) return invalid('session.tools', "Invalid type for 'session.tools': expected an array.", 'invalid_type');
    for (const [i, tool] of (update.tools as unknown[]).entries()) {
      if (!isObject(tool) || (tool.type !== 'function' && tool.type !== 'mcp')) {
        return invalid(`session.tools[${i}].type`, "Invalid value for 'type'. Supported values are: 'function' and 'mcp'.");
      }
      if (tool.type === 'function' && (typeof tool.name !== 'string' || !/^[A-Za-z0-9_-]{1,64}$/.test(tool.name))) {
        return invalid(`session.tools[${i}].name`, "Invalid 'name': expected a string of letters, digits, '_' or '-' (at most 64).");
      }
    }
  }
  const next = structuredClone(current) as unknown as Record<string, unknown>;
  for (const [key, value] of Object.entries(update)) {
    if (key === 'audio' || key === 'object' || key === 'id' || key === 'expires_at') continue;
    next[key] = value;
  }
  if (update.audio !== undefined) {
    if (!isObject(update.audio)) return invalid('session.audio', "Invalid type for 'session.audio': expected an object.", 'invalid_type');
    const audio = ((next.audio as Record<string, unknown> | undefined) ?? {}) as Record<string, unknown>;
    next.audio = audio;
    const input = update.audio.input;
    if (input !== undefined) {
      if (!isObject(input)) return invalid('session.audio.input', "Invalid type for 'session.audio.input': expected an object.", 'invalid_type');
      const td = input.turn_detection;
      if (td !== undefined && td !== null) {
        if (!isObject(td) || (td.type !== 'server_vad' && td.type !== 'semantic_vad')) {
          return invalid('session.audio.input.turn_detection.type', "Invalid value for 'turn_detection.type'. Supported values are: 'server_vad' and 'semantic_vad'.");
        }
        if (td.threshold !== undefined && (typeof td.threshold !== 'number' || td.threshold < 0 || td.threshold > 1)) {
          return invalid('session.audio.input.turn_detection.threshold', "Invalid 'threshold': expected a number between 0 and 1.");
        }
        for (const ms of ['prefix_padding_ms', 'silence_duration_ms'] as const) {
          if (td[ms] !== undefined && (typeof td[ms] !== 'number' || (td[ms] as number) < 0)) {
            return invalid(`session.audio.input.turn_detection.${ms}`, `Invalid '${ms}': expected a non-negative integer.`);
          }
        }
      }
      const fmt = input.format;
      if (fmt !== undefined && (!isObject(fmt) || fmt.type !== 'audio/pcm' || (fmt.rate !== undefined && fmt.rate !== 24000))) {
        return invalid('session.audio.input.format', "The simulator supports only 'audio/pcm' at 24000 Hz.");
      }
      const base = (audio.input as Record<string, unknown> | undefined) ?? {};
      const merged: Record<string, unknown> = { ...base };
      for (const [key, value] of Object.entries(input)) {
        const old = merged[key];
        merged[key] = isObject(value) && isObject(old) && key === 'turn_detection' && value.type === old.type ? { ...old, ...value } : value;
      }
      audio.input = merged;
    }
    const output = update.audio.output;
    if (output !== undefined) {
      if (current.type === 'transcription') return { ok: false, code: 'unknown_parameter', param: 'session.audio.output', message: "Unknown parameter: 'session.audio.output'." };
      if (!isObject(output)) return invalid('session.audio.output', "Invalid type for 'session.audio.output': expected an object.", 'invalid_type');
      audio.output = { ...((audio.output as object | undefined) ?? {}), ...output };
    }
  }
  return { ok: true, session: next as unknown as SessionConfig };
}
