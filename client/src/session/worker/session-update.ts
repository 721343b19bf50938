// Builds the client's `session.update` from the person's settings, keeping only the fields the relay's policy
// lets a client change (the relay rejects the whole event if one locked field is present).
import type { ClientEvent, EventOf } from '../../../../protocol/realtime.ts';
import type { ClientPolicyView } from '../../../../protocol/relay-http.ts';
import type { EngineSettings } from '../engine-api.ts';

export const HANDS_FREE_TURN_DETECTION = {
  type: 'server_vad',
  threshold: 0.5,
  prefix_padding_ms: 300,
  silence_duration_ms: 500,
  create_response: true,
  interrupt_response: true,
} as const;

export interface SessionUpdatePlan {
  event: EventOf<ClientEvent, 'session.update'> | null;
  /** Settings the person asked for that the policy does not allow (to tell them once). */
  refused: string[];
  /** The voice this update asks for (absent: it leaves the voice alone). */
  voice?: string;
  /** A new voice was asked for after the assistant spoke: it waits for the next conversation. */
  voiceDeferred: boolean;
}

/**
 * The provider session's voice as far as the app knows: `current` (what the session speaks with now) and
 * whether it is `locked` — after any assistant audio the provider refuses a voice change (`cannot_update_voice`),
 * so the app then sends none and the new voice applies to the next conversation (a new provider session).
 */
export interface VoiceState {
  current: string;
  locked: boolean;
}

function allowed(policy: ClientPolicyView, path: string): boolean {
  return policy.mutableFields.some((m) => path === m || path.startsWith(`${m}.`));
}

export function planSessionUpdate(settings: EngineSettings, policy: ClientPolicyView, voiceState: VoiceState = { current: policy.voice, locked: false }): SessionUpdatePlan {
  const refused: string[] = [];
  let voiceDeferred = false;
  let voice: string | undefined;
  const input: Record<string, unknown> = {};
  const output: Record<string, unknown> = {};
  const session: Record<string, unknown> = {};

  if (allowed(policy, 'audio.input.turn_detection')) {
    input.turn_detection = settings.mode === 'hands-free' ? { ...HANDS_FREE_TURN_DETECTION } : null;
  } else if (settings.mode === 'hold-to-talk') refused.push('hold-to-talk');

  if (allowed(policy, 'audio.input.noise_reduction')) {
    input.noise_reduction = { type: settings.farField ? 'far_field' : 'near_field' };
  } else if (settings.farField) refused.push('far-field noise reduction');

  // A voice goes out only when it differs from the one the session speaks with, and only before the first audio.
  const wanted = settings.voice ?? policy.voice;
  if (wanted !== voiceState.current) {
    if (!allowed(policy, 'audio.output.voice') || !policy.voices.includes(wanted)) refused.push('voice');
    else if (voiceState.locked) voiceDeferred = true;
    else output.voice = voice = wanted;
  }
  if (settings.instructions !== undefined && settings.instructions !== '' && settings.instructions !== policy.instructions) {
    if (allowed(policy, 'instructions')) session.instructions = settings.instructions;
    else refused.push('instructions');
  }

  const audio: Record<string, unknown> = {};
  if (Object.keys(input).length > 0) audio.input = input;
  if (Object.keys(output).length > 0) audio.output = output;
  if (Object.keys(audio).length > 0) session.audio = audio;
  if (Object.keys(session).length === 0) return { event: null, refused, voiceDeferred };
  // `type` is required by the GA schema; include it only if the relay lets clients send it.
  if (allowed(policy, 'type')) session.type = 'realtime';
  const event = { type: 'session.update', session } as unknown as EventOf<ClientEvent, 'session.update'>;
  return { event, refused, voiceDeferred, ...(voice !== undefined ? { voice } : {}) };
}
