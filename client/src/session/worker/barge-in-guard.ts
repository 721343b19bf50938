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
//
// Why the guard keeps holding back for the echo's tail after the assistant stops being audible (issue 15, the
// reverberant room, 2026-12-04): "audible" ends when the playback worklet drains, but the microphone still carries
// the last ~0.1–0.3 s of what was played (the speaker-to-mic delay) and, in a live room, its reverberation, which the
// canceller removes only in part: on the bench's reverb route two false turns opened 7 and 30 ms after the
// assistant stopped counting as audible, on −36…−39 dBFS frames (the dry route: the tail at −60…−120 dBFS). The
// tail is judged from what was measured, not a fixed hang: it starts only if the echo the guard was holding back
// (`echoPeakDb`: the loudest muted frame, decaying `echoPeakDecayDb` per frame, so the last second of the reply
// counts) was at or above `tailFloorDb`, and it ends as soon as the capture falls under `tailFloorDb` (the echo has
// died away; a dry room's tail ends on its first frame) or after `tailMaxFrames`. A reverberant tail only decays;
// a person answering right away rises: a frame `tailRiseDb` above the quietest of the tail so far ends it with
// 'open' (the held frames go out with it), so their first word is neither lost nor late.
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
  /** After the assistant stops being audible, hold back its echo's tail while it is at or above this (dBFS)… */
  tailFloorDb: number;
  /** …unless a frame rises this far above the tail's quietest frame so far (a person, not a decaying tail)… */
  tailRiseDb: number;
  /** …for at most this many frames. */
  tailMaxFrames: number;
  /** How fast the remembered echo level (`echoPeakDb`) decays per frame while the assistant is audible (dB). */
  echoPeakDecayDb: number;
}

// The tail's floor: 5 dB under the provider's VAD (−40 dBFS in the simulator, README "What opened the false turns").
export const DEFAULT_GUARD: GuardConfig = { openDb: -32, openLoud: 7, openWindow: 10, onsetLoud: 12, onsetWindow: 14, holdFrames: 25, tailFloorDb: -45, tailRiseDb: 10, tailMaxFrames: 25, echoPeakDecayDb: 0.5 };

/** Frames of pre-roll to keep: the longest window that can open the gate (so all of the word's start goes out). */
export const preRollFrames = (config: GuardConfig): number => Math.max(config.openWindow, config.onsetWindow);

export interface GuardState {
  /** Which of the last frames were loud while the assistant was audible, newest in bit 0. */
  recent: number;
  holdLeft: number;
  /** The loudest frame held back as echo while the assistant was audible, decaying (−Infinity: none). */
  echoPeakDb: number;
  /** After the assistant stopped being audible, while its echo's tail may still ring: the tail's quietest frame so far and frames left. */
  tail: { lowestDb: number; left: number } | null;
}

export const initialGuard: GuardState = { recent: 0, holdLeft: 0, echoPeakDb: Number.NEGATIVE_INFINITY, tail: null };

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
  if (!assistantAudible) return afterAudible(state, frameDb, config);
  const recent = ((state.recent << 1) | (loud ? 1 : 0)) & 0x7fffffff;
  const echoPeakDb = state.echoPeakDb - config.echoPeakDecayDb;
  if (state.holdLeft > 0) return { state: { recent, holdLeft: loud ? config.holdFrames : state.holdLeft - 1, echoPeakDb, tail: null }, verdict: 'pass' };
  if (opensOn(recent, config, echoOnset)) return { state: { recent, holdLeft: config.holdFrames, echoPeakDb, tail: null }, verdict: 'open' };
  // Held back as echo: remember how loud it was, for its tail (afterAudible).
  return { state: { recent, holdLeft: 0, echoPeakDb: Math.max(echoPeakDb, frameDb), tail: null }, verdict: 'mute' };
}

/** A frame after the assistant stopped being audible: its echo's tail, held back (see the header), or normal listening. */
function afterAudible(state: GuardState, frameDb: number, config: GuardConfig): { state: GuardState; verdict: GuardVerdict } {
  // The tail starts on the first frame after the reply, only if the guard was holding echo back (not open for the
  // person) and that echo was loud enough to matter.
  const tail = state.tail ?? (state.holdLeft === 0 && state.echoPeakDb >= config.tailFloorDb ? { lowestDb: state.echoPeakDb, left: config.tailMaxFrames } : null);
  // Normal listening: everything goes to the provider's own VAD.
  if (tail === null) return { state: initialGuard, verdict: 'pass' };
  // A rise over the decaying tail is a person: send what was held with it.
  if (frameDb >= tail.lowestDb + config.tailRiseDb) return { state: initialGuard, verdict: 'open' };
  // Died away (or rang as long as it may): listen normally; what was held was the tail.
  if (frameDb < config.tailFloorDb || tail.left <= 0) return { state: initialGuard, verdict: 'pass' };
  return { state: { ...initialGuard, tail: { lowestDb: Math.min(tail.lowestDb, frameDb), left: tail.left - 1 } }, verdict: 'mute' };
}
