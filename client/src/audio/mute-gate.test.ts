import { describe, expect, it } from 'vitest';
import { MuteGate, MUTE_SILENCE_TAIL_MS } from './mute-gate.ts';
import { FRAME_MS } from './constants.ts';

const run = (gate: MuteGate, n: number) => Array.from({ length: n }, () => gate.next());

describe('MuteGate', () => {
  it('sends every frame while not muted', () => {
    expect(run(new MuteGate(), 5)).toEqual(['send', 'send', 'send', 'send', 'send']);
  });

  it('after a mute sends silence longer than the VAD’s 500 ms window, then nothing (so the turn ends)', () => {
    const gate = new MuteGate();
    gate.setMuted(true);
    const tail = Math.ceil(MUTE_SILENCE_TAIL_MS / FRAME_MS);
    expect(tail * FRAME_MS).toBeGreaterThan(500);
    const verdicts = run(gate, tail + 3);
    expect(verdicts.slice(0, tail).every((v) => v === 'silence')).toBe(true);
    expect(verdicts.slice(tail)).toEqual(['drop', 'drop', 'drop']);
  });

  it('a repeated mute does not restart the tail; unmute sends the mic again at once', () => {
    const gate = new MuteGate();
    gate.setMuted(true);
    run(gate, 100);
    gate.setMuted(true);
    expect(gate.next()).toBe('drop');
    gate.setMuted(false);
    expect(gate.next()).toBe('send');
  });
});
