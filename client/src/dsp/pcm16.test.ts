import { describe, expect, it } from 'vitest';
import { floatToPcm16, floatToPcm16Sample, pcm16ToFloat } from './pcm16.ts';

describe('pcm16', () => {
  it('clips out-of-range floats to the int16 limits', () => {
    expect(floatToPcm16Sample(1)).toBe(32767);
    expect(floatToPcm16Sample(1.5)).toBe(32767);
    expect(floatToPcm16Sample(Infinity)).toBe(32767);
    expect(floatToPcm16Sample(-1)).toBe(-32768);
    expect(floatToPcm16Sample(-7)).toBe(-32768);
    expect(floatToPcm16Sample(-Infinity)).toBe(-32768);
  });

  it('rounds to nearest with ties away from zero, symmetrically', () => {
    expect(floatToPcm16Sample(0)).toBe(0);
    expect(floatToPcm16Sample(0.4 / 32768)).toBe(0);
    expect(floatToPcm16Sample(0.6 / 32768)).toBe(1);
    expect(floatToPcm16Sample(0.5 / 32768)).toBe(1);
    expect(floatToPcm16Sample(-0.5 / 32768)).toBe(-1);
    expect(floatToPcm16Sample(-0.4 / 32768)).toBe(0);
    expect(floatToPcm16Sample(1.5 / 32768)).toBe(2);
    expect(floatToPcm16Sample(-1.5 / 32768)).toBe(-2);
    expect(floatToPcm16Sample(0.5)).toBe(16384);
    expect(floatToPcm16Sample(-0.5)).toBe(-16384);
  });

  it('encodes NaN as silence', () => {
    expect(floatToPcm16Sample(NaN)).toBe(0);
  });

  it('writes little-endian bytes', () => {
    const bytes = floatToPcm16(new Float32Array([0.5, -0.5, 1, -1, 256 / 32768]));
    expect([...bytes]).toEqual([0x00, 0x40, 0x00, 0xc0, 0xff, 0x7f, 0x00, 0x80, 0x00, 0x01]);
  });

  it('round-trips every int16 code exactly', () => {
    const bytes = new Uint8Array(65536 * 2);
    const view = new DataView(bytes.buffer);
    for (let i = 0; i < 65536; i++) view.setInt16(i * 2, i - 32768, true);
    const floats = pcm16ToFloat(bytes);
    expect(floats[0]).toBe(-1);
    expect(floats[65535]).toBe(32767 / 32768);
    expect(Buffer.from(floatToPcm16(floats)).equals(Buffer.from(bytes))).toBe(true);
  });

  it('decodes from an odd byte offset and ignores a trailing odd byte', () => {
    const backing = new Uint8Array([9, 0x00, 0x40, 0x00, 0xc0, 7]);
    expect([...pcm16ToFloat(backing.subarray(1))]).toEqual([0.5, -0.5]);
  });
});
