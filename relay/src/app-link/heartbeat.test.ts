import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { Heartbeat } from './heartbeat.ts';

describe('Heartbeat', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  function make() {
    const pings: number[] = [];
    const dead: number[] = [];
    const hb = new Heartbeat({ periodMs: 1000, deadMs: 2500, now: () => Date.now(), sendPing: (id) => pings.push(id), onDead: (ms) => dead.push(ms) });
    return { hb, pings, dead };
  }

  it('pings once a period and keeps a link that answers alive', () => {
    const { hb, pings, dead } = make();
    hb.start();
    for (let i = 0; i < 10; i++) {
      vi.advanceTimersByTime(1000);
      hb.heard();
    }
    expect(pings).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    expect(dead).toEqual([]);
    hb.stop();
  });

  it('sends no ping while other frames go out at least once a period, and pings again a period after the last', () => {
    const { hb, pings } = make();
    hb.start();
    for (let i = 0; i < 10; i++) {
      vi.advanceTimersByTime(900);
      hb.sent(); // e.g. the pong to the client's own ping, or reply audio
      hb.heard();
    }
    expect(pings).toEqual([]);
    vi.advanceTimersByTime(1000); // the tick at +1000 ms: one full period with nothing sent
    expect(pings).toEqual([1]);
    hb.stop();
  });

  it('declares a link that stops answering dead within deadMs + half a period, once', () => {
    const { hb, dead } = make();
    hb.start();
    vi.advanceTimersByTime(2500);
    expect(dead).toEqual([]);
    vi.advanceTimersByTime(500);
    expect(dead).toEqual([3000]);
    vi.advanceTimersByTime(10_000);
    expect(dead).toHaveLength(1);
  });

  it('does not declare a link dead on a tick that came late because this process stalled', () => {
    let stall = 0;
    const dead: number[] = [];
    const hb = new Heartbeat({ periodMs: 1000, deadMs: 2500, now: () => Date.now() + stall, sendPing: () => {}, onDead: (ms) => dead.push(ms) });
    hb.start();
    vi.advanceTimersByTime(1000);
    stall = 5000; // the event loop was blocked for 5 s: the next tick runs late
    vi.advanceTimersByTime(500);
    expect(dead).toEqual([]);
    hb.heard(); // the client's pongs, read once the loop runs again
    vi.advanceTimersByTime(2000);
    expect(dead).toEqual([]);
    vi.advanceTimersByTime(1000); // and a client that really went quiet is still caught
    expect(dead).toHaveLength(1);
  });

  it('counts the link as heard again when restarted on a new socket', () => {
    const { hb, dead } = make();
    hb.start();
    vi.advanceTimersByTime(2000);
    hb.start();
    vi.advanceTimersByTime(2000);
    expect(dead).toEqual([]);
    hb.stop();
  });
});
