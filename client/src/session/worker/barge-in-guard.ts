// Client-side barge-in guard: while the assistant is audible, the microphone picks up its voice (even after the
// browser's echo canceller). Mic frames then only reach the provider's VAD when they are clearly the person: loud
// (at or above `openDb`) in `openLoud` of the last `openWindow` frames, the newest one loud too. Until then the
// worker sends *nothing*: on earshot.v2 the relay fills the gap toward the provider with silence from the capture
// timestamps (so the provider's audio clock stays continuous); on the debugging v1 link the provider's buffer
// simply pauses. Either way its VAD never hears the echo. The frames that opened the gate (the pre-roll) are
// released with them, so the start of the person's word is not lost.
//
// Why 7 of 10 (issue 15, measured on the speakerphone bench, README "What opened the false turns"): Chromium's
// canceller lets the onset of a reply's echo through before it adapts — 60–100 ms as loud as the person (up to
// −18 dBFS), at the reply's start and again where the voice resumes after a pause — then removes the rest. The
// guard as first shipped opened on 3 loud frames in a row, so those bursts opened it and the provider's VAD took
// them for the person. The bursts measured had at most 5 loud frames in any 10 with the echo up to as loud as the
// user; a person's first word over a reply had 6–12 in a row: they are let through ~0.1 s later than on the old
// rule, or on their next word when the first was shorter than 140 ms.
// Pure: the session worker keeps the state and passes frame levels in.

export interface GuardConfig {
  /** Frame RMS (dBFS) that counts as the person talking over the assistant. */
  openDb: number;
  /** Loud frames (20 ms each) among the last `openWindow` needed to open the gate; at most 31 frames back. */
  openLoud: number;
  openWindow: number;
  /** Keep the gate open this many frames after the level falls below `openDb` (speech has gaps). */
  holdFrames: number;
}

export const DEFAULT_GUARD: GuardConfig = { openDb: -32, openLoud: 7, openWindow: 10, holdFrames: 25 };

/** Frames of pre-roll to keep: the window that opened the gate (so all of the word's start goes out). */
export const preRollFrames = (config: GuardConfig): number => config.openWindow;

export interface GuardState {
  /** Which of the last frames were loud while the assistant was audible, newest in bit 0. */
  recent: number;
  holdLeft: number;
}

export const initialGuard: GuardState = { recent: 0, holdLeft: 0 };

export type GuardVerdict =
  /** Send this frame as it is. */
  | 'pass'
  /** Send nothing for this frame (echo or quiet noise while the assistant speaks); keep it as pre-roll. */
  | 'mute'
  /** Gate just opened: send the held pre-roll frames, then this one. */
  | 'open';

const ones = (bits: number): number => {
  let n = 0;
  for (let b = bits; b !== 0; b &= b - 1) n++;
  return n;
};

/** Whether the loudness history `recent` (newest in bit 0) opens the gate. */
export const opensOn = (recent: number, config: GuardConfig = DEFAULT_GUARD): boolean => (recent & 1) === 1 && ones(recent & (2 ** config.openWindow - 1)) >= config.openLoud;

export function guardStep(state: GuardState, frameDb: number, assistantAudible: boolean, config: GuardConfig = DEFAULT_GUARD): { state: GuardState; verdict: GuardVerdict } {
  const loud = frameDb >= config.openDb;
  if (!assistantAudible) {
    // Normal listening: everything goes to the provider's own VAD.
    return { state: initialGuard, verdict: 'pass' };
  }
  const recent = ((state.recent << 1) | (loud ? 1 : 0)) & 0x7fffffff;
  if (state.holdLeft > 0) return { state: { recent, holdLeft: loud ? config.holdFrames : state.holdLeft - 1 }, verdict: 'pass' };
  if (opensOn(recent, config)) return { state: { recent, holdLeft: config.holdFrames }, verdict: 'open' };
  return { state: { recent, holdLeft: 0 }, verdict: 'mute' };
}
