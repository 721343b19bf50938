import { describe, expect, it } from 'vitest';
import { roomPipeline } from './speakerphone.ts';

describe('roomPipeline (ECHO_ROOM=reverb, pipe)', () => {
  it('records the speaker, reverberates it with small buffers, plays it into the mic as a named stream', () => {
    const stages = roomPipeline(40, 'earshot-room-1').split(' | ');
    expect(stages).toHaveLength(3);
    expect(stages[0]).toMatch(/^parec --device=speaker\.monitor .*--rate=48000 --channels=1 --latency-msec=10$/);
    expect(stages[1]).toMatch(/^sox -q --buffer 1024 -t raw -r 48000 .* - -t raw -r 48000 .* - reverb 60 50 80$/);
    expect(stages[2]).toMatch(/^pacat --playback --device=mic .*--latency-msec=40 --stream-name=earshot-room-1$/);
  });

  it('the pipe control (ECHO_ROOM=pipe) is the same three stages with the same buffers and no effect', () => {
    const reverb = roomPipeline(40, 'earshot-room-1', 'reverb').split(' | ');
    const pipe = roomPipeline(40, 'earshot-room-1', 'pipe').split(' | ');
    expect(pipe[0]).toBe(reverb[0]);
    expect(pipe[1]).toBe(reverb[1]!.replace(/ reverb 60 50 80$/, ''));
    expect(pipe[1]).not.toMatch(/reverb/);
    expect(pipe[2]).toBe(reverb[2]);
  });
});
