import { describe, expect, it } from 'vitest';
import { audibleSpans, explainFalseTurn, onsetProfile, openings, phaseOf, tailProfile, type GuardTraceFrame } from './guard-trace.ts';

/** 20 ms frames from t = 0; `frame(k)` gives frame k's level, audibility and verdict. */
const trace = (frames: number, frame: (k: number) => Omit<GuardTraceFrame, 'at'>): GuardTraceFrame[] => Array.from({ length: frames }, (_, k) => ({ at: k * 20, ...frame(k) }));

/** A reply audible over frames 10–59 (200–1180 ms), echo at −60 dBFS, quiet room before and after. */
const reply = (k: number): Omit<GuardTraceFrame, 'at'> => (k >= 10 && k < 60 ? { db: -60, audible: true, verdict: 'mute' } : { db: -70, audible: false, verdict: 'pass' });

describe('guard-trace', () => {
  it('finds the stretches the assistant counted as audible', () => {
    expect(audibleSpans(trace(100, reply))).toEqual([{ from: 200, to: 1180 }]);
  });

  it('places a moment during a reply, after it, or before any', () => {
    const spans = [{ from: 200, to: 1180 }];
    expect(phaseOf(spans, 100)).toEqual({ kind: 'none' });
    expect(phaseOf(spans, 500)).toEqual({ kind: 'during', ms: 300 });
    expect(phaseOf(spans, 1380)).toEqual({ kind: 'after', ms: 200 });
  });

  it('blames the echo tail when the loud frames came after the assistant stopped counting as audible', () => {
    // The echo's last 100 ms arrive after the reply's span, at −30 dBFS, and pass.
    const t = trace(100, (k) => (k >= 61 && k < 66 ? { db: -30, audible: false, verdict: 'pass' } : reply(k)));
    const cause = explainFalseTurn(t, 1400);
    expect(cause.first).toMatchObject({ db: -30, verdict: 'pass', phase: { kind: 'after', ms: 40 } });
    expect(cause.loudSent).toBe(5);
    expect(cause.peakDb).toBe(-30);
  });

  it('blames a burst the guard let through when it opened during the reply', () => {
    const t = trace(100, (k) => (k >= 15 && k < 30 ? { db: -25, audible: true, verdict: k === 17 ? 'open' : k < 17 ? 'mute' : 'pass' } : reply(k)));
    const cause = explainFalseTurn(t, 700);
    expect(cause.first).toMatchObject({ verdict: 'open', phase: { kind: 'during', ms: 140 } });
    expect(openings(t)).toEqual([{ at: 340, msIntoSpan: 140, db: -25 }]);
  });

  it('takes the run that opened the turn, not the user’s words before it', () => {
    // The user spoke until 180 ms (passed, no reply yet); the echo burst at 400–460 ms opened the guard.
    const t = trace(100, (k) => (k < 10 ? { db: -20, audible: false, verdict: 'pass' } : k >= 20 && k < 23 ? { db: -22, audible: true, verdict: k === 22 ? 'open' : 'mute' } : reply(k)));
    expect(explainFalseTurn(t, 480).first).toMatchObject({ at: 440, verdict: 'open', phase: { kind: 'during', ms: 240 } });
  });

  it('says so when nothing loud was sent before the turn (muted frames do not count)', () => {
    const t = trace(100, (k) => (k >= 20 && k < 30 ? { db: -20, audible: true, verdict: 'mute' } : reply(k)));
    expect(explainFalseTurn(t, 700).first).toBeNull();
  });

  it('profiles the echo from a reply’s start and after its end', () => {
    const t = trace(100, (k) => (k === 62 ? { db: -35, audible: false, verdict: 'pass' } : k === 11 ? { db: -28, audible: true, verdict: 'mute' } : reply(k)));
    expect(onsetProfile(t, 250, 2)).toEqual([[-28, -60]]);
    expect(tailProfile(t, 100, 2)).toEqual([[-35, -70]]);
  });
});
