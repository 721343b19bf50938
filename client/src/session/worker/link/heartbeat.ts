// Liveness of the earshot.v2 link. A browser cannot see WebSocket pings, and a cellular link that silently died
// (IP change, handover, a dead NAT binding) otherwise looks open for minutes. The session worker sends
// `earshot.ping` every HEARTBEAT_MS (carrying `ack`, the relay messages received), answers the relay's pings, and
// calls the link dead when nothing at all arrived for LINK_DEAD_MS. Also measures the round trip from pongs and
// the share of recent pings that went unanswered, for the link-quality read-out. Pure: time is passed in.
import { HEARTBEAT_MS, LINK_DEAD_MS, type LinkPong } from '../../../../../protocol/app-link.ts';

export interface HeartbeatConfig {
  heartbeatMs: number;
  deadMs: number;
}

export const DEFAULT_HEARTBEAT: HeartbeatConfig = { heartbeatMs: HEARTBEAT_MS, deadMs: LINK_DEAD_MS };

/** How many recent pings the loss ratio looks at. */
const LOSS_WINDOW = 10;

export type HeartbeatTick = { kind: 'idle' } | { kind: 'ping'; id: number; t: number } | { kind: 'dead'; silentMs: number };

export class LinkMonitor {
  private readonly config: HeartbeatConfig;
  private lastReceivedAt = 0;
  private lastPingAt = Number.NEGATIVE_INFINITY;
  /** When `tick` last ran (or the link opened): a tick far later than its period means the worker stalled. */
  private lastTickAt = 0;
  private nextId = 1;
  /** Recent pings, oldest first: answered or not. */
  private readonly recent: Array<{ id: number; t: number; answered: boolean }> = [];
  /** Latest measured round trip, ms. */
  rttMs: number | null = null;

  constructor(config: HeartbeatConfig = DEFAULT_HEARTBEAT) {
    this.config = config;
  }

  /** A link (re)opened at `now`: it counts as alive from here. Loss history is kept across links. */
  opened(now: number): void {
    this.lastReceivedAt = now;
    this.lastTickAt = now;
    this.lastPingAt = Number.NEGATIVE_INFINITY;
  }

  /** Any frame from the relay (text or binary) proves the link alive. */
  received(now: number): void {
    this.lastReceivedAt = now;
  }

  /** A pong for one of our pings: returns the round trip, or null for a pong we did not send. */
  pong(pong: Pick<LinkPong, 'id' | 't'>, now: number): number | null {
    const ping = this.recent.find((p) => p.id === pong.id && p.t === pong.t);
    if (!ping || ping.answered) return null;
    ping.answered = true;
    this.rttMs = Math.max(0, now - ping.t);
    return this.rttMs;
  }

  /** Call often (every ~250 ms): says whether to send a ping now, or that the link is dead. */
  tick(now: number): HeartbeatTick {
    // A tick that comes a whole heartbeat period late means this worker stalled (a starved CPU, a throttled or
    // frozen page): what the relay sent meanwhile is still queued behind this timer, unread, so silence measured
    // now proves nothing. The next tick, on time, judges (a dead link is declared one tick later, no more).
    const stalled = now - this.lastTickAt > this.config.heartbeatMs;
    this.lastTickAt = now;
    const silentMs = now - this.lastReceivedAt;
    if (silentMs >= this.config.deadMs && !stalled) return { kind: 'dead', silentMs };
    if (now - this.lastPingAt < this.config.heartbeatMs) return { kind: 'idle' };
    this.lastPingAt = now;
    const id = this.nextId++;
    this.recent.push({ id, t: now, answered: false });
    if (this.recent.length > LOSS_WINDOW) this.recent.shift();
    return { kind: 'ping', id, t: now };
  }

  /**
   * Share of recent pings still unanswered after a dead-link period (younger ones may simply be in flight).
   */
  pingLoss(now: number): number {
    const judged = this.recent.filter((p) => now - p.t >= this.config.deadMs);
    if (judged.length === 0) return 0;
    return judged.filter((p) => !p.answered).length / judged.length;
  }
}

export type LinkQuality = 'good' | 'fair' | 'poor';

/**
 * A small traffic light from what the person would notice: the round trip (how late replies and barge-ins land),
 * heartbeats lost (how flaky the link is) and playback gaps in the last minute (what they actually heard).
 */
export function linkQuality(s: { rttMs: number | null; pingLoss: number; recentUnderruns: number }): LinkQuality {
  const rtt = s.rttMs ?? 0;
  if (rtt > 400 || s.pingLoss > 0.2 || s.recentUnderruns >= 3) return 'poor';
  if (rtt > 150 || s.pingLoss > 0 || s.recentUnderruns > 0) return 'fair';
  return 'good';
}
