// When the microphone may be carrying the onset of the assistant's echo, from what the app itself played: the
// playback worklet reports its output level every 20 ms (`progress`), and a voice onset is that level rising to
// speech after a quiet stretch (the reply's start, or a pause). For `windowMs` after it the barge-in guard asks for
// more before it believes the person (barge-in-guard.ts, `onsetLoud` of `onsetWindow`).
//
// Why (issue 15, README "What opened the false turns"): Chromium's echo canceller lets the first 60–180 ms of echo
// after a voice onset through nearly whole, as loud as the person, and in a browser that has never heard a far end
// (the conversation's first reply) for up to 8–9 frames: longer than the 7 of 10 loud frames the guard needs the
// rest of the time. The echo reached the session worker ~200 ms after the worklet reported the onset (the WebRTC
// loopback, the output and the capture paths), so the window covers that delay, the burst and a margin for slower
// output paths; later the canceller has adapted and the quicker rule holds.
// Pure: the session worker feeds it playback levels and asks it per capture frame, on its own clock.

export interface EchoOnsetConfig {
  /** Playback RMS (dBFS) that counts as voice (the app's replies play at −20…−9 dBFS; lead-in silence under −90). */
  voiceDb: number;
  /** Playback below voiceDb this long before voice makes the voice an onset (the canceller's state then is stale). */
  quietMs: number;
  /** How long after an onset the capture may carry its unremoved echo. */
  windowMs: number;
}

export const DEFAULT_ECHO_ONSET: EchoOnsetConfig = { voiceDb: -40, quietMs: 250, windowMs: 600 };

export interface EchoOnsetState {
  /** When playback was last at voice level (null: not since it started or was stopped). */
  lastVoiceAt: number | null;
  /** When the latest onset was reported (null: none yet). */
  onsetAt: number | null;
}

export const initialEchoOnset: EchoOnsetState = { lastVoiceAt: null, onsetAt: null };

/** A playback level report (`progress`), at `now` on the worker's clock. */
export function playbackLevel(state: EchoOnsetState, db: number, now: number, config: EchoOnsetConfig = DEFAULT_ECHO_ONSET): EchoOnsetState {
  if (db < config.voiceDb) return state;
  const onset = state.lastVoiceAt === null || now - state.lastVoiceAt >= config.quietMs;
  return { lastVoiceAt: now, onsetAt: onset ? now : state.onsetAt };
}

/**
 * Playback stopped (drained, flushed): the next voice is an onset again. An onset already reported keeps its window,
 * since its echo is still on its way to the microphone.
 */
export const playbackStopped = (state: EchoOnsetState): EchoOnsetState => ({ lastVoiceAt: null, onsetAt: state.onsetAt });

/** Whether a capture frame handled at `now` may carry an onset's unremoved echo. */
export const inEchoOnset = (state: EchoOnsetState, now: number, config: EchoOnsetConfig = DEFAULT_ECHO_ONSET): boolean =>
  state.onsetAt !== null && now >= state.onsetAt && now - state.onsetAt < config.windowMs;
