import { describe, expect, it } from 'vitest';
import { FrameCutter } from './frame-cutter.ts';

function run(rate: number, quanta: number, quantum = 128): number[] {
  const cutter = new FrameCutter(rate, 20);
  const sizes: number[] = [];
  const block = new Float32Array(quantum);
  for (let q = 0; q < quanta; q++) cutter.push(block, (frame) => sizes.push(frame.length));
  return sizes;
}

describe('FrameCutter', () => {
  it('cuts exactly 882-sample frames at 44.1 kHz over an hour of audio', () => {
    const quanta = Math.floor((44_100 * 3600) / 128);
    const sizes = run(44_100, quanta);
    expect(sizes.every((n) => n === 882)).toBe(true);
    expect(sizes.length).toBe(Math.floor((quanta * 128) / 882));
  });

  it('cuts exactly 960-sample frames at 48 kHz and 320 at 16 kHz', () => {
    expect(new Set(run(48_000, 10_000))).toEqual(new Set([960]));
    expect(new Set(run(16_000, 10_000))).toEqual(new Set([320]));
  });

  it('alternates sizes without drift when 20 ms is a fractional sample count', () => {
    const sizes = run(11_025, 100_000);
    expect(new Set(sizes)).toEqual(new Set([220, 221]));
    // After k frames exactly round(k * 220.5) samples have been emitted: no accumulated drift.
    const total = sizes.reduce((a, b) => a + b, 0);
    expect(total).toBe(Math.round(sizes.length * 220.5));
  });

  it('keeps sample order across frame boundaries with odd-sized input blocks', () => {
    const cutter = new FrameCutter(48_000, 20);
    const out: number[] = [];
    let next = 0;
    for (let b = 0; b < 50; b++) {
      const block = Float32Array.from({ length: 37 + (b % 5) * 61 }, () => next++);
      cutter.push(block, (frame) => out.push(...frame));
    }
    expect(out.length % 960).toBe(0);
    expect(out.every((v, i) => v === i)).toBe(true);
  });
});
