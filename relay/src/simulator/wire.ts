// The simulator's outgoing wire types: the `openai` package's GA server events, plus the few fields the live
// service sends that the package does not declare yet (recorded from a live session, issue 13). Extending the
// package's types, never replacing them, keeps the type check able to catch a misspelt or wrong field.
import type {
  RealtimeServerEvent,
  RealtimeSessionCreateRequest,
  RealtimeTranscriptionSessionCreateRequest,
} from 'openai/resources/realtime/realtime';
import type { EventOf } from '../../../protocol/realtime.ts';

/** What `session.created`/`session.updated` carry for a conversation session. */
export type SimRealtimeSession = RealtimeSessionCreateRequest & {
  object: 'realtime.session';
  id: string;
  /** Unix seconds: the provider ends every session 60 minutes after it starts. */
  expires_at: number;
};

/** The same for a transcription session (`?intent=transcription`). */
export type SimTranscriptionSession = RealtimeTranscriptionSessionCreateRequest & {
  object: 'realtime.transcription_session';
  id: string;
  expires_at: number;
};

export type SimSession = SimRealtimeSession | SimTranscriptionSession;

/** Fields the live service adds to an event, by event type. */
interface Extra {
  'session.created': { session: SimSession };
  'session.updated': { session: SimSession };
  // Random padding that hides the length of a delta on the wire; clients ignore it.
  'response.output_text.delta': { obfuscation: string };
  'response.output_audio_transcript.delta': { obfuscation: string };
  'response.function_call_arguments.delta': { obfuscation: string };
  'conversation.item.input_audio_transcription.delta': { obfuscation: string };
}

type ServerEventType = RealtimeServerEvent['type'];

/** One server event as the simulator sends it. */
export type SimServerEvent = {
  [T in ServerEventType]: EventOf<RealtimeServerEvent, T> & (T extends keyof Extra ? Extra[T] : unknown);
}[ServerEventType];
