import { describe, expect, it } from 'vitest';
import { activeIntervals, appendsAsTape, erle, estimateLagMs, levelsAsTape, subtract, tapePower, trim, upstreamPower, type Tape } from './echo-metrics.ts';

/** A tape of 10 ms blocks from t = 1000 ms: `loud` blocks (by index) at power 1e6, the rest at 1. */
const tape = (blocks: number, loud: (k: number) => boolean, startMs = 1000): Tape => ({ startMs, blockMs: 10, power: Array.from({ length: blocks }, (_, k) => (loud(k) ? 1e6 : 1)) });

describe('echo-metrics', () => {
  it('finds where the speaker talks, bridging pauses between words but not the silence between replies', () => {
    // Talk 0–500 ms, a 200 ms pause, talk 700–1000 ms, 2 s of silence, talk 3000–3500 ms.
    const t = tape(400, (k) => (k < 50) || (k >= 70 && k < 100) || (k >= 300 && k < 350));
    expect(activeIntervals(t, 1000, 800)).toEqual([
      { from: 1000, to: 2000 },
      { from: 4000, to: 4500 },
    ]);
    expect(activeIntervals(t, 1000, 100)).toHaveLength(3);
  });

  it('takes the user’s speech out of the assistant’s stretches, and trims their uncertain edges', () => {
    const stretches = subtract([{ from: 0, to: 1000 }], [{ from: 400, to: 600 }]);
    expect(stretches).toEqual([
      { from: 0, to: 400 },
      { from: 600, to: 1000 },
    ]);
    expect(trim(stretches, 150)).toEqual([
      { from: 150, to: 250 },
      { from: 750, to: 850 },
    ]);
    expect(trim(stretches, 250)).toEqual([]);
  });

  it('measures a known delay between two tapes of the same speech', () => {
    const pattern = (k: number) => Math.floor(k / 7) % 3 === 0 || k % 11 === 0;
    const played = tape(300, pattern);
    const heard = tape(300, (k) => k >= 9 && pattern(k - 9)); // 90 ms later
    expect(estimateLagMs(played, heard, { from: 1000, to: 3500 }, 300)).toBe(90);
  });

  it('counts the upstream audio that arrived in a stretch once the path’s lag is allowed for', () => {
    const appends = [
      { at: 1100, sumSq: 400 * 480, samples: 480 },
      { at: 1300, sumSq: 0, samples: 480 },
    ];
    expect(upstreamPower(appends, [{ from: 1000, to: 1200 }], 0).power).toBe(400);
    expect(upstreamPower(appends, [{ from: 1000, to: 1200 }], 200).power).toBe(0);
    expect(appendsAsTape(appends, 1000, 1400, 100).power).toEqual([0, 400, 0, 0]);
    expect(tapePower(tape(10, (k) => k < 5), [{ from: 1000, to: 1100 }], 0, 10)).toBe(1e6);
  });

  it('gives ERLE as the dB removed, and a lower bound when nothing at all was sent', () => {
    expect(erle(1e6, 1e4)).toEqual({ db: 20, atLeast: false });
    expect(erle(1e6, 2e6).db).toBeCloseTo(-3.01, 2);
    const silent = erle(1e6, 0);
    expect(silent.atLeast).toBe(true);
    expect(silent.db).toBeCloseTo(66.02, 1);
  });
});

describe('echo-metrics on a tape with lost audio (NaN blocks)', () => {
  it('skips the unknown blocks instead of counting them as silence or speech', () => {
    const t: Tape = { startMs: 0, blockMs: 10, power: [1e6, Number.NaN, 1e6, 1, 1] };
    expect(activeIntervals(t, 1000, 15)).toEqual([{ from: 0, to: 30 }]);
    expect(tapePower(t, [{ from: 0, to: 30 }])).toBe(1e6);
  });
});

describe('echo-metrics on the capture levels the session worker saw (guard trace)', () => {
  it('turns dBFS frames into the tapes’ PCM16 power, a gap in the frames into unknown blocks', () => {
    // 0 dBFS is full scale (32768² per sample); −20 dBFS a hundredth of that. Frames every 20 ms, one missing.
    const t = levelsAsTape(
      [
        { at: 1000, db: 0 },
        { at: 1020, db: -20 },
        { at: 1060, db: -20 },
      ],
      20,
    );
    expect(t.startMs).toBe(1000);
    expect(t.power).toHaveLength(4);
    expect(t.power[0]).toBeCloseTo(32768 ** 2, 0);
    expect(t.power[1]).toBeCloseTo(32768 ** 2 / 100, 0);
    expect(t.power[2]).toBeNaN();
    expect(tapePower(t, [{ from: 1000, to: 1080 }])).toBeCloseTo((32768 ** 2 * 1.02) / 3, 0);
  });

  it('gives the capture’s ERLE against the microphone tape, lined up by the measured lag', () => {
    // The microphone heard speech-like bursts at −10 dBFS; the capture has them 30 dB down, 40 ms later.
    const pattern = (k: number) => Math.floor(k / 7) % 3 === 0 || k % 11 === 0;
    const mic: Tape = { startMs: 0, blockMs: 20, power: Array.from({ length: 200 }, (_, k) => (pattern(k) ? 32768 ** 2 / 10 : 1)) };
    const frames = Array.from({ length: 200 }, (_, k) => ({ at: 40 + k * 20, db: pattern(k) ? -40 : -120 }));
    const capture = levelsAsTape(frames, 20);
    const lag = estimateLagMs(mic, capture, { from: 0, to: 3500 }, 200);
    expect(lag).toBe(40);
    // As the rig reads it: mean power over the stretch, pauses included (they add next to nothing on either side).
    const stretch = [{ from: 0, to: 3900 }];
    expect(erle(tapePower(mic, stretch), tapePower(capture, stretch, lag)).db).toBeCloseTo(30, 0);
  });
});
