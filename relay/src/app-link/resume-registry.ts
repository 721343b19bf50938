// Resume tokens of live app links (event loop). A token is 24 random bytes (base64url), single use: a resume
// consumes it and the link gets a new one. Lookup goes by the token's first 8 characters; the whole token is
// then compared in constant time, so response timing says nothing about how much of a guess was right.
// A token whose session ended while its link was away is remembered for a while (a tombstone), so the app
// learns why it cannot resume (`expired`, `buffer_overflow`) instead of a bare `unknown`.
import { randomBytes, timingSafeEqual } from 'node:crypto';

export type ResumeFailure = 'expired' | 'unknown' | 'buffer_overflow';

export interface Resumable {
  readonly userId: string;
}

interface Tombstone {
  token: Buffer;
  reason: ResumeFailure;
  at: number;
}

const KEY_CHARS = 8;
const TOMBSTONE_MS = 10 * 60_000;
const MAX_TOMBSTONES = 10_000;
export const RESUME_TOKEN_PATTERN = /^[A-Za-z0-9_-]{16,128}$/;

export class ResumeRegistry<L extends Resumable> {
  private readonly live = new Map<string, { token: Buffer; link: L }>();
  private readonly tombstones = new Map<string, Tombstone>();

  constructor(private readonly now: () => number = Date.now) {}

  issue(link: L): string {
    for (;;) {
      const token = randomBytes(24).toString('base64url');
      const key = token.slice(0, KEY_CHARS);
      if (this.live.has(key) || this.tombstones.has(key)) continue;
      this.live.set(key, { token: Buffer.from(token), link });
      return token;
    }
  }

  /** The token is no longer valid (used, or its session ended); `reason` keeps a tombstone saying why. */
  retire(token: string, reason: ResumeFailure | null): void {
    const key = token.slice(0, KEY_CHARS);
    const entry = this.live.get(key);
    if (!entry || !sameToken(entry.token, token)) return;
    this.live.delete(key);
    if (reason) {
      this.tombstones.set(key, { token: entry.token, reason, at: this.now() });
      this.sweep();
    }
  }

  /** The user a live token belongs to (the upgrade exempts a resume from the concurrent-session count). */
  userOf(token: string): string | undefined {
    return this.find(token)?.link.userId;
  }

  /** Consumes a live token of `userId`'s; another user's token is `unknown` and stays valid for its owner. */
  take(token: string, userId: string): { ok: true; link: L } | { ok: false; reason: ResumeFailure } {
    const found = this.find(token);
    if (found && found.link.userId === userId) {
      this.live.delete(token.slice(0, KEY_CHARS));
      return { ok: true, link: found.link };
    }
    if (found) return { ok: false, reason: 'unknown' };
    const stone = this.tombstones.get(token.slice(0, KEY_CHARS));
    if (stone && sameToken(stone.token, token) && this.now() - stone.at < TOMBSTONE_MS) return { ok: false, reason: stone.reason };
    return { ok: false, reason: 'unknown' };
  }

  get size(): number {
    return this.live.size;
  }

  private find(token: string): { token: Buffer; link: L } | undefined {
    if (!RESUME_TOKEN_PATTERN.test(token)) return undefined;
    const entry = this.live.get(token.slice(0, KEY_CHARS));
    return entry && sameToken(entry.token, token) ? entry : undefined;
  }

  private sweep(): void {
    const cutoff = this.now() - TOMBSTONE_MS;
    for (const [key, stone] of this.tombstones) {
      if (stone.at >= cutoff && this.tombstones.size <= MAX_TOMBSTONES) break;
      this.tombstones.delete(key);
    }
  }
}

function sameToken(expected: Buffer, offered: string): boolean {
  const b = Buffer.from(offered);
  return b.byteLength === expected.byteLength && timingSafeEqual(b, expected);
}
