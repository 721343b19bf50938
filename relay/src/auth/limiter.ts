// Failed-authentication throttle per remote address: after `maxFailures` within `windowMs` the address is
// refused (429) for `blockMs`. Memory is bounded: at most `maxAddresses` are tracked, oldest evicted first.
export interface LimiterOptions {
  maxFailures?: number;
  windowMs?: number;
  blockMs?: number;
  maxAddresses?: number;
  now?: () => number;
}

interface Entry {
  failures: number;
  windowStart: number;
  blockedUntil: number;
}

export class FailedAttemptLimiter {
  private readonly entries = new Map<string, Entry>();
  private readonly maxFailures: number;
  private readonly windowMs: number;
  private readonly blockMs: number;
  private readonly maxAddresses: number;
  private readonly now: () => number;

  constructor(options: LimiterOptions = {}) {
    this.maxFailures = options.maxFailures ?? 10;
    this.windowMs = options.windowMs ?? 60_000;
    this.blockMs = options.blockMs ?? 60_000;
    this.maxAddresses = options.maxAddresses ?? 10_000;
    this.now = options.now ?? Date.now;
  }

  isBlocked(address: string): boolean {
    const entry = this.entries.get(address);
    return entry !== undefined && entry.blockedUntil > this.now();
  }

  recordFailure(address: string): void {
    const now = this.now();
    let entry = this.entries.get(address);
    if (!entry || now - entry.windowStart > this.windowMs) {
      entry = { failures: 0, windowStart: now, blockedUntil: entry?.blockedUntil ?? 0 };
    }
    entry.failures++;
    if (entry.failures >= this.maxFailures) entry.blockedUntil = now + this.blockMs;
    // Re-insert so Map order is least-recently-failed first.
    this.entries.delete(address);
    this.entries.set(address, entry);
    while (this.entries.size > this.maxAddresses) this.entries.delete(this.entries.keys().next().value as string);
  }

  size(): number {
    return this.entries.size;
  }
}
