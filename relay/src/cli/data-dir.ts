// Shared by the operator CLIs: where the data lives, how links are built, and how a bad command line is answered.
import { parseArgs, type ParseArgsConfig } from 'node:util';

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
