// Client-side barge-in guard: while the assistant is audible, the microphone picks up its voice (even after the
// browser's echo canceller). Mic frames then only reach the provider's VAD when they are clearly louder than the
// echo: above `openDb` for `openFrames` consecutive frames. Until then the worker sends *nothing*: on earshot.v2
// the relay fills the gap toward the provider with silence from the capture timestamps (so the provider's audio
// clock stays continuous); on the debugging v1 link the provider's buffer simply pauses. Either way its VAD never
// hears the echo. A short pre-roll of the frames that opened the gate is released with them, so the start of the
// person's word is not lost.
// Pure: the session worker keeps the state and passes frame levels in.

export interface GuardConfig {
  /** Frame RMS (dBFS) that counts as the person talking over the assistant. */
  openDb: number;
  /** Consecutive loud frames needed to open the gate (20 ms each). */
  openFrames: number;
  /** Keep the gate open this many frames after the level falls below `openDb` (speech has gaps). */
  holdFrames: number;
}

export const DEFAULT_GUARD: GuardConfig = { openDb: -32, openFrames: 3, holdFrames: 25 };

export interface GuardState {
  loudRun: number;
  holdLeft: number;
}

export const initialGuard: GuardState = { loudRun: 0, holdLeft: 0 };

export type GuardVerdict =
  /** Send this frame as it is. */
  | 'pass'
  /** Send nothing for this frame (echo or quiet noise while the assistant speaks); keep it as pre-roll. */
  | 'mute'
  /** Gate just opened: send the held pre-roll frames, then this one. */
  | 'open';

export function guardStep(state: GuardState, frameDb: number, assistantAudible: boolean, config: GuardConfig = DEFAULT_GUARD): { state: GuardState; verdict: GuardVerdict } {
  const loud = frameDb >= config.openDb;
  if (!assistantAudible) {
    // Normal listening: everything goes to the provider's own VAD.
    return { state: initialGuard, verdict: 'pass' };
  }
  if (state.holdLeft > 0) {
    return { state: { loudRun: loud ? state.loudRun + 1 : 0, holdLeft: loud ? config.holdFrames : state.holdLeft - 1 }, verdict: 'pass' };
  }
  const loudRun = loud ? state.loudRun + 1 : 0;
  if (loudRun >= config.openFrames) return { state: { loudRun, holdLeft: config.holdFrames }, verdict: 'open' };
  return { state: { loudRun, holdLeft: 0 }, verdict: 'mute' };
}
