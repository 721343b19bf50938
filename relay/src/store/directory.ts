// The relay's in-memory copy of users and tokens, kept current by the store's change feed, on the relay's
// event loop. Live enforcement (auth/live-access.ts) and quota policy (accounts/accounting.ts) read it
// synchronously — they run on timers and per change, and must not wait on a database. The upgrade path reads
// the store itself (fresh: a token minted a moment ago by a CLI must work at once) and falls back to this copy
// only when the store cannot answer (authenticator.ts).
//
// On every batch of changes the whole directory is re-read in one snapshot (users and tokens are small: a
// few hundred rows), so it can never drift from the store by applying a change wrongly; listeners then hear
// the changes. A feed that fails (database unreachable) keeps the last good copy and is retried.
import type { Logger } from '../log.ts';
import type { Store, StoreChange, StoreError, TokenRecord, UserRecord } from './store.ts';

export class Directory {
  private users = new Map<string, UserRecord>();
  private tokens = new Map<string, TokenRecord>();
  private readonly listeners = new Set<(changes: StoreChange[]) => void>();
  private unwatch: (() => void) | undefined;
  private reloading: Promise<void> = Promise.resolve();
  private feedBroken = false;
  private current = 0;
  /** Snapshots begun, and the newest applied: see mark. */
  private begun = 0;
  private applied = 0;

  private constructor(
    readonly store: Store,
    private readonly log: Logger,
  ) {}

  /** Reads the store once and follows its change feed until close(). */
  static async open(store: Store, log: Logger): Promise<Directory> {
    const dir = new Directory(store, log);
    const { changeId } = await dir.load();
    dir.unwatch = store.watch(
      changeId,
      (changes) => dir.onChanges(changes),
      (err: StoreError) => {
        if (!dir.feedBroken) log.error({ err: err.message }, 'store change feed unreadable: keeping the last users and tokens read; retrying');
        dir.feedBroken = true;
      },
    );
    return dir;
  }

  private async load(): Promise<{ changeId: number }> {
    const mark = ++this.begun;
    const snap = await this.store.snapshot();
    this.applied = mark;
    this.users = new Map(snap.users.map((u) => [u.id, u]));
    this.tokens = new Map(snap.tokens.map((t) => [t.id, t]));
    this.current = Math.max(this.current, snap.changeId);
    return { changeId: snap.changeId };
  }

  private onChanges(changes: StoreChange[]): void {
    if (this.feedBroken) this.log.info('store change feed readable again');
    this.feedBroken = false;
    // Serialised: a slow reload must not be overtaken by an older one finishing later.
    this.reloading = this.reloading
      .then(() => this.load())
      .then(
        () => {
          for (const listener of this.listeners) {
            try {
              listener(changes);
            } catch (err) {
              this.log.error({ err: (err as Error).message }, 'directory listener failed');
            }
          }
        },
        (err: unknown) => this.log.error({ err: (err as Error).message }, 'cannot re-read users and tokens after a change; keeping the previous copy'),
      );
  }

  /** Resolves once every change heard so far is applied (tests; a CLI-like write in this process). */
  settled(): Promise<void> {
    return this.reloading;
  }

  /** The change id the copy is current to (its feed position, store/retention.ts). */
  get changeId(): number {
    return this.current;
  }

  /**
   * A mark to take right after reading a record from the store itself (the upgrade does). Only a snapshot begun
   * after the mark is sure to hold that record, so until then its absence here means "not heard yet", not
   * "removed": a CLI in another process mints a token, the app connects at once, and the feed has not polled.
   */
  get mark(): number {
    return this.begun;
  }

  /** Whether the copy comes from a snapshot begun after `mark`, so that an absence in it is a removal. */
  readSince(mark: number): boolean {
    return this.applied > mark;
  }

  getUser(id: string): UserRecord | undefined {
    return this.users.get(id);
  }

  getToken(id: string): TokenRecord | undefined {
    return this.tokens.get(id);
  }

  listUsers(): UserRecord[] {
    return [...this.users.values()].sort((a, b) => a.id.localeCompare(b.id));
  }

  /** Calls `listener` after every batch of changes, once the directory reflects them. */
  onChange(listener: (changes: StoreChange[]) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  close(): void {
    this.unwatch?.();
    this.listeners.clear();
  }
}
