import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { changedPath, makePathChanger, parsePathChange, replyStarts, type LoggedEvent } from './path-change.ts';
import type { EchoPath, Speakerphone } from './speakerphone.ts';

describe('parsePathChange (ECHO_PATH_CHANGE)', () => {
  it('reads a gain step, a new delay, or both, and when', () => {
    expect(parsePathChange('gain+10@1.5s')).toEqual({ gainStepDb: 10, delayMs: null, afterMs: 1500, label: 'gain+10@1.5s' });
    expect(parsePathChange('delay300@1s')).toMatchObject({ gainStepDb: 0, delayMs: 300, afterMs: 1000 });
    expect(parsePathChange('gain-6,delay300@0.5s')).toMatchObject({ gainStepDb: -6, delayMs: 300, afterMs: 500 });
  });

  it('refuses what it cannot read, and a change that changes nothing', () => {
    expect(() => parsePathChange('gain10@1s')).toThrow(/neither/);
    expect(() => parsePathChange('gain+10')).toThrow(/expected/);
    expect(() => parsePathChange('gain+0@1s')).toThrow(/changes nothing/);
  });
});

describe('changedPath', () => {
  it('steps the gain, swaps the delay, keeps the room', () => {
    const base: EchoPath = { gainDb: 0, delayMs: 40, room: 'reverb' };
    expect(changedPath(base, parsePathChange('gain+10,delay300@1s'))).toEqual({ gainDb: 10, delayMs: 300, room: 'reverb' });
    expect(changedPath(base, parsePathChange('gain+6@1s'))).toEqual({ gainDb: 6, delayMs: 40, room: 'reverb' });
  });
});

const down = (at: number, type: string): LoggedEvent => ({ at, dir: 'down', type });

describe('replyStarts', () => {
  it('takes each reply’s first audio delta, not the later ones, from `from` on', () => {
    const log = [down(50, 'response.created'), down(60, 'response.output_audio.delta'), down(500, 'response.created'), down(520, 'response.output_audio_transcript.delta'), down(540, 'response.output_audio.delta'), down(560, 'response.output_audio.delta'), { at: 600, dir: 'up' as const, type: 'response.cancel' }];
    expect(replyStarts(log, 0)).toEqual([60, 540]);
    expect(replyStarts(log, 100)).toEqual([540]);
  });
});

describe('makePathChanger', () => {
  beforeEach(() => vi.useFakeTimers({ now: 0 }));
  afterEach(() => vi.useRealTimers());

  it('changes the path afterMs into each reply and puts it back on reset', async () => {
    const set: EchoPath[] = [];
    const speakerphone: Speakerphone = { set: async (p) => void set.push(p), off: async () => undefined };
    const log: LoggedEvent[] = [];
    const base: EchoPath = { gainDb: 0, delayMs: 40 };
    const changer = makePathChanger(speakerphone, () => log, base, parsePathChange('gain+10@1.5s'), () => Date.now());
    await changer.reset();
    expect(set).toEqual([base]);
    log.push(down(100, 'response.created'), down(200, 'response.output_audio.delta'));
    await vi.advanceTimersByTimeAsync(1600);
    expect(set).toEqual([base]);
    await vi.advanceTimersByTimeAsync(200);
    expect(set).toEqual([base, { gainDb: 10, delayMs: 40 }]);
    expect(changer.appliedAt()).toEqual([1700]);
    // The next utterance: back to the cell's path, and the old reply is not changed again.
    await changer.reset();
    await vi.advanceTimersByTimeAsync(3000);
    expect(set).toEqual([base, { gainDb: 10, delayMs: 40 }, base]);
    await changer.stop();
  });

  it('a reset before the change cancels it (a reply cut short)', async () => {
    const set: EchoPath[] = [];
    const log: LoggedEvent[] = [down(10, 'response.created'), down(20, 'response.output_audio.delta')];
    const changer = makePathChanger({ set: async (p) => void set.push(p), off: async () => undefined }, () => log, { gainDb: 0, delayMs: 40 }, parsePathChange('delay300@1s'), () => Date.now());
    await vi.advanceTimersByTimeAsync(500);
    await changer.reset();
    await vi.advanceTimersByTimeAsync(2000);
    expect(set).toEqual([{ gainDb: 0, delayMs: 40 }]);
    await changer.stop();
  });
});
