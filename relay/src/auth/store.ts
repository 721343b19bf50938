// Users, their tokens and revocations, in `<dataDir>/users.json`. Written atomically (temp file, fsync,
// rename, fsync dir) so a crash leaves the old or the new file, never half of one. The CLI edits the file
// from another process; the relay notices (a cheap stat on every auth, plus a poll) and applies changes
// without a restart.
import { closeSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface UserRecord {
  id: string;
  enabled: boolean;
  /** Concurrent sessions allowed (default 2). */
  maxSessions: number;
  /** Spoken minutes (input + output audio) per UTC day / month; null = unlimited. */
  dailyMinutes: number | null;
  monthlyMinutes: number | null;
  /** Per-user session policy overrides. */
  voice?: string;
  instructions?: string;
  createdAt: string;
}

export interface TokenRecord {
  id: string;
  userId: string;
  createdAt: string;
  expiresAt: number; // epoch seconds
  revokedAt?: string;
}

interface StoreFile {
  version: 1;
  users: Record<string, UserRecord>;
  tokens: Record<string, TokenRecord>;
}

export interface StoreChange {
  revokedTokenIds: string[];
  disabledUserIds: string[];
}

export const USERS_FILE = 'users.json';
const USER_ID = /^[A-Za-z0-9_.@-]{1,64}$/;

export function validUserId(id: string): boolean {
  return USER_ID.test(id);
}

export function newUser(id: string, now = new Date()): UserRecord {
  return { id, enabled: true, maxSessions: 2, dailyMinutes: null, monthlyMinutes: null, createdAt: now.toISOString() };
}

export class UserStore {
  readonly path: string;
  private data: StoreFile;
  private mtimeMs = 0;
  private listeners = new Set<(change: StoreChange) => void>();
  private poll: NodeJS.Timeout | undefined;

  private constructor(private readonly dataDir: string) {
    this.path = join(dataDir, USERS_FILE);
    this.data = { version: 1, users: {}, tokens: {} };
  }

  static async open(dataDir: string): Promise<UserStore> {
    mkdirSync(dataDir, { recursive: true, mode: 0o700 });
    const store = new UserStore(dataDir);
    store.load();
    return store;
  }

  private load(): void {
    let text: string;
    try {
      this.mtimeMs = statSync(this.path).mtimeMs;
      text = readFileSync(this.path, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw err;
    }
    const parsed = JSON.parse(text) as StoreFile;
    if (parsed.version !== 1 || typeof parsed.users !== 'object' || typeof parsed.tokens !== 'object') {
      throw new Error(`${this.path} is not an Earshot users file (version 1)`);
    }
    this.data = parsed;
  }

  /** Re-reads the file if another process changed it; notifies listeners of new revocations. Cheap: one stat. */
  refresh(): void {
    let mtimeMs: number;
    try {
      mtimeMs = statSync(this.path).mtimeMs;
    } catch {
      return;
    }
    if (mtimeMs === this.mtimeMs) return;
    const before = this.data;
    try {
      this.load();
    } catch {
      return; // A reader racing a writer sees the old or new file thanks to rename; anything else: keep old state.
    }
    const change: StoreChange = {
      revokedTokenIds: Object.values(this.data.tokens)
        .filter((t) => t.revokedAt !== undefined && before.tokens[t.id]?.revokedAt === undefined)
        .map((t) => t.id),
      disabledUserIds: Object.values(this.data.users)
        .filter((u) => !u.enabled && before.users[u.id]?.enabled !== false)
        .map((u) => u.id),
    };
    if (change.revokedTokenIds.length > 0 || change.disabledUserIds.length > 0) {
      for (const listener of this.listeners) listener(change);
    }
  }

  /** Calls `listener` when tokens are revoked or users disabled, by this process or another. */
  watch(listener: (change: StoreChange) => void, pollMs = 500): () => void {
    this.listeners.add(listener);
    if (!this.poll) {
      this.poll = setInterval(() => this.refresh(), pollMs);
      this.poll.unref();
    }
    return () => {
      this.listeners.delete(listener);
    };
  }

  close(): void {
    clearInterval(this.poll);
    this.poll = undefined;
    this.listeners.clear();
  }

  private save(): void {
    const tmp = `${this.path}.${process.pid}.tmp`;
    const fd = openSync(tmp, 'w', 0o600);
    try {
      writeFileSync(fd, JSON.stringify(this.data, null, 2) + '\n');
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, this.path);
    const dir = openSync(this.dataDir, 'r');
    try {
      fsyncSync(dir);
    } finally {
      closeSync(dir);
    }
    this.mtimeMs = statSync(this.path).mtimeMs;
  }

  /** Applies `change` to fresh state read from disk and writes it, so two writers do not lose each other's edits. */
  private mutate(change: (data: StoreFile) => void): void {
    this.load();
    const before = this.data;
    const next = structuredClone(this.data);
    change(next);
    this.data = next;
    try {
      this.save();
    } catch (err) {
      this.data = before;
      throw err;
    }
  }

  getUser(id: string): UserRecord | undefined {
    return this.data.users[id];
  }

  listUsers(): UserRecord[] {
    return Object.values(this.data.users).sort((a, b) => a.id.localeCompare(b.id));
  }

  upsertUser(patch: Partial<UserRecord> & { id: string }): UserRecord {
    if (!validUserId(patch.id)) throw new Error(`invalid user id "${patch.id}": use 1-64 letters, digits, _ . @ -`);
    let result!: UserRecord;
    this.mutate((data) => {
      const current = data.users[patch.id] ?? newUser(patch.id);
      result = { ...current, ...patch };
      data.users[patch.id] = result;
    });
    return result;
  }

  addToken(record: TokenRecord): void {
    this.mutate((data) => {
      data.users[record.userId] ??= newUser(record.userId);
      data.tokens[record.id] = record;
    });
  }

  getToken(id: string): TokenRecord | undefined {
    return this.data.tokens[id];
  }

  listTokens(): TokenRecord[] {
    return Object.values(this.data.tokens).sort((a, b) => a.createdAt.localeCompare(b.createdAt));
  }

  isTokenRevoked(tokenId: string): boolean {
    return this.data.tokens[tokenId]?.revokedAt !== undefined;
  }

  /** Revokes one token by id, or every token of a user by user id. Returns the ids revoked now. */
  revoke(idOrUser: string, now = new Date()): string[] {
    const revoked: string[] = [];
    this.mutate((data) => {
      for (const t of Object.values(data.tokens)) {
        if ((t.id === idOrUser || t.userId === idOrUser) && t.revokedAt === undefined) {
          t.revokedAt = now.toISOString();
          revoked.push(t.id);
        }
      }
    });
    if (revoked.length > 0) for (const l of this.listeners) l({ revokedTokenIds: revoked, disabledUserIds: [] });
    return revoked;
  }

  setEnabled(userId: string, enabled: boolean): UserRecord {
    if (!this.data.users[userId]) this.load();
    if (!this.data.users[userId]) throw new Error(`no such user "${userId}"`);
    const user = this.upsertUser({ id: userId, enabled });
    if (!enabled) for (const l of this.listeners) l({ revokedTokenIds: [], disabledUserIds: [userId] });
    return user;
  }
}
