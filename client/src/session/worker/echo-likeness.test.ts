// Echo likeness on levels recorded by the speakerphone bench (ECHO_TRACE=1 ECHO_TRACE_DIR=…, Chromium 156,
// 2026-12-03 evening, fresh conversations at 0…+12 dB / 40 ms): per 20 ms capture frame, what the playback worklet
// last reported playing (`play`) and what the microphone delivered after the canceller (`mic`), 45 frames (0.9 s)
// ending at the frame judged.
import { describe, expect, it } from 'vitest';
import { DEFAULT_GUARD, guardStep, initialGuard, type GuardState } from './barge-in-guard.ts';
import { DEFAULT_ECHO_LIKENESS, EchoHistory, echoLikeness, historyFrames, isEchoLike } from './echo-likeness.ts';

interface Levels {
  play: number[];
  mic: number[];
}

// Echo the canceller let through while only the assistant spoke, 0.1 s after the playback rose (the reply's start,
// or its voice resuming after a 0.2 s pause): 5–6 frames at or above the guard's −32 dBFS so far, rising with the
// playback's rise ~0.2 s before.
const ECHO: Levels[] = [
  // tr0/cell-4.json, 0 dB
  { play: [-22, -31, -28, -30, -31, -30, -24, -40, -43, -48, -90, -90, -88, -91, -90, -91, -93, -93, -55, -40, -35, -36, -40, -30, -24, -18, -18, -19, -21, -21, -22, -24, -24, -28, -76, -78, -51, -49, -50, -59, -64, -68, -72, -83, -88],
    mic: [-120, -120, -120, -120, -120, -120, -99, -93, -90, -87, -69, -72, -73, -65, -64, -69, -93, -94, -107, -110, -108, -101, -99, -100, -107, -110, -110, -111, -111, -111, -114, -115, -103, -70, -60, -72, -72, -43, -37, -29, -23, -25, -26, -24, -28] },
  // tr0/cell-10.json, +6 dB
  { play: [-24, -25, -21, -17, -22, -18, -26, -22, -31, -88, -87, -84, -81, -84, -88, -90, -90, -95, -120, -110, -76, -51, -40, -40, -45, -40, -27, -23, -22, -20, -19, -20, -20, -22, -22, -26, -25, -27, -56, -41, -45, -52, -53, -58, -70],
    mic: [-120, -120, -120, -112, -104, -96, -89, -95, -96, -93, -91, -72, -90, -90, -70, -69, -78, -103, -103, -104, -104, -105, -105, -105, -104, -104, -104, -104, -103, -106, -110, -93, -77, -77, -72, -69, -55, -41, -32, -31, -34, -27, -27, -28, -30] },
  // tr1/cell-1.json, +9 dB
  { play: [-120, -120, -120, -120, -95, -95, -120, -110, -120, -110, -113, -120, -110, -113, -120, -110, -68, -49, -45, -30, -26, -22, -22, -29, -26, -20, -20, -20, -20, -24, -25, -23, -24, -21, -20, -21, -22, -31, -31, -30, -29, -30, -30, -40, -37],
    mic: [-118, -118, -119, -118, -118, -118, -118, -117, -118, -118, -118, -118, -118, -119, -117, -118, -117, -118, -118, -101, -104, -116, -118, -120, -120, -120, -120, -120, -120, -120, -118, -92, -89, -69, -56, -47, -50, -60, -48, -33, -24, -22, -25, -26, -26] },
  // tr0/cell-6.json, +6 dB
  { play: [-120, -120, -120, -120, -120, -109, -92, -120, -113, -113, -113, -113, -113, -113, -113, -113, -113, -57, -48, -45, -36, -23, -20, -27, -26, -25, -23, -19, -20, -20, -23, -22, -26, -21, -21, -22, -20, -21, -25, -28, -29, -35, -30, -30, -32],
    mic: [-119, -119, -120, -119, -119, -119, -119, -118, -119, -119, -119, -119, -119, -119, -118, -119, -110, -109, -104, -115, -119, -119, -119, -120, -120, -120, -120, -120, -96, -95, -90, -88, -92, -73, -67, -65, -61, -47, -32, -25, -23, -19, -21, -27, -29] },
];

