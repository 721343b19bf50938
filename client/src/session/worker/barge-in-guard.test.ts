import { describe, expect, it } from 'vitest';
import { DEFAULT_ECHO_ONSET, inEchoOnset, initialEchoOnset, playbackLevel, type EchoOnsetState } from './echo-onset.ts';
import { EchoHistory, isEchoLike } from './echo-likeness.ts';
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

// The conversation's first reply in a fresh browser (ECHO_FRESH=browser, 0 dB, 40 ms; Chromium 156, 2026-12-03),
// the three of six runs that leaked: per 20 ms frame from the reply becoming audible, what the playback worklet
// last reported playing and what the microphone delivered after the canceller. The voice starts ~0.3 s in; its
// echo arrives ~0.2 s after and the canceller, never having heard a far end, lets 7–8 frames through at
// −29…−12 dBFS before it adapts: 7 of 10 opened on each, 0.6 s into the reply.
const FIRST_REPLIES: Array<{ play: number[]; mic: number[] }> = [
  {
    play: [-120, -92, -105, -113, -113, -120, -110, -113, -113, -113, -113, -113, -113, -113, -113, -38, -27, -23, -17, -12, -15, -19, -11, -11, -11, -12, -13, -14, -14, -17, -15, -17, -9, -10, -11, -11, -13, -14, -14, -17],
    mic: [-117, -116, -116, -116, -116, -117, -116, -116, -116, -116, -116, -112, -114, -116, -116, -116, -119, -120, -120, -120, -120, -120, -120, -120, -120, -90, -29, -26, -17, -12, -14, -21, -14, -12, -40, -97, -98, -99, -98, -99],
  },
  {
    play: [-120, -98, -93, -120, -113, -113, -113, -113, -113, -110, -113, -120, -110, -97, -93, -96, -30, -24, -16, -19, -15, -20, -12, -11, -10, -10, -14, -14, -14, -15, -18, -14, -12, -12, -14, -15, -16, -14, -13, -12],
    mic: [-117, -117, -116, -116, -116, -116, -117, -116, -116, -116, -111, -114, -116, -116, -117, -116, -116, -118, -120, -120, -120, -120, -116, -113, -87, -27, -17, -20, -16, -17, -21, -12, -12, -44, -101, -104, -103, -104, -105, -104],
  },
  {
    play: [-109, -92, -120, -113, -113, -113, -113, -113, -113, -113, -113, -113, -104, -94, -96, -31, -24, -16, -19, -14, -21, -15, -9, -10, -11, -12, -14, -14, -16, -16, -16, -10, -12, -14, -16, -16, -17, -18, -19, -17],
    mic: [-116, -116, -116, -116, -117, -116, -116, -116, -116, -111, -114, -116, -117, -117, -116, -118, -120, -120, -120, -120, -120, -119, -114, -91, -28, -24, -16, -18, -15, -20, -23, -80, -100, -102, -102, -103, -103, -102, -102, -102],
  },
];
// (The playback after the opening is the reply going on as it did before it: the app cut it there.)

/**
 * A reply as the session worker sees it: each 20 ms a playback report, then a capture frame; the verdicts.
 * `onsets`: the echo-onset rule; `likeness`: the echo-likeness rule (echo-likeness.ts), its history starting with
 * the quiet second before the reply (the worker records every frame, audible or not).
 */
function replay(play: number[], mic: number[], config: GuardConfig = DEFAULT_GUARD, onsets = true, likeness = false): GuardVerdict[] {
  let state: GuardState = initialGuard;
  let onset: EchoOnsetState = initialEchoOnset;
  const history = new EchoHistory();
  for (let i = 0; i < 50; i++) history.push(mic[0]!, play[0] ?? -120);
  return mic.map((db, i) => {
    onset = playbackLevel(onset, play[i] ?? -120, i * 20);
    history.push(db, play[i] ?? -120);
    const strict = (onsets && inEchoOnset(onset, i * 20)) || (likeness && isEchoLike(history.score()));
    const step = guardStep(state, db, true, config, strict);
    state = step.state;
    return step.verdict;
  });
}

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

  it('opens on the echo of a fresh browser’s first reply without the echo-onset rule (the leak it fixes)', () => {
    for (const r of FIRST_REPLIES) expect(replay(r.play, r.mic, DEFAULT_GUARD, false)).toContain('open');
  });

  it('does NOT open on it with the echo-onset rule: 12 loud frames of 14 after a voice onset', () => {
    for (const r of FIRST_REPLIES) expect(replay(r.play, r.mic)).not.toContain('open');
  });

  it('does NOT open on it with the echo-likeness rule alone (no onset rule): the capture follows the playback', () => {
    // The likeness does not need to know where the onset was: the echo rises with the playback ~0.2 s after it.
    for (const r of FIRST_REPLIES) expect(replay(r.play, r.mic, DEFAULT_GUARD, false, true)).not.toContain('open');
  });

  it('within an echo onset, opens on a person talking over the reply, ~0.1 s later than outside it', () => {
    const onsetAt = 15;
    const play = [...Array<number>(onsetAt).fill(-113), ...Array<number>(60).fill(-14)];
    // The person's word starts 0.2 s after the voice, inside the window (the window is 0.6 s).
    const lead = Array<number>(onsetAt + 10).fill(-110);
    const long = BARGE_INS.filter((s) => s.filter((db) => db >= DEFAULT_GUARD.openDb).length >= DEFAULT_GUARD.onsetLoud);
    expect(long.length).toBeGreaterThan(0);
    for (const speech of long) {
      const mic = [...lead, ...speech];
      const strictAt = replay(play, mic).indexOf('open');
      const usualAt = replay(play, mic, DEFAULT_GUARD, false).indexOf('open');
      expect(strictAt).toBeGreaterThan(-1);
      expect(strictAt - usualAt).toBeLessThanOrEqual(DEFAULT_GUARD.onsetLoud - DEFAULT_GUARD.openLoud);
    }
  });

  it('after the window, the usual 7 of 10 again', () => {
    const play = Array<number>(80).fill(-14);
    const mic = [...Array<number>(DEFAULT_ECHO_ONSET.windowMs / 20).fill(-110), ...Array<number>(7).fill(-20)];
    expect(replay(play, mic).at(-1)).toBe('open');
  });

  it('keeps as much pre-roll as the longest rule looks back over', () => {
    expect(preRollFrames(DEFAULT_GUARD)).toBe(Math.max(DEFAULT_GUARD.openWindow, DEFAULT_GUARD.onsetWindow));
  });

  it('honours a custom threshold', () => {
    const config = { openDb: -50, openLoud: 1, openWindow: 1, onsetLoud: 1, onsetWindow: 1, holdFrames: 0 };
    expect(guardStep(initialGuard, -45, true, config).verdict).toBe('open');
  });
});
