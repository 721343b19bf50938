// The simulator's effective session: the provider's GA defaults, updated by `session.update` the way the
// provider merges it (a field present replaces the old value; `turn_detection: null` switches VAD off).
import type { RealtimeSessionCreateRequest } from 'openai/resources/realtime/realtime';
import { DEFAULT_MODEL } from '../../../protocol/constants.ts';

export type SessionConfig = RealtimeSessionCreateRequest;

export function defaultSession(model: string = DEFAULT_MODEL): SessionConfig {
  return {
    type: 'realtime',
    model,
    output_modalities: ['audio'],
    instructions: 'You are a helpful assistant.',
    max_output_tokens: 'inf',
    tool_choice: 'auto',
    tools: [],
    audio: {
      input: {
        format: { type: 'audio/pcm', rate: 24000 },
        noise_reduction: null as never,
        transcription: null as never,
        turn_detection: {
          type: 'server_vad',
          threshold: 0.5,
          prefix_padding_ms: 300,
          silence_duration_ms: 500,
          create_response: true,
          interrupt_response: true,
          idle_timeout_ms: null,
        },
      },
      output: { format: { type: 'audio/pcm', rate: 24000 }, voice: 'marin', speed: 1 },
    },
  } satisfies SessionConfig;
}

export type UpdateResult = { ok: true; session: SessionConfig } | { ok: false; param: string; message: string };

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Applies a `session.update` body. Validates the fields the simulator acts on; others are stored as given. */
export function applySessionUpdate(current: SessionConfig, update: unknown): UpdateResult {
  if (!isObject(update)) return { ok: false, param: 'session', message: "Invalid type for 'session': expected an object." };
  if (update.type !== undefined && update.type !== 'realtime') {
    return { ok: false, param: 'session.type', message: `Invalid value: '${String(update.type)}'. Supported values are: 'realtime'.` };
  }
  if (update.instructions !== undefined && typeof update.instructions !== 'string') {
    return { ok: false, param: 'session.instructions', message: "Invalid type for 'session.instructions': expected a string." };
  }
  const next: SessionConfig = structuredClone(current);
  for (const [key, value] of Object.entries(update)) {
    if (key === 'audio') continue;
    (next as unknown as Record<string, unknown>)[key] = value;
  }
  if (update.audio !== undefined) {
    if (!isObject(update.audio)) return { ok: false, param: 'session.audio', message: "Invalid type for 'session.audio': expected an object." };
    const audio = (next.audio ??= {});
    const input = update.audio.input;
    if (input !== undefined) {
      if (!isObject(input)) return { ok: false, param: 'session.audio.input', message: "Invalid type for 'session.audio.input': expected an object." };
      const td = input.turn_detection;
      if (td !== undefined && td !== null) {
        if (!isObject(td) || (td.type !== 'server_vad' && td.type !== 'semantic_vad')) {
          return { ok: false, param: 'session.audio.input.turn_detection.type', message: "Invalid value for 'turn_detection.type'. Supported values are: 'server_vad' and 'semantic_vad'." };
        }
        if (td.threshold !== undefined && (typeof td.threshold !== 'number' || td.threshold < 0 || td.threshold > 1)) {
          return { ok: false, param: 'session.audio.input.turn_detection.threshold', message: "Invalid 'threshold': expected a number between 0 and 1." };
        }
        for (const ms of ['prefix_padding_ms', 'silence_duration_ms'] as const) {
          if (td[ms] !== undefined && (typeof td[ms] !== 'number' || (td[ms] as number) < 0)) {
            return { ok: false, param: `session.audio.input.turn_detection.${ms}`, message: `Invalid '${ms}': expected a non-negative integer.` };
          }
        }
      }
      const fmt = input.format;
      if (fmt !== undefined && (!isObject(fmt) || fmt.type !== 'audio/pcm')) {
        return { ok: false, param: 'session.audio.input.format', message: "The simulator supports only 'audio/pcm' at 24000 Hz." };
      }
      const base = (audio.input ??= {});
      const merged: Record<string, unknown> = { ...base };
      for (const [key, value] of Object.entries(input)) {
        const old = merged[key];
        merged[key] = isObject(value) && isObject(old) && key === 'turn_detection' && value.type === old.type ? { ...old, ...value } : value;
      }
      audio.input = merged as typeof audio.input;
    }
    const output = update.audio.output;
    if (output !== undefined) {
      if (!isObject(output)) return { ok: false, param: 'session.audio.output', message: "Invalid type for 'session.audio.output': expected an object." };
      audio.output = { ...(audio.output ?? {}), ...(output as object) };
    }
  }
  return { ok: true, session: next };
}