// The person talking over a reply ("Wait, stop, …"), ending at the frame where the guard (7 of 10) opened for them.
const BARGE_INS: Levels[] = [
  // tr0/cell-1.json, 0 dB
  { play: [-18, -15, -18, -19, -22, -23, -26, -25, -24, -26, -32, -45, -41, -40, -51, -41, -28, -25, -19, -18, -20, -21, -25, -25, -21, -21, -21, -23, -21, -20, -24, -35, -34, -28, -20, -18, -18, -25, -25, -29, -70, -49, -40, -24, -20],
    mic: [-105, -106, -105, -95, -97, -108, -108, -108, -107, -108, -108, -108, -107, -107, -107, -107, -107, -107, -108, -108, -108, -108, -108, -107, -106, -98, -98, -93, -94, -94, -103, -102, -102, -98, -100, -73, -57, -45, -30, -24, -24, -25, -27, -26, -31] },
  // tr0/cell-7.json, +6 dB
  { play: [-31, -23, -18, -24, -22, -25, -37, -71, -50, -42, -29, -23, -23, -43, -33, -23, -16, -16, -22, -22, -25, -39, -68, -74, -41, -45, -47, -41, -41, -41, -35, -19, -21, -22, -42, -42, -40, -42, -42, -37, -37, -45, -29, -18, -18],
    mic: [-82, -73, -58, -43, -30, -26, -25, -25, -28, -32, -34, -37, -38, -53, -75, -88, -89, -81, -81, -86, -95, -91, -85, -93, -92, -93, -95, -96, -95, -88, -89, -81, -85, -95, -81, -80, -59, -41, -26, -21, -19, -20, -20, -25, -27] },
  // tr1/cell-1.json, +9 dB
  { play: [-20, -24, -28, -28, -46, -74, -45, -31, -26, -24, -32, -42, -32, -21, -18, -18, -24, -26, -26, -52, -74, -48, -42, -47, -47, -40, -39, -30, -20, -21, -22, -43, -38, -38, -40, -42, -36, -40, -41, -41, -21, -19, -19, -20, -29],
    mic: [-100, -80, -56, -41, -27, -25, -25, -28, -27, -36, -38, -39, -36, -34, -31, -45, -68, -73, -84, -97, -98, -85, -87, -66, -59, -76, -99, -97, -73, -53, -63, -76, -76, -92, -88, -75, -53, -37, -24, -20, -21, -19, -19, -17, -20] },
  // tr1/cell-4.json, +12 dB
  { play: [-37, -35, -37, -46, -44, -40, -29, -25, -24, -27, -30, -35, -33, -23, -15, -17, -26, -21, -21, -23, -29, -38, -31, -24, -21, -23, -40, -40, -43, -43, -45, -58, -45, -42, -34, -21, -20, -18, -20, -21, -23, -29, -29, -28, -29],
    mic: [-64, -51, -60, -91, -97, -97, -98, -98, -90, -78, -83, -78, -82, -84, -91, -91, -93, -95, -92, -92, -95, -98, -97, -95, -92, -86, -87, -94, -97, -98, -98, -98, -95, -95, -96, -93, -73, -45, -31, -22, -22, -21, -21, -24, -22] },
];

const score = (l: Levels) => echoLikeness(l.mic, l.play);

describe('echo likeness: does the capture follow what was played?', () => {
  it('finds the echo the canceller let through following the playback', () => {
    for (const e of ECHO) expect(isEchoLike(score(e))).toBe(true);
  });

  it('does not find the person talking over a reply following it, where the guard opens for them', () => {
    for (const b of BARGE_INS) expect(isEchoLike(score(b))).toBe(false);
  });

  it('a capture that rose 0.4 s before the playback did is not its echo (the lag is causal and bounded)', () => {
    // The same levels with the playback moved 20 frames earlier in time relative to the capture.
    for (const e of ECHO) expect(isEchoLike(echoLikeness(e.mic.slice(0, -20), e.play.slice(20)))).toBe(false);
  });

  it('says nothing (NaN, not echo-like) over steady playback: there is nothing to follow', () => {
    const play = Array<number>(45).fill(-20);
    const mic = [...Array<number>(38).fill(-110), -60, -40, -25, -22, -20, -21, -23];
    expect(echoLikeness(mic, play)).toBeNaN();
    expect(isEchoLike(echoLikeness(mic, play))).toBe(false);
  });

  it('says nothing before it has a window plus the shortest lag of history', () => {
    const e = ECHO[0]!;
    const n = DEFAULT_ECHO_LIKENESS.windowFrames + DEFAULT_ECHO_LIKENESS.minLagFrames;
    expect(echoLikeness(e.mic.slice(-n + 1), e.play.slice(-n + 1))).toBeNaN();
    expect(echoLikeness(e.mic.slice(-n), e.play.slice(-n))).not.toBeNaN();
    expect(historyFrames(DEFAULT_ECHO_LIKENESS)).toBe(DEFAULT_ECHO_LIKENESS.windowFrames + DEFAULT_ECHO_LIKENESS.maxLagFrames);
  });

  it('the worker’s history gives the same score as the levels it was fed, keeping only the last frames', () => {
    const h = new EchoHistory();
    for (const e of [BARGE_INS[0]!, ECHO[0]!]) for (let i = 0; i < e.mic.length; i++) h.push(e.mic[i]!, e.play[i]!);
    expect(h.score()).toBeCloseTo(score(ECHO[0]!), 10);
  });

  it('costs those barge-ins nothing: the guard opens for them on the same frame with the likeness rule', () => {
    /** Where the guard (7 of 10; 12 of 14 where `strict`) first opens over `l`, the likeness asked per frame or not. */
    const opensAt = (l: Levels, likeness: boolean) => {
      const h = new EchoHistory();
      let state: GuardState = initialGuard;
      return l.mic.findIndex((db, i) => {
        h.push(db, l.play[i]!);
        const step = guardStep(state, db, true, DEFAULT_GUARD, likeness && isEchoLike(h.score()));
        state = step.state;
        return step.verdict === 'open';
      });
    };
    for (const b of BARGE_INS) {
      expect(opensAt(b, false)).toBe(b.mic.length - 1);
      expect(opensAt(b, true)).toBe(opensAt(b, false));
    }
  });
});
