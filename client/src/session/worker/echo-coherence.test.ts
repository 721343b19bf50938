// Echo coherence on real speech (espeak-ng, made at test time by e2e/audio-fixtures.ts): the played reply, its echo
// as the microphone would carry it after a canceller (delayed, lowpassed, attenuated, with noise), and a different
// utterance standing in for the person. Frames of 20 ms at 48 kHz, played and captured in step as in the worker: a
// progress report for each 20 ms the worklet played, then a capture frame.
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { speechWav, soxToRawPcm16 } from '../../../../e2e/audio-fixtures.ts';
import { DEFAULT_ECHO_COHERENCE, EchoCoherence, isEchoCoherent } from './echo-coherence.ts';
import { DEFAULT_GUARD, guardStep, initialGuard } from './barge-in-guard.ts';

const RATE = 48_000;
const FRAME = 960;

function speech(text: string): Float32Array {
  const raw = readFileSync(soxToRawPcm16(speechWav(text, { rate: RATE, padSeconds: 0.2 }), RATE));
  const pcm = new Int16Array(raw.buffer, raw.byteOffset, raw.length / 2);
  return Float32Array.from(pcm, (v) => v / 32768);
}

const rmsDb = (x: Float32Array): number => 10 * Math.log10(x.reduce((s, v) => s + v * v, 0) / x.length);
/** Scales `x` so its RMS over the voiced part (frames above −50 dBFS) is `db`. */
function atLevel(x: Float32Array, db: number): Float32Array {
  let sum = 0, n = 0;
  for (let i = 0; i + FRAME <= x.length; i += FRAME) {
    const f = x.subarray(i, i + FRAME);
    if (rmsDb(f) > -50) { sum += f.reduce((s, v) => s + v * v, 0); n += FRAME; }
  }
  const g = 10 ** (db / 20) / Math.sqrt(sum / n);
  return x.map((v) => v * g);
}
/** The room and the canceller's leftover: a few reflections and a one-pole lowpass (~2 kHz). */
function echoPath(x: Float32Array, delayMs: number): Float32Array {
  const d = Math.round((delayMs * RATE) / 1000);
  const taps: Array<[number, number]> = [[0, 1], [Math.round(0.004 * RATE), -0.5], [Math.round(0.011 * RATE), 0.3]];
  const y = new Float32Array(x.length);
  for (let i = 0; i < x.length; i++) for (const [k, g] of taps) if (i - d - k >= 0) y[i] = y[i]! + g * x[i - d - k]!;
  const a = Math.exp((-2 * Math.PI * 2000) / RATE);
  let s = 0;
  for (let i = 0; i < y.length; i++) y[i] = s = (1 - a) * y[i]! + a * s;
  return y;
}
/** Deterministic white noise at `db` dBFS. */
function noise(n: number, db: number, seed = 1): Float32Array {
  let s = seed;
  const g = 10 ** (db / 20) * Math.sqrt(3);
  return Float32Array.from({ length: n }, () => {
    s = (s * 1103515245 + 12345) % 2 ** 31;
    return g * (2 * (s / 2 ** 31) - 1);
  });
}
const mix = (...xs: Float32Array[]): Float32Array => {
  const n = Math.min(...xs.map((x) => x.length));
  return Float32Array.from({ length: n }, (_, i) => xs.reduce((s, x) => s + x[i]!, 0));
};
/** Plays `played` and captures `captured` frame by frame; the score of every capture frame. */
function run(played: Float32Array, captured: Float32Array): number[] {
  const c = new EchoCoherence(RATE);
  const frames = Math.floor(Math.min(played.length, captured.length) / FRAME);
  // The worker hands the worklet audio ahead of time (its jitter target); here 100 ms ahead.
  c.queued(played.slice(0, 5 * FRAME));
  const scores: number[] = [];
  for (let f = 0; f < frames; f++) {
    if ((f + 5) * FRAME < played.length) c.queued(played.slice((f + 5) * FRAME, (f + 6) * FRAME));
    c.playedUpTo((f + 1) * FRAME, (f + 1) * FRAME);
    c.capture(captured.slice(f * FRAME, (f + 1) * FRAME));
    scores.push(c.score());
  }
  return scores;
}
/** Frames from `from` on where the capture is voiced (its level above `db`). */
const voicedFrames = (x: Float32Array, from: number, db = -45): number[] => {
  const out: number[] = [];
  for (let f = from; (f + 1) * FRAME <= x.length; f++) if (rmsDb(x.subarray(f * FRAME, (f + 1) * FRAME)) > db) out.push(f);
  return out;
};
/** Frames where the guard (7 of 10, the assistant audible throughout) opens; restarted after each opening. */
function opens(captured: Float32Array, coherence: boolean): number[] {
  const scores = run(played, captured);
  let state = initialGuard;
  const out: number[] = [];
  scores.forEach((s, f) => {
    const step = guardStep(state, rmsDb(captured.subarray(f * FRAME, (f + 1) * FRAME)), true, DEFAULT_GUARD, false, coherence && isEchoCoherent(s));
    state = step.verdict === 'open' ? initialGuard : step.state;
    if (step.verdict === 'open') out.push(f);
  });
  return out;
}
const fraction = (xs: boolean[]): number => xs.filter(Boolean).length / xs.length;

