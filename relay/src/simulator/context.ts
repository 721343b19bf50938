// What the simulator's parts (input-audio.ts, conversation.ts, response-stream.ts) share with the dispatcher
// in engine.ts: one event sink, one id counter, one error shape, the effective session. All on the thread
// that owns the socket; nothing here is async.
import type { SessionConfig } from './session-config.ts';
import type { SimServerEvent } from './wire.ts';

export interface SimulatorOptions {
  /** Provider-style hard cap on a session; default 60 minutes, as the real service. */
  maxSessionMs?: number;
  /** Skip VAD: answer every append at once with a delta of the same audio (relay benchmarks). */
  benchmark?: boolean;
  /** Raise the echo's pitch so the reply is clearly the bot (default true). */
  pitchShift?: boolean;
  /** How much faster than real time reply audio streams (default 4, the provider is also faster). */
  paceFactor?: number;
  /** Wall clock for `expires_at` (tests pin it). */
  now?: () => number;
}

export type IdPrefix = 'event' | 'item' | 'resp' | 'call' | 'conv' | 'sess';

export interface SimContext {
  readonly options: Required<SimulatorOptions>;
  emit(event: SimServerEvent): void;
  id(prefix: IdPrefix): string;
  /** An `error` event; the session stays open. `eventId` echoes the client event that caused it, or null. */
  error(code: string, message: string, param: string | null, eventId: string | null): void;
  session(): SessionConfig;
}

const PAD = 'k3Qz8vWm1XpL0aTn';

/**
 * The provider pads deltas with `obfuscation` so their sizes do not leak the text; clients ignore it.
 * Deterministic here: padding to the next multiple of 16 characters.
 */
export function obfuscation(delta: string): string {
  return PAD.slice(0, 16 - (delta.length % 16));
}
