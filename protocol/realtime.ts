// The provider's wire protocol (OpenAI Realtime API, GA shape), typed from the official `openai` package
// so that the relay, the simulator and the client agree with the provider rather than with each other.
import type {
  RealtimeClientEvent,
  RealtimeServerEvent,
  RealtimeErrorEvent,
  RealtimeError,
  RealtimeTranslationInputAudioBufferAppendEvent,
  RealtimeTranslationSessionCloseEvent,
  RealtimeAudioConfigOutput,
} from 'openai/resources/realtime/realtime';

/**
 * The provider's built-in voices, as the `openai` package's `RealtimeAudioConfigOutput.voice` lists them (its type
 * widens the literals to `string`, so the list is written out here and checked against that type). A custom voice
 * is an object `{ id: 'voice_…' }`, which Earshot does not offer.
 */
export const PROVIDER_VOICES = ['alloy', 'ash', 'ballad', 'coral', 'echo', 'sage', 'shimmer', 'verse', 'marin', 'cedar'] as const satisfies ReadonlyArray<
  Extract<NonNullable<RealtimeAudioConfigOutput['voice']>, string>
>;
export type ProviderVoice = (typeof PROVIDER_VOICES)[number];

export function isProviderVoice(voice: unknown): voice is ProviderVoice {
  return typeof voice === 'string' && (PROVIDER_VOICES as readonly string[]).includes(voice);
}

export type ClientEvent = RealtimeClientEvent;
export type ServerEvent = RealtimeServerEvent;
export type ClientEventType = ClientEvent['type'];
export type ServerEventType = ServerEvent['type'];
export type ErrorEvent = RealtimeErrorEvent;
export type ErrorBody = RealtimeError;

/** Narrow a union member by its `type` tag: `EventOf<ServerEvent, 'response.done'>`. */
export type EventOf<U extends { type: string }, T extends U['type']> = Extract<U, { type: T }>;

export function assertNever(value: never, label = 'value'): never {
  throw new Error(`unhandled ${label}: ${JSON.stringify(value)}`);
}

/**
 * GA client events the installed `openai` types list only under translation sessions (not in RealtimeClientEvent),
 * although the GA WebSocket names both among its supported client events on every session (issue 13).
 */
export type UntypedClientEventType = RealtimeTranslationSessionCloseEvent['type'] | RealtimeTranslationInputAudioBufferAppendEvent['type'];

/** Every GA client event type, in one list for the relay's policy (the default allow-list). */
export const CLIENT_EVENT_TYPES = [
  'session.update',
  'input_audio_buffer.append',
  'input_audio_buffer.commit',
  'input_audio_buffer.clear',
  'conversation.item.create',
  'conversation.item.truncate',
  'conversation.item.delete',
  'conversation.item.retrieve',
  'response.create',
  'response.cancel',
  'output_audio_buffer.clear',
  'session.close',
  'session.input_audio_buffer.append',
] as const satisfies readonly (ClientEventType | UntypedClientEventType)[];

// Compile-time proof the list is complete: every ClientEventType must appear in it.
type Missing = Exclude<ClientEventType, (typeof CLIENT_EVENT_TYPES)[number]>;
export const CLIENT_EVENT_TYPES_COMPLETE: Missing extends never ? true : Missing = true;

/**
 * The client events the GA WebSocket endpoint lists, in its own order, when it answers an unknown type with
 * `invalid_value` ("Supported values are: …"). `output_audio_buffer.clear` is not among them: it is WebRTC/SIP only.
 */
export const WEBSOCKET_CLIENT_EVENT_TYPES = [
  'session.update',
  'session.close',
  'input_audio_buffer.append',
  'session.input_audio_buffer.append',
  'input_audio_buffer.commit',
  'input_audio_buffer.clear',
  'conversation.item.create',
  'conversation.item.truncate',
  'conversation.item.delete',
  'conversation.item.retrieve',
  'response.create',
  'response.cancel',
] as const satisfies readonly (typeof CLIENT_EVENT_TYPES)[number][];

/** The provider's sentence for an event type it does not know (recorded from the GA service, issue 13). */
export function unknownEventTypeMessage(type: string): string {
  return `Invalid value: '${type.slice(0, 100)}'. Supported values are: ${WEBSOCKET_CLIENT_EVENT_TYPES.map((t) => `'${t}'`).join(', ')}.`;
}
