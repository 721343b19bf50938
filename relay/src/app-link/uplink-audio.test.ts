import { describe, expect, it } from 'vitest';
import { SAMPLES_PER_MS, UplinkAudio } from './uplink-audio.ts';

function setup(appendMs = 100) {
  let now = 0;
  const out: Array<{ kind: 'append'; ms: number; silentMs: number } | { kind: 'clear' }> = [];
  const up = new UplinkAudio(
    {
      append(pcm) {
        const s = new Int16Array(pcm.buffer, pcm.byteOffset, pcm.byteLength / 2);
        out.push({ kind: 'append', ms: s.length / SAMPLES_PER_MS, silentMs: s.filter((v) => v === 0).length / SAMPLES_PER_MS });
      },
      clear: () => out.push({ kind: 'clear' }),
    },
    { appendMs, gapFillLagMs: 100, maxGapFillMs: 2000, now: () => now },
  );
  const tone = (ms: number) => new Uint8Array(new Int16Array(ms * SAMPLES_PER_MS).fill(1000).buffer);
  return { up, out, tone, advance: (ms: number) => (now += ms) };
}

describe('UplinkAudio', () => {
  it('coalesces 40 ms packets into appends of at least 100 ms, and flushes the rest on demand', () => {
    const { up, out, tone } = setup();
    for (let i = 0; i < 5; i++) up.push(i * 40, false, tone(40));
    expect(out).toEqual([{ kind: 'append', ms: 120, silentMs: 0 }]);
    up.flush();
    expect(out[1]).toEqual({ kind: 'append', ms: 80, silentMs: 0 });
  });

  it('turns a gap in captureMs (DTX) into silence before the next packet', () => {
    const { up, out, tone } = setup(20);
    up.push(0, false, tone(40));
    up.push(540, false, tone(40)); // 500 ms of DTX silence between
    const total = out.reduce((n, e) => n + (e.kind === 'append' ? e.ms : 0), 0);
    const silent = out.reduce((n, e) => n + (e.kind === 'append' ? e.silentMs : 0), 0);
    expect(total).toBe(580);
    expect(silent).toBe(500);
  });

  it('fills silence in real time while nothing arrives, so the provider clock keeps running', () => {
    const { up, out, tone, advance } = setup();
    up.push(0, false, tone(40));
    for (let i = 0; i < 10; i++) {
      advance(100);
      up.tick();
    }
    const total = out.reduce((n, e) => n + (e.kind === 'append' ? e.ms : 0), 0);
    // 1 s of wall time after the packet: filled up to (40 + 1000 − 100 lag) ms of capture time, in ≥ 100 ms appends.
    expect(total).toBeGreaterThanOrEqual(900);
    expect(total).toBeLessThanOrEqual(940);
    expect(out.every((e) => e.kind === 'append' && e.ms >= 100)).toBe(true);
  });

  it('on DISCONTINUITY drops pending audio and clears the provider buffer before the fresh audio', () => {
    const { up, out, tone } = setup();
    up.push(0, false, tone(40));
    up.push(5_000, true, tone(40));
    up.flush();
    expect(out).toEqual([{ kind: 'clear' }, { kind: 'append', ms: 40, silentMs: 0 }]);
  });

  it('maps the provider audio clock to the capture clock across gaps and cuts', () => {
    const { up, tone } = setup();
    up.push(1_000, false, tone(40)); // provider 0 ms ↔ capture 1000 ms
    expect(up.captureAt(20)).toBe(1_020);
    up.push(10_000, false, tone(40)); // jump over 2 s: 2 s of silence written, then the map jumps
    expect(up.captureAt(40 + 2000)).toBe(10_000);
    expect(up.captureAt(40 + 2000 + 30)).toBe(10_030);
    up.push(20_000, true, tone(40));
    expect(up.captureAt(40 + 2000 + 40 + 10)).toBe(20_010);
  });
});
