// Shared by the operator CLIs: where the data lives, how links are built, and how a bad command line is answered.
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { openStore as openConfiguredStore } from '../store/open-store.ts';
import { StoreError, type Store } from '../store/store.ts';
import { loadConfig, type RelayConfig } from '../config/config.ts';
import { openDataDir } from '../data-dir/schema.ts';
import { linkBase } from './link-base.ts';

let config: RelayConfig | undefined;

/** The relay's own resolution (EARSHOT_CONFIG file, then environment), so a CLI works on the relay's data dir. */
export function cliConfig(): RelayConfig {
  try {
    return (config ??= loadConfig());
  } catch (err) {
    return fail((err as Error).message);
  }
}

/** The configured data dir, after the schema check (a directory a newer release wrote is refused, unchanged). */
export function dataDir(): string {
  const dir = cliConfig().dataDir;
  try {
    openDataDir(dir);
  } catch (err) {
    return fail((err as Error).message);
  }
  return dir;
}

/** Base of onboarding links: PUBLIC_URL, else the running relay's real address (with a warning on stderr if a phone cannot open it). */
export function publicUrl(): string {
  const base = linkBase(cliConfig());
  if (base.warning) console.error(`warning: ${base.warning}`);
  return base.url;
}

export function onboardingLink(base: string, token: string): string {
  return `${base.replace(/\/+$/, '')}/#token=${token}`;
}

export function fail(message: string): never {
  console.error(`error: ${message}`);
  process.exit(1);
}

/** parseArgs, but an unknown flag or a missing value gets a sentence and the usage line, not a stack trace. */
export function parseArgsOrFail<T extends ParseArgsConfig>(config: T, usage: string): ReturnType<typeof parseArgs<T>> {
  try {
    return parseArgs(config);
  } catch (err) {
    return fail(`${(err as Error).message}\n${usage}`);
  }
}

/** A StoreError (a damaged or locked database, a missing or existing user) becomes its sentence; anything else is a bug and keeps its stack. */
export async function orFail<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (err instanceof StoreError) fail(err.message);
    throw err;
  }
}

/** The configured store (SQLite in the data dir, or DATABASE_URL), or a sentence naming it when it cannot be opened. */
export async function openStore(): Promise<Store> {
  const dir = dataDir();
  return orFail(() => openConfiguredStore({ dataDir: dir, databaseUrl: cliConfig().databaseUrl, role: 'cli' }));
}
