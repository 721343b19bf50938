// The dead-link detector on a fake clock: plain numbers for time, no real timers.
import { describe, expect, it } from 'vitest';
import { HEARTBEAT_MS, LINK_DEAD_MS } from '../../../../../protocol/app-link.ts';
import { LinkMonitor, linkQuality } from './heartbeat.ts';

describe('LinkMonitor', () => {
  it('pings once per heartbeat period', () => {
    const m = new LinkMonitor();
    m.opened(0);
    const pings: number[] = [];
    for (let t = 0; t <= 3 * HEARTBEAT_MS; t += 250) {
      m.received(t); // the relay keeps talking
      const tick = m.tick(t);
      if (tick.kind === 'ping') pings.push(tick.t);
    }
    expect(pings).toEqual([0, HEARTBEAT_MS, 2 * HEARTBEAT_MS, 3 * HEARTBEAT_MS]);
  });

  it('declares the link dead after LINK_DEAD_MS with nothing received, not before', () => {
    const m = new LinkMonitor();
    m.opened(1000);
    for (let t = 1250; t < 1000 + LINK_DEAD_MS; t += 250) expect(m.tick(t).kind).not.toBe('dead');
    expect(m.tick(1000 + LINK_DEAD_MS - 1).kind).not.toBe('dead');
    expect(m.tick(1000 + LINK_DEAD_MS)).toEqual({ kind: 'dead', silentMs: LINK_DEAD_MS });
  });

  it('does not judge on a tick that comes late: the worker stalled, and what the relay sent is still queued behind it', () => {
    const m = new LinkMonitor();
    m.opened(0);
    for (let t = 250; t <= 1000; t += 250) {
      m.received(t);
      m.tick(t);
    }
    // Nothing ran in the worker for 3 s (a busy phone); the relay's frames of those 3 s wait in the socket's queue.
    expect(m.tick(4000).kind).not.toBe('dead');
    m.received(4001);
    expect(m.tick(4250).kind).not.toBe('dead');
  });

  it('still declares a dead link dead on the next tick that comes on time after a stall', () => {
    const m = new LinkMonitor();
    m.opened(0);
    expect(m.tick(4000).kind).not.toBe('dead');
    expect(m.tick(4250)).toEqual({ kind: 'dead', silentMs: 4250 });
  });

  it('any frame received keeps the link alive', () => {
    const m = new LinkMonitor();
    m.opened(0);
    for (let t = 0; t < 10_000; t += 500) {
      m.received(t);
      expect(m.tick(t).kind).not.toBe('dead');
    }
  });

  it('measures the round trip from the pong of its own ping, once', () => {
    const m = new LinkMonitor();
    m.opened(0);
    const ping = m.tick(100);
    if (ping.kind !== 'ping') throw new Error('expected a ping');
    expect(m.pong({ id: ping.id, t: ping.t }, 180)).toBe(80);
    expect(m.pong({ id: ping.id, t: ping.t }, 300)).toBeNull();
    expect(m.pong({ id: 999, t: 1 }, 300)).toBeNull();
    expect(m.rttMs).toBe(80);
  });

  it('counts pings left unanswered past the dead-link period as lost', () => {
    const m = new LinkMonitor();
    m.opened(0);
    const answered = m.tick(0);
    if (answered.kind === 'ping') m.pong(answered, 50);
    m.received(900);
    m.tick(HEARTBEAT_MS); // never answered
    expect(m.pingLoss(HEARTBEAT_MS + 10)).toBe(0); // too young to judge
    expect(m.pingLoss(HEARTBEAT_MS + LINK_DEAD_MS)).toBe(0.5);
  });
});

describe('linkQuality', () => {
  it('is good on a fast clean link, fair when something is off, poor when replies will lag or break up', () => {
    expect(linkQuality({ rttMs: 60, pingLoss: 0, recentUnderruns: 0 })).toBe('good');
    expect(linkQuality({ rttMs: 250, pingLoss: 0, recentUnderruns: 0 })).toBe('fair');
    expect(linkQuality({ rttMs: 60, pingLoss: 0.1, recentUnderruns: 0 })).toBe('fair');
    expect(linkQuality({ rttMs: 60, pingLoss: 0, recentUnderruns: 1 })).toBe('fair');
    expect(linkQuality({ rttMs: 600, pingLoss: 0, recentUnderruns: 0 })).toBe('poor');
    expect(linkQuality({ rttMs: 60, pingLoss: 0.5, recentUnderruns: 0 })).toBe('poor');
    expect(linkQuality({ rttMs: 60, pingLoss: 0, recentUnderruns: 3 })).toBe('poor');
  });
});
