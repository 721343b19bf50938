// Who may run the operator console, in `<dataDir>/admin.json`: the admin role (user ids), one-time sign-in
// links and signed-in console sessions — each stored as the SHA-256 of its secret, never the secret itself, so
// a copy of the file (a backup) signs nobody in — and the prices the Usage page estimates cost with.
//
// Two kinds of process write it: the relay (sign-in, sign-out, role changes from the console) and the CLI
// (`earshot admin link`, which grants the role and mints a link while the relay runs). Every edit therefore
// re-reads the file under a cross-process lock (`admin.json.lock`, an atomic mkdir; one older than
// LOCK_STALE_MS belongs to a writer that died and is taken over) and writes it atomically
// (temp file, fsync, rename); a lookup re-reads it when its stat changed, so a link minted by the CLI a moment
// ago is seen at once. Synchronous on purpose: an edit is one small file, and nothing else runs meanwhile.
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { closeSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, rmdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Prices } from '../../../protocol/admin-api.ts';

export const ADMIN_FILE = 'admin.json';
/** A sign-in link from `earshot admin link` is good for this long, and once. */
export const LINK_MINUTES = 15;
/** The link written at first run (the operator may read the file some time after starting the relay). */
export const FIRST_RUN_LINK_MINUTES = 24 * 60;
/** A console session lasts this long from sign-in (not sliding: a stolen cookie dies on schedule). */
export const SESSION_HOURS = 12;
const LOCK_WAIT_MS = 20_000;
/** An edit holds the lock for milliseconds: one this old was left by a process that died mid-edit. */
const LOCK_STALE_MS = 10_000;

export const DEFAULT_PRICES: Prices = { perMinute: 0.06, perMillionTokens: 40, currency: 'USD' };

interface LinkRecord {
  userId: string;
  createdAt: number;
  expiresAt: number;
  usedAt?: number;
}

interface SessionRecord {
  userId: string;
  createdAt: number;
  expiresAt: number;
}

interface AdminFile {
  version: 1;
  admins: string[];
  links: Record<string, LinkRecord>;
  sessions: Record<string, SessionRecord>;
  prices: Prices;
}

const empty = (): AdminFile => ({ version: 1, admins: [], links: {}, sessions: {}, prices: DEFAULT_PRICES });

/** SHA-256 (hex) of a secret: what the file keeps. */
export function secretHash(secret: string): string {
  return createHash('sha256').update(secret).digest('hex');
}

/** 32 random bytes, base64url: the value of a link or a cookie. */
export function newSecret(): string {
  return randomBytes(32).toString('base64url');
}

