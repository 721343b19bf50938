// Users, their tokens and revocations, in `<dataDir>/users.json`. Written atomically (temp file, fsync,
// rename, fsync dir) so a crash leaves the old or the new file, never half of one.
//
// Several processes write it: the relay (first run) and any number of operator CLIs at once (a script
// revoking a family's tokens in parallel). Every read-edit-save therefore runs under a cross-process lock
// (`users.json.lock`, proper-lockfile: an atomic mkdir, taken over when stale) and re-reads the file once the
// lock is held, so no writer can overwrite an edit it never saw. The lock is held only for the synchronous
// read-edit-fsync-rename (milliseconds); a writer that finds it taken waits and retries, for LOCK_WAIT_MS.
//
// The relay notices other processes' writes (a cheap stat on every auth, plus a poll) and applies them
// without a restart; listeners hear about every change (see StoreChange) and re-check live sessions.
import { closeSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import lockfile from 'proper-lockfile';

export interface UserRecord {
  id: string;
  enabled: boolean;
  /** Concurrent sessions allowed (default 2). */
  maxSessions: number;
  /** Spoken minutes (input + output audio) per UTC day / month; null = unlimited. */
  dailyMinutes: number | null;
  monthlyMinutes: number | null;
  /** Billed tokens (text + audio, input + output, from the provider's `response.done` usage) per UTC day / month; null = unlimited. */
  dailyTokens: number | null;
  monthlyTokens: number | null;
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

/** What changed between two states of the file. Listeners get one after every change, even an empty-looking one. */
export interface StoreChange {
  revokedTokenIds: string[];
  disabledUserIds: string[];
  /** Tokens and users no longer in the file at all (removed by `users remove` or by hand). */
  removedTokenIds: string[];
  removedUserIds: string[];
  /** Users whose record changed in any way (limits, max-sessions, policy, state). */
  changedUserIds: string[];
}

export type StoreErrorReason = 'damaged' | 'unknown_format' | 'locked' | 'no_such_user' | 'user_exists' | 'invalid_user_id';

/** A problem with users.json a person can act on; `message` is the sentence to show. */
export class StoreError extends Error {
  override readonly name = 'StoreError';
  constructor(
    readonly reason: StoreErrorReason,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

export const USERS_FILE = 'users.json';
const USER_ID = /^[A-Za-z0-9_.@-]{1,64}$/;
/** How long a writer waits for another writer's lock before giving up with a sentence: longer than LOCK_STALE_MS, so a dead writer's lock is taken over first. Generous because 8 CLIs starting at once on a loaded 2-core box each hold it for seconds, not milliseconds. */
const LOCK_WAIT_MS = 45_000;
/** A lock not refreshed for this long belongs to a writer that died (kill -9): take it over. */
const LOCK_STALE_MS = 30_000;

/** Holds users.json's cross-process lock (`<file>.lock`) around `fn`, waiting up to LOCK_WAIT_MS for another writer. */
function holdLock<T>(path: string, fn: () => T): T {
  const deadline = Date.now() + LOCK_WAIT_MS;
  let release: () => void;
  for (let attempt = 0; ; attempt++) {
    try {
      release = lockfile.lockSync(path, { realpath: false, stale: LOCK_STALE_MS });
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ELOCKED') throw err;
      if (Date.now() >= deadline) {
        throw new StoreError('locked', `${path} is being changed by another process that has held its lock (${path}.lock) for over ${LOCK_WAIT_MS / 1000} s; try again in a moment.`, { cause: err });
      }
      sleepSync(Math.min(5 + attempt * 5, 50) * (0.5 + Math.random())); // jittered, so waiting writers do not collide in step
    }
  }
  try {
    return fn();
  } finally {
    release();
  }
}

/** Runs `fn` holding the users file's lock: `earshot backup` reads the data dir under it, so no edit lands mid-snapshot. */
export function withUsersFileLock<T>(dataDir: string, fn: () => T): T {
  return holdLock(join(dataDir, USERS_FILE), fn);
}

export function validUserId(id: string): boolean {
  return USER_ID.test(id);
}

export function newUser(id: string, now = new Date()): UserRecord {
  return { id, enabled: true, maxSessions: 2, dailyMinutes: null, monthlyMinutes: null, dailyTokens: null, monthlyTokens: null, createdAt: now.toISOString() };
}

/** Files written before token quotas existed lack those keys: they mean "unlimited". */
function normalise(user: UserRecord): UserRecord {
  return { ...user, dailyTokens: user.dailyTokens ?? null, monthlyTokens: user.monthlyTokens ?? null };
}

function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

function diff(before: StoreFile, after: StoreFile): StoreChange {
  const tokens = Object.values(after.tokens);
  const users = Object.values(after.users);
  return {
    revokedTokenIds: tokens.filter((t) => t.revokedAt !== undefined && before.tokens[t.id]?.revokedAt === undefined).map((t) => t.id),
    disabledUserIds: users.filter((u) => !u.enabled && before.users[u.id]?.enabled !== false).map((u) => u.id),
    removedTokenIds: Object.keys(before.tokens).filter((id) => !(id in after.tokens)),
    removedUserIds: Object.keys(before.users).filter((id) => !(id in after.users)),
    changedUserIds: users.filter((u) => JSON.stringify(u) !== JSON.stringify(before.users[u.id])).map((u) => u.id),
  };
}

export class UserStore {
  readonly path: string;
  private data: StoreFile;
  /** Identity of the file last read: inode + nanosecond mtime + size, so two writes in one millisecond still differ. */
  private stamp = '';
  private listeners = new Set<(change: StoreChange) => void>();
  private poll: NodeJS.Timeout | undefined;

  private constructor(private readonly dataDir: string) {
    this.path = join(dataDir, USERS_FILE);
    this.data = { version: 1, users: {}, tokens: {} };
  }

  /** Throws StoreError (with a sentence naming the file) when users.json is damaged or not ours. */
  static async open(dataDir: string): Promise<UserStore> {
    mkdirSync(dataDir, { recursive: true, mode: 0o700 });
    const store = new UserStore(dataDir);
    store.load();
    return store;
  }

  private currentStamp(): string | null {
    try {
      const s = statSync(this.path, { bigint: true });
      return `${s.ino}:${s.mtimeNs}:${s.size}`;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw err;
    }
  }

  private load(): void {
    let text: string;
    let stamp: string | null;
    try {
      stamp = this.currentStamp();
      text = readFileSync(this.path, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
        this.data = { version: 1, users: {}, tokens: {} };
        this.stamp = '';
        return;
      }
      throw err;
    }
    let parsed: StoreFile;
    try {
      parsed = JSON.parse(text) as StoreFile;
    } catch (err) {
      throw new StoreError(
        'damaged',
        `${this.path} is damaged and cannot be read (${(err as Error).message}); nothing was changed. ` +
          'Restore it from your backup (docs/operators.md, section 5), or move it aside to start again with no users or tokens.',
        { cause: err },
      );
    }
    if (typeof parsed !== 'object' || parsed === null || parsed.version !== 1 || typeof parsed.users !== 'object' || typeof parsed.tokens !== 'object' || parsed.users === null || parsed.tokens === null) {
      throw new StoreError(
        'unknown_format',
        `${this.path} is not an Earshot users file of version 1; nothing was changed. ` +
          'If a newer Earshot wrote it, upgrade this one; otherwise restore it from your backup or move it aside.',
      );
    }
    for (const [id, user] of Object.entries(parsed.users)) parsed.users[id] = normalise(user);
    this.data = parsed;
    this.stamp = stamp ?? '';
  }

  /** Re-reads the file if another process changed it and tells listeners what changed. Cheap: one stat. */
  refresh(): void {
    let stamp: string | null;
    try {
      stamp = this.currentStamp();
    } catch {
      return;
    }
    if ((stamp ?? '') === this.stamp) return;
    const before = this.data;
    try {
      this.load();
    } catch {
      return; // Damaged by hand while we run: keep serving the last good state (writers refuse with a sentence).
    }
    this.notify(diff(before, this.data));
  }

  private notify(change: StoreChange): void {
    for (const listener of this.listeners) listener(change);
  }

  /** Calls `listener` after every change to the file, by this process or another. */
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
    this.stamp = this.currentStamp() ?? '';
  }

  /** Holds the cross-process lock around `fn`. Synchronous, so nothing else in this process runs meanwhile. */
  private locked<T>(fn: () => T): T {
    return holdLock(this.path, fn);
  }

  /**
   * Re-reads the file under the lock, applies `change` to that fresh state and writes it: two writers, in this
   * process or any other, never lose each other's edits. `change` may throw (a StoreError) to abort; then
   * nothing is written.
   */
  private mutate(change: (data: StoreFile) => void): void {
    const previous = this.data;
    try {
      this.locked(() => {
        this.load();
        const fresh = this.data;
        const next = structuredClone(fresh);
        change(next);
        this.data = next;
        try {
          this.save();
        } catch (err) {
          this.data = fresh;
          throw err;
        }
      });
    } finally {
      // Even when `change` refused, the re-read may have picked up other processes' edits: listeners hear of them.
      if (this.data !== previous) this.notify(diff(previous, this.data));
    }
  }

  getUser(id: string): UserRecord | undefined {
    return this.data.users[id];
  }

  listUsers(): UserRecord[] {
    return Object.values(this.data.users).sort((a, b) => a.id.localeCompare(b.id));
  }

  private static checkId(id: string): void {
    if (!validUserId(id)) throw new StoreError('invalid_user_id', `invalid user id "${id}": use 1-64 letters, digits, _ . @ -`);
  }

  /** Creates or updates a user. */
  upsertUser(patch: Partial<UserRecord> & { id: string }): UserRecord {
    UserStore.checkId(patch.id);
    let result!: UserRecord;
    this.mutate((data) => {
      const current = data.users[patch.id] ?? newUser(patch.id);
      result = { ...current, ...patch };
      data.users[patch.id] = result;
    });
    return result;
  }

  /** Creates a user; refuses (StoreError user_exists) if one with this id exists — checked under the lock. */
  addUser(patch: Partial<UserRecord> & { id: string }): UserRecord {
    UserStore.checkId(patch.id);
    let result!: UserRecord;
    this.mutate((data) => {
      if (data.users[patch.id]) throw new StoreError('user_exists', `user "${patch.id}" exists; use \`users set\``);
      result = { ...newUser(patch.id), ...patch };
      data.users[patch.id] = result;
    });
    return result;
  }

  /** Changes an existing user; refuses (StoreError no_such_user) if there is none — checked under the lock. */
  updateUser(patch: Partial<UserRecord> & { id: string }): UserRecord {
    let result!: UserRecord;
    this.mutate((data) => {
      const current = data.users[patch.id];
      if (!current) throw new StoreError('no_such_user', `no such user "${patch.id}"; use \`users add\``);
      result = { ...current, ...patch };
      data.users[patch.id] = result;
    });
    return result;
  }

  /** Deletes a user and every token of theirs. Returns the token ids removed. Live sessions end (server.ts). */
  removeUser(userId: string): string[] {
    const removed: string[] = [];
    this.mutate((data) => {
      if (!data.users[userId]) throw new StoreError('no_such_user', `no such user "${userId}"`);
      delete data.users[userId];
      for (const t of Object.values(data.tokens)) {
        if (t.userId !== userId) continue;
        delete data.tokens[t.id];
        removed.push(t.id);
      }
    });
    return removed;
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
    return revoked;
  }

  setEnabled(userId: string, enabled: boolean): UserRecord {
    return this.updateUser({ id: userId, enabled });
  }
}
