// The operator's session policy as the provider sees it: the first `session.update` of every session, and the
// check that keeps clients inside it (allowed event types, mutable `session` fields, allowed voices).
import type { SessionPolicy } from '../config/config.ts';
import type { UserRecord } from '../auth/store.ts';
import type { ClientPolicyView } from '../../../protocol/relay-http.ts';
import type { RelayErrorCode } from '../../../protocol/relay-errors.ts';
import type { EventOf, ClientEvent } from '../../../protocol/realtime.ts';

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

export type PolicyVerdict = { ok: true } | { ok: false; code: RelayErrorCode; message: string; param: string | null };

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Leaf paths of an object (`audio.output.voice`); objects that are values of a mutable path are not descended. */
function leafPaths(value: Record<string, unknown>, prefix: string, mutable: Set<string>, out: string[]): void {
  for (const [key, child] of Object.entries(value)) {
    const path = prefix ? `${prefix}.${key}` : key;
    if (mutable.has(path) || !isObject(child) || Object.keys(child).length === 0) out.push(path);
    else leafPaths(child, path, mutable, out);
  }
}

export function checkSessionUpdate(policy: SessionPolicy, event: unknown): PolicyVerdict {
  if (!isObject(event) || !isObject(event.session)) {
    return { ok: false, code: 'invalid_value', message: "session.update needs a 'session' object.", param: 'session' };
  }
  const mutable = new Set(policy.clientMutableFields);
  const paths: string[] = [];
  leafPaths(event.session, '', mutable, paths);
  for (const path of paths) {
    const allowed = [...mutable].some((m) => path === m || path.startsWith(`${m}.`));
    if (!allowed) {
      return {
        ok: false,
        code: 'session_field_locked',
        message: `The relay's operator does not allow clients to change 'session.${path}'.`,
        param: `session.${path}`,
      };
    }
  }
  const voice = (event.session.audio as { output?: { voice?: unknown } } | undefined)?.output?.voice;
  if (voice !== undefined && (typeof voice !== 'string' || !policy.voices.includes(voice))) {
    return { ok: false, code: 'voice_not_allowed', message: `Voice '${String(voice)}' is not offered on this relay. Choose one of: ${policy.voices.join(', ')}.`, param: 'session.audio.output.voice' };
  }
  return { ok: true };
}
