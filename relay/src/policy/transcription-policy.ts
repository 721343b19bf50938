// The operator's policy for a transcription session (`?intent=transcription`): its first `session.update`.
// A transcription session has no voice, instructions or responses, so only the input side of the policy
// applies; without an operator transcription model the provider's default is used.
import type { SessionPolicy } from '../config/config.ts';
import type { EventOf, ClientEvent } from '../../../protocol/realtime.ts';

const DEFAULT_TRANSCRIPTION_MODEL = 'gpt-4o-mini-transcribe';

export function initialTranscriptionUpdate(policy: SessionPolicy): EventOf<ClientEvent, 'session.update'> {
  const td = policy.turnDetection;
  return {
    type: 'session.update',
    event_id: 'relay_policy',
    session: {
      type: 'transcription',
      audio: {
        input: {
          format: { type: 'audio/pcm', rate: 24000 },
          transcription: { model: policy.transcriptionModel ?? DEFAULT_TRANSCRIPTION_MODEL },
          // Transcription sessions only take server VAD's timing fields (no responses to create or interrupt).
          turn_detection:
            td === null
              ? null
              : td.type === 'server_vad'
                ? { type: 'server_vad', threshold: td.threshold, prefix_padding_ms: td.prefix_padding_ms, silence_duration_ms: td.silence_duration_ms }
                : { type: 'server_vad' },
          noise_reduction: policy.noiseReduction ? { type: policy.noiseReduction } : (null as never),
        },
      },
    },
  };
}
