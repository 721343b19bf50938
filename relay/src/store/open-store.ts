// The one place the relay and the CLIs choose their Store: `DATABASE_URL` starting `postgres://` (or
// `postgresql://`) is a PostgreSQL server shared by a fleet of relays; anything else — the default — is the
// SQLite file in the data dir.
import type { Store } from './store.ts';
import { SqliteStore } from './sqlite-store.ts';
import { PostgresStore } from './postgres-store.ts';

export interface OpenStoreOptions {
  dataDir: string;
  /** `postgres://…` for PostgreSQL; undefined or empty for SQLite in `dataDir`. */
  databaseUrl?: string | undefined;
  /**
   * Who opens it. The relay waits only briefly for another process's write lock (its event loop is blocked
   * meanwhile: usage batches retry next tick); a CLI waits long (8 CLIs at once on a busy box).
   */
  role: 'relay' | 'cli';
}

/** The relay's SQLite busy_timeout: a CLI's transaction takes milliseconds, so 1 s means something is wrong. */
export const RELAY_BUSY_TIMEOUT_MS = 1_000;
export const CLI_BUSY_TIMEOUT_MS = 30_000;

export function isPostgresUrl(url: string | undefined): url is string {
  return url !== undefined && /^postgres(ql)?:\/\//.test(url);
}

export async function openStore(options: OpenStoreOptions): Promise<Store> {
  if (isPostgresUrl(options.databaseUrl)) {
    // A relay needs a few pooled connections (usage batches, lease heartbeats, upgrades); a CLI one. The feed's
    // fallback poll can be slowed (tests prove NOTIFY does the work) with EARSHOT_FEED_POLL_MS.
    const feedPollMs = Number(process.env.EARSHOT_FEED_POLL_MS) || undefined;
    return PostgresStore.open(options.databaseUrl, { maxConnections: options.role === 'relay' ? 6 : 2, ...(feedPollMs ? { feedPollMs } : {}) });
  }
  if (options.role === 'cli') return SqliteStore.open(options.dataDir, { busyTimeoutMs: CLI_BUSY_TIMEOUT_MS });
  // The relay's session-time writes on a writer thread (sqlite-writer.ts). EARSHOT_BENCH_STORE_ON_LOOP=1 puts
  // them back on the event loop: bench:event-loop only, to show the difference side by side.
  const writer = process.env.EARSHOT_BENCH_STORE_ON_LOOP === '1' ? 'inline' : 'worker';
  return SqliteStore.open(options.dataDir, { busyTimeoutMs: RELAY_BUSY_TIMEOUT_MS, writer });
}
