// The provider's wire protocol (OpenAI Realtime API, GA shape), typed from the official `openai` package
// so that the relay, the simulator and the client agree with the provider rather than with each other.
import type {
  RealtimeClientEvent,
  RealtimeServerEvent,
  RealtimeErrorEvent,
  RealtimeError,
} from 'openai/resources/realtime/realtime';

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

/** Every GA client event type, in one list for the relay's policy and the simulator's "supported values" error. */
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
] as const satisfies readonly ClientEventType[];

// Compile-time proof the list is complete: every ClientEventType must appear in it.
type Missing = Exclude<ClientEventType, (typeof CLIENT_EVENT_TYPES)[number]>;
export const CLIENT_EVENT_TYPES_COMPLETE: Missing extends never ? true : Missing = true;
