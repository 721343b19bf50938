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
