// Shared by the operator CLIs: where the data lives, how links are built, and how a bad command line is answered.
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { StoreError, UserStore } from '../auth/store.ts';

export function dataDir(): string {
  return process.env.EARSHOT_DATA_DIR ?? './data';
}

export function publicUrl(): string {
  return (process.env.PUBLIC_URL ?? `http://${process.env.HOST ?? '127.0.0.1'}:${process.env.PORT ?? '8080'}`).replace(/\/+$/, '');
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

/** A StoreError (damaged users.json, a held lock, a missing or existing user) becomes its sentence; anything else is a bug and keeps its stack. */
export function orFail<T>(fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    if (err instanceof StoreError) fail(err.message);
    throw err;
  }
}

/** The data dir's user store, or a sentence naming users.json when it cannot be read. */
export async function openStore(): Promise<UserStore> {
  try {
    return await UserStore.open(dataDir());
  } catch (err) {
    if (err instanceof StoreError) fail(err.message);
    throw err;
  }
}
