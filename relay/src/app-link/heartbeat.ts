// The relay's half of the app link's heartbeat (protocol/app-link.ts): a ping once `periodMs` passed with nothing
// sent (any frame tells the client the link is alive, and the client pings every period, so the pongs to those
// usually carry the relay's half: a phone link pays for one heartbeat message a second, not two), and a link
// with nothing received for `deadMs` is dead — the relay does not wait for uWS's idle timeout (60 s), because
// a phone that changed networks leaves a socket that looks open on this side. Clock and timers are injected.

export interface HeartbeatDeps {
  periodMs: number;
  deadMs: number;
  now: () => number;
  sendPing(id: number, t: number): void;
  onDead(silentMs: number): void;
  setInterval?: (fn: () => void, ms: number) => unknown;
  clearInterval?: (handle: unknown) => void;
}

export class Heartbeat {
  private lastHeard: number;
  private lastSent: number;
  private nextId = 1;
  private handle: unknown = null;

  constructor(private readonly deps: HeartbeatDeps) {
    this.lastHeard = deps.now();
    this.lastSent = this.lastHeard;
  }

  /** Starts (or restarts, on a new socket) with the link counted as just heard. */
  start(): void {
    this.stop();
    this.lastHeard = this.deps.now();
    this.lastSent = this.lastHeard;
    const every = this.deps.setInterval ?? ((fn, ms) => setInterval(fn, ms).unref());
    // Checks run twice per period so a dead link is noticed within deadMs + periodMs / 2, and the client never
    // waits more than 1.5 periods for a frame (well inside its own deadMs).
    let lastTick = this.deps.now();
    this.handle = every(() => {
      const now = this.deps.now();
      const late = now - lastTick > this.deps.periodMs;
      lastTick = now;
      const silent = now - this.lastHeard;
      // A tick that comes late means this process stalled (GC, a busy or starved CPU): what the client sent
      // meanwhile is still unread in the socket, so silence measured now proves nothing. Judge on the next tick.
      if (silent > this.deps.deadMs && !late) {
        this.stop();
        this.deps.onDead(silent);
        return;
      }
      if (now - this.lastSent >= this.deps.periodMs) {
        this.lastSent = now;
        this.deps.sendPing(this.nextId++, Math.round(now));
      }
    }, this.deps.periodMs / 2);
  }

  /** Anything arrived from the client: a pong, a ping, audio, an event. */
  heard(): void {
    this.lastHeard = this.deps.now();
  }

  /** Something went to the client (an event, audio, a pong): no ping is due for another period. */
  sent(): void {
    this.lastSent = this.deps.now();
  }

  stop(): void {
    if (this.handle === null) return;
    (this.deps.clearInterval ?? ((h) => clearInterval(h as NodeJS.Timeout)))(this.handle);
    this.handle = null;
  }
}