export function sameSecret(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

export type SessionLookup = { ok: true; userId: string; expiresAt: number } | { ok: false; reason: 'unknown' | 'expired' };
export type LinkExchange = { ok: true; userId: string; cookie: string; expiresAt: number } | { ok: false };

export class AdminState {
  readonly path: string;
  private data: AdminFile = empty();
  private stamp = '';

  constructor(
    private readonly dataDir: string,
    private readonly now: () => number = Date.now,
  ) {
    mkdirSync(dataDir, { recursive: true, mode: 0o700 });
    this.path = join(dataDir, ADMIN_FILE);
    this.refresh();
  }

  private currentStamp(): string {
    try {
      const s = statSync(this.path, { bigint: true });
      return `${s.ino}:${s.mtimeNs}:${s.size}`;
    } catch {
      return '';
    }
  }

  /** Re-reads the file when another process changed it (one stat otherwise). A damaged file throws a sentence. */
  private refresh(): void {
    const stamp = this.currentStamp();
    if (stamp === this.stamp) return;
    if (stamp === '') {
      this.data = empty();
      this.stamp = '';
      return;
    }
    let parsed: AdminFile;
    try {
      parsed = JSON.parse(readFileSync(this.path, 'utf8')) as AdminFile;
    } catch (err) {
      throw new Error(`${this.path} is damaged (${(err as Error).message}); move it aside and run \`earshot admin link\` to sign in again.`, { cause: err });
    }
    if (parsed.version !== 1 || !Array.isArray(parsed.admins)) throw new Error(`${this.path} is not an Earshot admin file of version 1.`);
    this.data = { ...empty(), ...parsed };
    this.stamp = stamp;
  }

  private mutate<T>(change: (data: AdminFile, now: number) => T): T {
    const release = this.lock();
    try {
      this.stamp = ''; // re-read under the lock, whatever the stat says
      this.refresh();
      const next = structuredClone(this.data);
      const t = this.now();
      const result = change(next, t);
      // Spent links and ended sessions are dropped as the file is written, so it never grows without bound.
      for (const [h, l] of Object.entries(next.links)) if (l.expiresAt <= t || l.usedAt !== undefined) delete next.links[h];
      for (const [h, s] of Object.entries(next.sessions)) if (s.expiresAt <= t) delete next.sessions[h];
      this.write(next);
      return result;
    } finally {
      release();
    }
  }

  private lock(): () => void {
    const dir = `${this.path}.lock`;
    const deadline = Date.now() + LOCK_WAIT_MS;
    for (;;) {
      try {
        mkdirSync(dir); // atomic: exactly one process creates it
        return () => rmdirSync(dir);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
        try {
          if (Date.now() - statSync(dir).mtimeMs > LOCK_STALE_MS) rmdirSync(dir);
        } catch {
          // gone meanwhile: try again
        }
        if (Date.now() >= deadline) throw new Error(`${dir} has been held by another process for over ${LOCK_WAIT_MS / 1000} s; try again in a moment.`);
        Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 10 + Math.random() * 20);
      }
    }
  }

  private write(next: AdminFile): void {
    const tmp = `${this.path}.${process.pid}.tmp`;
    const fd = openSync(tmp, 'w', 0o600);
    try {
      writeFileSync(fd, JSON.stringify(next, null, 2) + '\n');
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, this.path);
    this.data = next;
    this.stamp = this.currentStamp();
  }

  isAdmin(userId: string): boolean {
    this.refresh();
    return this.data.admins.includes(userId);
  }

  admins(): string[] {
    this.refresh();
    return [...this.data.admins];
  }

  hasAnyAdmin(): boolean {
    return this.admins().length > 0;
  }

  /** Grants or withdraws the admin role. Withdrawing it signs that person out of every console session. */
  setAdmin(userId: string, admin: boolean): void {
    this.mutate((data) => {
      data.admins = data.admins.filter((a) => a !== userId);
      if (admin) data.admins.push(userId);
      else for (const [h, s] of Object.entries(data.sessions)) if (s.userId === userId) delete data.sessions[h];
    });
  }

  /** Mints a one-time sign-in link secret for an admin (granting the role). Only its hash is kept. */
  mintLink(userId: string, minutes = LINK_MINUTES): { secret: string; expiresAt: number } {
    const secret = newSecret();
    const expiresAt = this.mutate((data, t) => {
      if (!data.admins.includes(userId)) data.admins.push(userId);
      const exp = t + minutes * 60_000;
      data.links[secretHash(secret)] = { userId, createdAt: t, expiresAt: exp };
      return exp;
    });
    return { secret, expiresAt };
  }

  /** Spends a link (once, before its expiry) for a new console session; the cookie value is returned once. */
  exchangeLink(secret: string): LinkExchange {
    if (secret.length === 0 || secret.length > 200) return { ok: false };
    const hash = secretHash(secret);
    return this.mutate((data, t): LinkExchange => {
      const link = data.links[hash];
      if (!link || link.usedAt !== undefined || link.expiresAt <= t || !data.admins.includes(link.userId)) return { ok: false };
      link.usedAt = t;
      const cookie = newSecret();
      const expiresAt = t + SESSION_HOURS * 3_600_000;
      data.sessions[secretHash(cookie)] = { userId: link.userId, createdAt: t, expiresAt };
      return { ok: true, userId: link.userId, cookie, expiresAt };
    });
  }

  /** The console session a cookie value stands for. */
  session(cookie: string): SessionLookup {
    this.refresh();
    const record = this.data.sessions[secretHash(cookie)];
    if (!record) return { ok: false, reason: 'unknown' };
    if (record.expiresAt <= this.now()) return { ok: false, reason: 'expired' };
    return { ok: true, userId: record.userId, expiresAt: record.expiresAt };
  }

  endSession(cookie: string): void {
    this.mutate((data) => {
      delete data.sessions[secretHash(cookie)];
    });
  }

  /** A removed person loses the role and every console session. */
  forget(userId: string): void {
    this.setAdmin(userId, false);
  }

  prices(): Prices {
    this.refresh();
    return { ...this.data.prices };
  }

  setPrices(prices: Prices): void {
    this.mutate((data) => {
      data.prices = prices;
    });
  }
}
