import { describe, expect, it } from 'vitest';
import { DEFAULT_GUARD, guardStep, initialGuard, type GuardState, type GuardVerdict } from './barge-in-guard.ts';

function run(levels: number[], audible: boolean | boolean[]): GuardVerdict[] {
  let state: GuardState = initialGuard;
  return levels.map((db, i) => {
    const step = guardStep(state, db, Array.isArray(audible) ? audible[i]! : audible);
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

  it('opens after openFrames consecutive loud frames and asks for the pre-roll', () => {
    expect(run([-45, -20, -20, -20, -20], true)).toEqual(['mute', 'mute', 'mute', 'open', 'pass']);
  });

  it('does not open on isolated loud frames (a clap, a peak of echo)', () => {
    expect(run([-20, -45, -20, -20, -45, -20], true)).toEqual(Array(6).fill('mute'));
  });

  it('holds the gate open through short pauses in speech, then closes', () => {
    const levels = [-20, -20, -20, ...Array(DEFAULT_GUARD.holdFrames).fill(-50), -50, -50];
    const verdicts = run(levels, true);
    expect(verdicts.slice(0, 3)).toEqual(['mute', 'mute', 'open']);
    expect(verdicts.slice(3, 3 + DEFAULT_GUARD.holdFrames).every((v) => v === 'pass')).toBe(true);
    expect(verdicts.slice(-2)).toEqual(['mute', 'mute']);
  });

  it('resets when the assistant stops speaking', () => {
    expect(run([-20, -20, -45, -45], [true, true, false, true])).toEqual(['mute', 'mute', 'pass', 'mute']);
  });

  it('honours a custom threshold', () => {
    let state: GuardState = initialGuard;
    const config = { openDb: -50, openFrames: 1, holdFrames: 0 };
    const step = guardStep(state, -45, true, config);
    state = step.state;
    expect(step.verdict).toBe('open');
  });
});
