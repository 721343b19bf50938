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

/** The guard as it first shipped: three loud frames in a row. */
const AS_FIRST_SHIPPED: GuardConfig = { ...DEFAULT_GUARD, openLoud: 3, openWindow: 3 };

/** 30 frames (0.6 s) into a reply, when its echo arrives: the verdicts for `levels`. */
const echoArrives = Array<number>(30).fill(-110);
const atOnset = (levels: number[], config: GuardConfig = DEFAULT_GUARD) => run([...echoArrives, ...levels], true, config).slice(echoArrives.length);

// Frame levels (dBFS) recorded by the speakerphone bench (ECHO_TRACE=1, +6 dB, 40 ms; Chromium 156): the first
// frames of a reply's echo, which the canceller let through before it adapted, then removed; the last at 0 dB,
// 2.3 s into a reply, where the voice resumed after a pause.
const ECHO_BURSTS = [
  [-120, -115, -110, -89, -23, -18, -25, -63, -70, -104, -106, -105],
  [-57, -39, -31, -36, -35, -33, -31, -28, -27, -32, -37, -37, -41, -47, -75],
  [-89, -81, -48, -36, -24, -24, -25, -29, -41, -77, -79, -72],
  [-71, -66, -42, -32, -23, -18, -25, -27, -45, -77, -80, -92],
  [-70, -49, -52, -55, -31, -23, -25, -27, -29, -55, -89, -94],
  [-94, -78, -63, -48, -31, -23, -29, -44, -71, -83, -76, -91],
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

  it('opens on the leaking echo bursts measured at a reply’s onset with the guard as it first shipped', () => {
    // The failure this rule fixes: three loud frames in a row, and the provider's VAD heard the echo.
    for (const burst of ECHO_BURSTS) expect(atOnset(burst, AS_FIRST_SHIPPED)).toContain('open');
  });

  it('does NOT open on those bursts: it wants 7 loud frames of the last 10', () => {
    for (const burst of ECHO_BURSTS) expect(atOnset(burst)).not.toContain('open');
  });

  it('opens on a person talking over the reply, at most 0.1 s after the guard as first shipped would', () => {
    for (const speech of BARGE_INS) {
      const opensAt = atOnset(speech).indexOf('open');
      const quickAt = atOnset(speech, AS_FIRST_SHIPPED).indexOf('open');
      expect(opensAt).toBeGreaterThan(-1);
      expect(opensAt - quickAt).toBeLessThanOrEqual(5);
    }
  });

  it('opens on the next word when the first is too short to tell from a burst', () => {
    const verdicts = atOnset(SHORT_FIRST_WORD);
    expect(verdicts.slice(0, 16)).not.toContain('open');
    expect(verdicts).toContain('open');
  });

  it('opens on the 7th loud frame of 10, gaps between syllables allowed, and asks for the pre-roll', () => {
    expect(run([-45, -20, -20, -20, -45, -20, -20, -20, -20], true)).toEqual([...Array(8).fill('mute'), 'open']);
  });

  it('does not open on scattered loud frames (claps, peaks of echo)', () => {
    expect(run([-20, -45, -20, -45, -20, -45, -20, -45, -20, -45, -20, -45], true)).toEqual(Array(12).fill('mute'));
  });

  it('holds the gate open through short pauses in speech, then closes', () => {
    const levels = [...Array(7).fill(-20), ...Array(DEFAULT_GUARD.holdFrames).fill(-50), -50, -50];
    const verdicts = run(levels, true);
    expect(verdicts.slice(0, 7)).toEqual([...Array(6).fill('mute'), 'open']);
    expect(verdicts.slice(7, 7 + DEFAULT_GUARD.holdFrames).every((v) => v === 'pass')).toBe(true);
    expect(verdicts.slice(-2)).toEqual(['mute', 'mute']);
  });

  it('resets when the assistant stops speaking: loud frames of before do not count toward the next reply', () => {
    const levels = [...Array(6).fill(-20), -20, -20];
    expect(run(levels, [true, true, true, true, true, true, false, true])).toEqual([...Array(6).fill('mute'), 'pass', 'mute']);
  });

  it('keeps as much pre-roll as the rule looks back over', () => {
    expect(preRollFrames(DEFAULT_GUARD)).toBe(DEFAULT_GUARD.openWindow);
  });

  it('honours a custom threshold', () => {
    const config = { openDb: -50, openLoud: 1, openWindow: 1, holdFrames: 0 };
    expect(guardStep(initialGuard, -45, true, config).verdict).toBe('open');
  });
});
