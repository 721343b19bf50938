// Client-side barge-in guard: while the assistant is audible, the microphone picks up its voice (even after the
// browser's echo canceller). Mic frames then only reach the provider's VAD when they are clearly the person: loud
// (above `openDb`) in enough of the last few frames. Until then the worker sends *nothing*: on earshot.v2 the relay
// fills the gap toward the provider with silence from the capture timestamps (so the provider's audio clock stays
// continuous); on the debugging v1 link the provider's buffer simply pauses. Either way its VAD never hears the
// echo. A short pre-roll of the frames that opened the gate is released with them, so the start of the person's
// word is not lost.
//
// The onset rule (issue 15, measured on the speakerphone bench, README "Speakerphone echo"): Chromium's canceller
// lets the first 60–100 ms of a reply's echo through before it adapts — 3–5 frames as loud as the person (up to
// −18 dBFS), arriving 0.5–1.4 s after the reply's first audio reached the worker — and then removes the rest. Three
// loud frames in a row opened the gate on that burst and the provider's VAD took it for the person. So for the
// first `onsetFrames` of each reply the gate asks for more: `onsetLoud` loud frames among the last `onsetWindow`
// (7 of 10: the bursts measured had at most 5 loud frames in any 10; a person's first word over the reply had 6–12
// in a row, so they open ~0.1 s later than on the quick rule, or on their next word). After `onsetFrames` (2.5 s:
// the bursts came at most 1.4 s in), the quick rule again: `openFrames` in a row.
// Pure: the session worker keeps the state and passes frame levels in.

export interface GuardConfig {
  /** Frame RMS (dBFS) that counts as the person talking over the assistant. */
  openDb: number;
  /** Consecutive loud frames needed to open the gate (20 ms each). */
  openFrames: number;
  /** Keep the gate open this many frames after the level falls below `openDb` (speech has gaps). */
  holdFrames: number;
  /** Frames from the assistant becoming audible during which the onset rule applies (its echo may leak then). */
  onsetFrames: number;
  /** The onset rule: at least `onsetLoud` loud frames among the last `onsetWindow`, the newest one loud too. */
  onsetLoud: number;
  onsetWindow: number;
}

export const DEFAULT_GUARD: GuardConfig = { openDb: -32, openFrames: 3, holdFrames: 25, onsetFrames: 125, onsetLoud: 7, onsetWindow: 10 };

/** Frames of pre-roll to keep: as many as the longer rule looks back over (so the frames that opened it go out). */
export const preRollFrames = (config: GuardConfig): number => Math.max(config.openFrames, config.onsetWindow);

export interface GuardState {
  /** The last frames' loudness while audible, newest in bit 0 (at most 31 frames are looked back over). */
  recent: number;
  holdLeft: number;
  /** Frames since the assistant became audible. */
  audibleFrames: number;
}

export const initialGuard: GuardState = { recent: 0, holdLeft: 0, audibleFrames: 0 };

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

/** Whether the loudness history `recent` (newest in bit 0) opens the gate `audibleFrames` into the reply. */
export function opensOn(recent: number, audibleFrames: number, config: GuardConfig = DEFAULT_GUARD): boolean {
  if ((recent & 1) === 0) return false;
  const [loud, window] = audibleFrames <= config.onsetFrames ? [config.onsetLoud, config.onsetWindow] : [config.openFrames, config.openFrames];
  return ones(recent & (2 ** window - 1)) >= loud;
}

export function guardStep(state: GuardState, frameDb: number, assistantAudible: boolean, config: GuardConfig = DEFAULT_GUARD): { state: GuardState; verdict: GuardVerdict } {
  const loud = frameDb >= config.openDb;
  if (!assistantAudible) {
    // Normal listening: everything goes to the provider's own VAD.
    return { state: initialGuard, verdict: 'pass' };
  }
  const recent = ((state.recent << 1) | (loud ? 1 : 0)) & 0x7fffffff;
  const audibleFrames = state.audibleFrames + 1;
  if (state.holdLeft > 0) {
    return { state: { recent, holdLeft: loud ? config.holdFrames : state.holdLeft - 1, audibleFrames }, verdict: 'pass' };
  }
  if (opensOn(recent, audibleFrames, config)) return { state: { recent, holdLeft: config.holdFrames, audibleFrames }, verdict: 'open' };
  return { state: { recent, holdLeft: 0, audibleFrames }, verdict: 'mute' };
}