const REPLY = 'Sure. The weather tomorrow looks mild, with a light breeze from the west and some sun in the afternoon.';
const USER = 'Wait, stop, I wanted to ask about something else entirely.';

const reply = atLevel(speech(REPLY), -18);
const user = atLevel(speech(USER), -25);
const n = Math.min(reply.length, user.length);
const played = reply.subarray(0, n);
const echo = atLevel(echoPath(played, 160), -25);
const floor = noise(n, -60);

describe('echo coherence: is the capture explained by the exact samples played?', () => {

  it('finds the echo (160 ms late, filtered, at −25 dBFS, with noise) coherent with what was played', () => {
    const scores = run(played, mix(echo, floor));
    const judged = voicedFrames(echo, 25).map((f) => isEchoCoherent(scores[f]!));
    expect(fraction(judged)).toBeGreaterThan(0.95);
  });

  it('does not find a different utterance (the person) at the same level coherent, while playback continues', () => {
    const scores = run(played, mix(user, floor));
    const judged = voicedFrames(user, 0).map((f) => isEchoCoherent(scores[f]!));
    // The same espeak voice at the same pitch as the reply (the worst case): a few word starts score high.
    expect(fraction(judged)).toBeLessThan(0.05);
    expect(opens(mix(user, floor), true)).toEqual(opens(mix(user, floor), false));
  });

  it('lets the person talking over the reply 6 dB louder than its echo open the guard on the same frame (the barge-in)', () => {
    const captured = mix(atLevel(user, -19), echo, floor);
    expect(opens(captured, true)[0]).toBe(opens(captured, false)[0]);
  });

  it('never lets the echo at −25 dBFS open the guard, which it opens without the coherence', () => {
    expect(opens(mix(echo, floor), false).length).toBeGreaterThan(0);
    expect(opens(mix(echo, floor), true)).toEqual([]);
  });

  it('finds echo returning over steady playback (the canceller re-diverging) coherent within 4 frames', () => {
    // The canceller had the echo at its floor; 1.2 s into the reply it lets it back through at −25 dBFS.
    const back = 60;
    const captured = mix(echo.map((v, i) => (i >= back * FRAME ? v : v * 1e-3)), floor);
    const scores = run(played, captured);
    const first = voicedFrames(captured, back)[0]!;
    const coherentAt = scores.findIndex((s, f) => f >= first && isEchoCoherent(s));
    expect(coherentAt - first).toBeLessThan(4);
    // 0.6 s of it: the guard (7 of 10) opens without the coherence, not with it.
    const burst = mix(echo.map((v, i) => (i >= back * FRAME && i < (back + 30) * FRAME ? v : v * 1e-3)), floor);
    expect(opens(burst, false).length).toBeGreaterThan(0);
    expect(opens(burst, true)).toEqual([]);
  });

  it('scores NaN (nothing to say) while nothing was played', () => {
    const scores = run(new Float32Array(n), mix(user, floor));
    expect(scores.every((s) => Number.isNaN(s))).toBe(true);
  });

  it('costs a small part of a 20 ms frame (under 5 ms here; the figure is printed)', () => {
    expect(DEFAULT_ECHO_COHERENCE.windowSegments).toBe(23);
    const t0 = performance.now();
    run(played, mix(echo, floor));
    const perFrame = (performance.now() - t0) / Math.floor(n / FRAME);
    console.log(`echo coherence: ${perFrame.toFixed(3)} ms per 20 ms frame (${Math.floor(n / FRAME)} frames)`);
    expect(perFrame).toBeLessThan(5);
  });
});
