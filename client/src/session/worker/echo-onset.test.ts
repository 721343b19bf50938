import { describe, expect, it } from 'vitest';
import { DEFAULT_ECHO_ONSET, inEchoOnset, initialEchoOnset, playbackLevel, playbackStopped, type EchoOnsetState } from './echo-onset.ts';

/** Playback reports every 20 ms from t=0, one level each; the state after them. */
function played(levels: number[], from: EchoOnsetState = initialEchoOnset, t0 = 0): EchoOnsetState {
  return levels.reduce((s, db, i) => playbackLevel(s, db, t0 + i * 20), from);
}

describe('echo onset', () => {
  it('is no onset before anything is played', () => {
    expect(inEchoOnset(initialEchoOnset, 0)).toBe(false);
  });

  it('lead-in silence is no onset; the first voice is, for the window after it', () => {
    const s = played([-120, -92, -113, -113, -38, -27]);
    expect(s.onsetAt).toBe(80);
    expect(inEchoOnset(s, 79)).toBe(false);
    expect(inEchoOnset(s, 80 + DEFAULT_ECHO_ONSET.windowMs - 1)).toBe(true);
    expect(inEchoOnset(s, 80 + DEFAULT_ECHO_ONSET.windowMs)).toBe(false);
  });

  it('continuous voice is one onset, however long it plays', () => {
    const s = played(Array<number>(200).fill(-15));
    expect(s.onsetAt).toBe(0);
    expect(inEchoOnset(s, 199 * 20)).toBe(false);
  });

  it('gaps between words are no onset; voice after a pause of quietMs is', () => {
    const words = [...Array<number>(10).fill(-15), ...Array<number>(5).fill(-60), ...Array<number>(10).fill(-15)];
    expect(played(words).onsetAt).toBe(0);
    const pause = Math.ceil(DEFAULT_ECHO_ONSET.quietMs / 20);
    const sentences = [...Array<number>(10).fill(-15), ...Array<number>(pause).fill(-60), -15];
    expect(played(sentences).onsetAt).toBe((10 + pause) * 20);
  });

  it('after playback stopped (drained or flushed) the next voice is an onset, and the last keeps its window', () => {
    const s = playbackStopped(played(Array<number>(20).fill(-15)));
    expect(inEchoOnset(s, 300)).toBe(true);
    const next = playbackLevel(s, -15, 1000);
    expect(next.onsetAt).toBe(1000);
  });
});
