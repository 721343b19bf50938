import { describe, expect, it } from 'vitest';
import { SAMPLES_PER_MS, UplinkAudio } from './uplink-audio.ts';

function setup(appendMs = 100, maxGapFillMs = 2000) {
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
    { appendMs, gapFillLagMs: 100, maxGapFillMs, quietFlushMs: 1000, now: () => now },
  );
  const tone = (ms: number) => new Uint8Array(new Int16Array(ms * SAMPLES_PER_MS).fill(1000).buffer);
  /** Below the app's silence gate: what its hangover sends before it goes quiet. */
  const quiet = (ms: number) => new Uint8Array(new Int16Array(ms * SAMPLES_PER_MS).fill(3).buffer);
  /** Room tone after a word: the app's hangover packets, about −60 dBFS. */
  const hush = (ms: number) => new Uint8Array(new Int16Array(ms * SAMPLES_PER_MS).fill(30).buffer);
  const written = () => out.reduce((n, e) => n + (e.kind === 'append' ? e.ms : 0), 0);
  return { up, out, tone, quiet, hush, written, advance: (ms: number) => (now += ms), now: () => now };
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
    advance(100);
    up.heard(); // a heartbeat: the link is alive and the app chose to send no audio
    up.tick();
    for (let i = 0; i < 9; i++) {
      advance(100);
      up.tick();
    }
    const total = out.reduce((n, e) => n + (e.kind === 'append' ? e.ms : 0), 0);
    // 1 s of wall time after the packet: filled up to (40 + 1000 − 100 lag) ms of capture time, in ≥ 100 ms appends.
    expect(total).toBeGreaterThanOrEqual(900);
    expect(total).toBeLessThanOrEqual(940);
    expect(out.every((e) => e.kind === 'append' && e.ms >= 100)).toBe(true);
  });

  it('when packets stop after a quiet one (end of speech) holds nothing back: the fill lags one packet, not 100 ms, every tick flushed', () => {
    const { up, out, tone, hush, advance } = setup();
    up.push(0, false, tone(40));
    up.push(40, false, hush(40));
    expect(out).toEqual([]); // still coalescing: more packets may come
    advance(50);
    up.tick();
    advance(50);
    up.tick();
    // 100 ms after the quiet packet arrived the provider has audio up to capture 80 + 100 − 40 ms (the next packet
    // would have been due 40 ms after it), flushed at each tick instead of gathered to 100 ms.
    expect(out).toEqual([
      { kind: 'append', ms: 90, silentMs: 10 },
      { kind: 'append', ms: 50, silentMs: 50 },
    ]);
  });

  it('keeps coalescing while quiet packets keep coming (a pause inside a sentence)', () => {
    const { up, out, hush, advance } = setup();
    for (let i = 0; i < 5; i++) {
      up.push(i * 40, false, hush(40));
      advance(40);
      up.tick();
    }
    expect(out).toEqual([{ kind: 'append', ms: 120, silentMs: 0 }]);
  });

  it('goes back to coalesced, lagging fill once the quiet packet is more than quietFlushMs old', () => {
    const { up, out, hush, advance } = setup();
    up.push(0, false, hush(40));
    for (let i = 0; i < 20; i++) {
      advance(50);
      up.tick();
    }
    out.splice(0);
    for (let i = 0; i < 20; i++) {
      advance(50);
      up.tick();
    }
    expect(out.length).toBeGreaterThan(0);
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

  it('holds the fill after speech until the app is heard again: a link stalled mid-word gets no silence', () => {
    const { up, out, tone, advance } = setup();
    up.push(0, false, tone(40));
    for (let i = 0; i < 30; i++) {
      advance(100);
      up.tick();
    }
    expect(up.midWord).toBe(true);
    up.flush();
    expect(out).toEqual([{ kind: 'append', ms: 40, silentMs: 0 }]);
    // A frame arriving together with the audio proves nothing; one well after it releases the hold.
    up.push(40, false, tone(40));
    up.heard();
    expect(up.midWord).toBe(true);
    advance(150);
    up.heard();
    expect(up.midWord).toBe(false);
  });

  it('fills after quiet packets at once: the app paused (its hangover came last)', () => {
    const { up, quiet, tone, written, advance } = setup();
    up.push(0, false, tone(40));
    up.push(40, false, quiet(40));
    expect(up.midWord).toBe(false);
    advance(1_000);
    up.tick();
    expect(written()).toBeGreaterThanOrEqual(900);
  });

  it('cut(): drops what is pending, clears the provider buffer, fills nothing after, and the next packet starts clean', () => {
    const { up, out, tone, written, advance } = setup();
    up.push(0, false, tone(40));
    up.cut();
    expect(out).toEqual([{ kind: 'clear' }]);
    advance(5_000);
    up.tick();
    expect(out).toHaveLength(1);
    up.push(9_000, false, tone(40));
    up.flush();
    expect(out).toEqual([{ kind: 'clear' }, { kind: 'append', ms: 40, silentMs: 0 }]);
    expect(written()).toBe(40);
    expect(up.captureAt(20)).toBe(9_020);
  });

  it('maps the provider clock to the capture clock over several turns with DTX gaps, a stall, a dropped-oldest cut and a resume', () => {
    // Like the app: a capture clock that starts at 61 s, 40 ms packets of speech ending in quiet hangover packets,
    // nothing during pauses, heartbeats every 1 s. The provider's ms for each capture time is what was written
    // before it, so the map must give back the capture time of every packet's first sample.
    const { up, tone, quiet, written, advance, now } = setup(100, 2000);
    const t0 = 61_000;
    const checks: Array<{ providerMs: number; captureMs: number }> = [];
    let clock = 0; // wall ms since the first packet
    const until = (wallMs: number) => {
      while (clock < wallMs) {
        const step = Math.min(50, wallMs - clock);
        advance(step);
        clock += step;
        if (clock % 1000 === 0) up.heard();
        up.tick();
      }
    };
    const speak = (fromWall: number, ms: number, arrivalDelay = 0, flag = false) => {
      for (let at = 0; at < ms; at += 40) {
        until(fromWall + at + 40 + arrivalDelay);
        up.push(t0 + fromWall + at, flag && at === 0, at + 120 >= ms ? quiet(40) : tone(40));
        up.flush();
        // This packet is the last 40 ms written: its first sample is where the provider hears this capture time.
        checks.push({ providerMs: written() - 40, captureMs: t0 + fromWall + at });
      }
    };
    speak(0, 1_200); // turn 1
    speak(4_000, 1_600, 60); // turn 2 after a pause, its packets 60 ms late
    // A stall: the event loop runs no tick for 3 s (more than the 2 s a tick may fill), then speech again.
    advance(3_000);
    clock += 3_000;
    up.tick();
    speak(9_000, 800);
    // The send queue dropped older audio: the first fresh packet is flagged DISCONTINUITY, and the packet before it,
    // still pending at the relay (under 100 ms), is dropped with the provider's buffer.
    until(12_040);
    up.flush();
    up.push(t0 + 11_960, false, tone(40));
    speak(12_000, 400, 0, true);
    // The link died mid-word and came back: cut, then fresh packets from a resumed link.
    speak(15_000, 200);
    up.cut();
    speak(21_000, 800);
    expect(now()).toBeGreaterThan(21_000);
    for (const c of checks) expect({ ...c, mapped: up.captureAt(c.providerMs) }).toEqual({ ...c, mapped: c.captureMs });
  });
});
