import OpusScript from 'opusscript';
import { describe, expect, it } from 'vitest';
import { opusPacketMs } from './opus-toc.ts';

describe('opusPacketMs', () => {
  it('reads the duration of packets a real encoder made, for every frame size the app may send', () => {
    const encoder = new OpusScript(24_000, 1, OpusScript.Application.VOIP);
    for (const ms of [10, 20, 40, 60]) {
      const samples = (24_000 * ms) / 1000;
      const packet = encoder.encode(Buffer.alloc(samples * 2, 1), samples);
      expect(opusPacketMs(packet)).toBe(ms);
    }
    encoder.delete();
  });

  it('counts the frames of a code 3 packet and refuses malformed or over-long ones', () => {
    expect(opusPacketMs(new Uint8Array([(19 << 3) | 3, 3]))).toBe(60); // 3 × 20 ms CELT
    expect(opusPacketMs(new Uint8Array([(19 << 3) | 3, 0]))).toBeNull(); // zero frames
    expect(opusPacketMs(new Uint8Array([(19 << 3) | 3]))).toBeNull(); // count byte missing
    expect(opusPacketMs(new Uint8Array([(3 << 3) | 3, 3]))).toBeNull(); // 3 × 60 ms > 120 ms
    expect(opusPacketMs(new Uint8Array([]))).toBeNull();
  });
});
