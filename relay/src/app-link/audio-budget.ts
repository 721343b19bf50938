// The app link's audio rate limit, by duration rather than message count: a token bucket of audio
// milliseconds, `burstMs` deep, refilled at `realtimeFactor` × wall time. A backlog flushed after a stall
// (a few seconds of audio at once) passes; a client sending faster than `realtimeFactor` × real time for long
// runs the bucket dry and is refused (4007).

export class AudioBudget {
  private tokens: number;
  private last: number;

  constructor(
    private readonly burstMs: number,
    private readonly realtimeFactor: number,
    private readonly now: () => number,
  ) {
    this.tokens = burstMs;
    this.last = now();
  }

  /** Takes `ms` of audio; false when over the limit. */
  take(ms: number): boolean {
    const t = this.now();
    this.tokens = Math.min(this.burstMs, this.tokens + (t - this.last) * this.realtimeFactor);
    this.last = t;
    this.tokens -= ms;
    return this.tokens >= 0;
  }
}
