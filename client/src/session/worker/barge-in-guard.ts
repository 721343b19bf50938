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
//
// Why more (`onsetLoud` of `onsetWindow`) just after a voice onset in the playback (echo-onset.ts says when): in a
// browser that has never heard a far end, the conversation's first reply's echo came through for 7–8 frames at
// −29…−12 dBFS before the canceller adapted (3 of 6 fresh browsers at 0 dB), which 7 of 10 let through; at +6 dB
// later onsets did too. Only there, where the app knows it just started to play, does the guard ask for 12 of 14;
// and (2026-12-03 evening) wherever the capture's level envelope follows the playback's (echo-likeness.ts): the
// canceller re-diverging mid-reply, past the onset window.
//
// Why a frame coherent with the played samples does not count as loud at all (echo-coherence.ts, 2026-12-04): it is
// the echo (the capture is explained by what was played), so it must not open the gate however long it lasts; the
// stricter 12 of 14 alone would still open on echo that stays through for 0.25 s or more. A person talking over
// the reply makes the capture incoherent (their voice is not a filtering of the played samples), so their frames
// count as before: on espeak speech the guard opened for them on the same frames (echo-coherence.test.ts).
// Pure: the session worker keeps the state and passes frame levels in.

export interface GuardConfig {
  /** Frame RMS (dBFS) that counts as the person talking over the assistant. */
  openDb: number;
  /** Loud frames (20 ms each) among the last `openWindow` needed to open the gate; at most 31 frames back. */
  openLoud: number;
  openWindow: number;
  /** The same rule within an echo onset (echo-onset.ts): the canceller has not adapted yet, so echo bursts are longer. */
  onsetLoud: number;
  onsetWindow: number;
  /** Keep the gate open this many frames after the level falls below `openDb` (speech has gaps). */
  holdFrames: number;
}

export const DEFAULT_GUARD: GuardConfig = { openDb: -32, openLoud: 7, openWindow: 10, onsetLoud: 12, onsetWindow: 14, holdFrames: 25 };

/** Frames of pre-roll to keep: the longest window that can open the gate (so all of the word's start goes out). */
export const preRollFrames = (config: GuardConfig): number => Math.max(config.openWindow, config.onsetWindow);

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

/** Whether the loudness history `recent` (newest in bit 0) opens the gate; `echoOnset`: by the stricter rule. */
export const opensOn = (recent: number, config: GuardConfig = DEFAULT_GUARD, echoOnset = false): boolean => {
  const [loud, window] = echoOnset ? [config.onsetLoud, config.onsetWindow] : [config.openLoud, config.openWindow];
  return (recent & 1) === 1 && ones(recent & (2 ** window - 1)) >= loud;
};

/**
 * One capture frame. `assistantAudible`: assistant audio is queued or playing; `echoOnset`: the frame may carry the
 * unremoved echo of a voice onset the app just played (echo-onset.ts); `echoCoherent`: the frame is explained by
 * the samples just played (echo-coherence.ts), so it is not the person however loud.
 */
export function guardStep(state: GuardState, frameDb: number, assistantAudible: boolean, config: GuardConfig = DEFAULT_GUARD, echoOnset = false, echoCoherent = false): { state: GuardState; verdict: GuardVerdict } {
  const loud = frameDb >= config.openDb && !echoCoherent;
  if (!assistantAudible) {
    // Normal listening: everything goes to the provider's own VAD.
    return { state: initialGuard, verdict: 'pass' };
  }
  const recent = ((state.recent << 1) | (loud ? 1 : 0)) & 0x7fffffff;
  if (state.holdLeft > 0) return { state: { recent, holdLeft: loud ? config.holdFrames : state.holdLeft - 1 }, verdict: 'pass' };
  if (opensOn(recent, config, echoOnset)) return { state: { recent, holdLeft: config.holdFrames }, verdict: 'open' };
  return { state: { recent, holdLeft: 0 }, verdict: 'mute' };
}
