import { describe, expect, it } from 'vitest';
import { roomPipeline } from './speakerphone.ts';

describe('roomPipeline (ECHO_ROOM=reverb)', () => {
  it('records the speaker, reverberates it with small buffers, plays it into the mic as a named stream', () => {
    const stages = roomPipeline(40, 'earshot-room-1').split(' | ');
    expect(stages).toHaveLength(3);
    expect(stages[0]).toMatch(/^parec --device=speaker\.monitor .*--rate=48000 --channels=1 --latency-msec=10$/);
    expect(stages[1]).toMatch(/^sox -q --buffer 1024 -t raw -r 48000 .* - -t raw -r 48000 .* - reverb 60 50 80$/);
    expect(stages[2]).toMatch(/^pacat --playback --device=mic .*--latency-msec=40 --stream-name=earshot-room-1$/);
  });
});
