// Numbers every side must agree on: the provider's audio format and Earshot's framing.
/** The Realtime API's pcm16 rate, both directions. */
export const WIRE_SAMPLE_RATE = 24_000;
/** Capture frame length: 20 ms is the usual VoIP frame and the unit of `input_audio_buffer.append`. */
export const FRAME_MS = 20;
export const WIRE_FRAME_SAMPLES = (WIRE_SAMPLE_RATE * FRAME_MS) / 1000; // 480
export const WIRE_FRAME_BYTES = WIRE_FRAME_SAMPLES * 2; // pcm16 mono
/** The provider ends every session after this long; the relay and simulator use it as the default cap. */
export const PROVIDER_MAX_SESSION_MS = 60 * 60 * 1000;
/** Default model name sent upstream when the client does not name one. */
export const DEFAULT_MODEL = 'gpt-realtime';
