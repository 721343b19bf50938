import { describe, expect, it } from 'vitest';
import { DEFAULT_GUARD, guardStep, initialGuard, preRollFrames, type GuardConfig, type GuardState, type GuardVerdict } from './barge-in-guard.ts';

function run(levels: number[], audible: boolean | boolean[], config: GuardConfig = DEFAULT_GUARD): GuardVerdict[] {
  let state: GuardState = initialGuard;
  return levels.map((db, i) => {
    const step = guardStep(state, db, Array.isArray(audible) ? audible[i]! : audible, config);
    state = step.state;
    return step.verdict;
  });
}

/** The guard as it shipped before issue 15's onset rule: three loud frames in a row, from the reply's first frame. */
const BEFORE_ONSET_RULE: GuardConfig = { ...DEFAULT_GUARD, onsetFrames: 0 };

/** Quiet echo (the canceller working) for the onset window: what follows is judged by the quick rule. */
const pastOnset = Array<number>(DEFAULT_GUARD.onsetFrames).fill(-70);
/** After the onset window, the verdicts for `levels`. */
const later = (levels: number[]) => run([...pastOnset, ...levels], true).slice(pastOnset.length);
/** 30 frames (0.6 s) into a reply, when its echo arrives: the verdicts for `levels`. */
const echoArrives = Array<number>(30).fill(-110);
const atOnset = (levels: number[], config: GuardConfig = DEFAULT_GUARD) => run([...echoArrives, ...levels], true, config).slice(echoArrives.length);

// Frame levels (dBFS) recorded by the speakerphone bench (ECHO_TRACE=1, +6 dB, 40 ms; Chromium 156): the first
// frames of a reply's echo, which the canceller let through before it adapted, then removed.
const ECHO_BURSTS = [
  [-120, -115, -110, -89, -23, -18, -25, -63, -70, -104, -106, -105],
  [-57, -39, -31, -36, -35, -33, -31, -28, -27, -32, -37, -37, -41, -47, -75],
  [-89, -81, -48, -36, -24, -24, -25, -29, -41, -77, -79, -72],
  [-71, -66, -42, -32, -23, -18, -25, -27, -45, -77, -80, -92],
  [-70, -49, -52, -55, -31, -23, -25, -27, -29, -55, -89, -94],
];
// …and the person talking over a reply ~1.6 s in ("Wait, stop, …"), same runs.
const BARGE_INS = [
  [-61, -57, -46, -41, -27, -24, -23, -21, -21, -23, -21, -23, -28, -30, -32, -29, -33, -47],
  [-89, -60, -47, -33, -24, -23, -25, -26, -25, -26, -27, -31, -40, -74],
  [-78, -60, -47, -36, -25, -21, -21, -20, -21, -25, -24, -24, -19, -23, -22, -24, -32],
];
/** "Wait" alone is 6 loud frames; the next word comes 0.4 s later. */
const SHORT_FIRST_WORD = [-101, -74, -55, -40, -27, -25, -25, -29, -26, -29, -33, -36, -36, -48, -81, -95, ...Array<number>(16).fill(-100), -34, -29, -30, -41, -31, -34, -24, -20, -17, -17, -19, -18];

describe('barge-in guard', () => {
  it('passes every frame while the assistant is silent, however quiet', () => {
    expect(run([-90, -50, -40, -20], false)).toEqual(['pass', 'pass', 'pass', 'pass']);
  });

  it('mutes echo-level input while the assistant speaks', () => {
    expect(run([-45, -40, -38, -36, -45, -40], true)).toEqual(Array(6).fill('mute'));
  });

  it('opens on the leaking echo bursts measured at a reply’s onset with the guard as it was before the onset rule', () => {
    // The failure the onset rule fixes: three loud frames in a row, and the provider's VAD heard the echo.
    for (const burst of ECHO_BURSTS) expect(atOnset(burst, BEFORE_ONSET_RULE)).toContain('open');
  });

  it('does NOT open on those bursts: at a reply’s onset it wants 7 loud frames of the last 10', () => {
    for (const burst of ECHO_BURSTS) expect(atOnset(burst)).not.toContain('open');
  });

  it('opens on a person talking over the reply at its onset, at most 0.1 s after the quick rule would', () => {
    for (const speech of BARGE_INS) {
      const opensAt = atOnset(speech).indexOf('open');
      const quickAt = atOnset(speech, BEFORE_ONSET_RULE).indexOf('open');
      expect(opensAt).toBeGreaterThan(-1);
      expect(opensAt - quickAt).toBeLessThanOrEqual(5);
    }
  });

  it('opens on the next word when the first is too short to tell from a burst', () => {
    const verdicts = atOnset(SHORT_FIRST_WORD);
    expect(verdicts.slice(0, 16)).not.toContain('open');
    expect(verdicts).toContain('open');
  });

  it('after the onset window, opens after openFrames consecutive loud frames and asks for the pre-roll', () => {
    expect(later([-45, -20, -20, -20, -20])).toEqual(['mute', 'mute', 'mute', 'open', 'pass']);
  });

  it('after the onset window, does not open on isolated loud frames (a clap, a peak of echo)', () => {
    expect(later([-20, -45, -20, -20, -45, -20])).toEqual(Array(6).fill('mute'));
  });

  it('holds the gate open through short pauses in speech, then closes', () => {
    const levels = [-20, -20, -20, ...Array(DEFAULT_GUARD.holdFrames).fill(-50), -50, -50];
    const verdicts = later(levels);
    expect(verdicts.slice(0, 3)).toEqual(['mute', 'mute', 'open']);
    expect(verdicts.slice(3, 3 + DEFAULT_GUARD.holdFrames).every((v) => v === 'pass')).toBe(true);
    expect(verdicts.slice(-2)).toEqual(['mute', 'mute']);
  });

  it('resets when the assistant stops speaking, so the next reply starts with the onset rule again', () => {
    expect(run([-20, -20, -45, -45], [true, true, false, true])).toEqual(['mute', 'mute', 'pass', 'mute']);
    const next = run([...pastOnset, -45, ...echoArrives, ...ECHO_BURSTS[0]!], [...pastOnset.map(() => true), false, ...echoArrives.map(() => true), ...ECHO_BURSTS[0]!.map(() => true)]);
    expect(next).not.toContain('open');
  });

  it('keeps as much pre-roll as the onset rule looks back over', () => {
    expect(preRollFrames(DEFAULT_GUARD)).toBe(DEFAULT_GUARD.onsetWindow);
  });

  it('honours a custom threshold', () => {
    const config = { openDb: -50, openFrames: 1, holdFrames: 0, onsetFrames: 0, onsetLoud: 1, onsetWindow: 1 };
    expect(guardStep(initialGuard, -45, true, config).verdict).toBe('open');
  });
});
