// Data-dir schema versioning: `<dataDir>/earshot-data.json` says which layout the directory holds:
//   1: users.json (users, tokens, revocations), secret.key, usage/ (JSON-lines usage logs and checkpoints);
//   2: earshot.db (SQLite: users, tokens, usage, leases, changes — store/sqlite-schema.ts), secret.key.
// A relay or CLI opens the directory through openDataDir() before touching anything else, so an older release
// refuses a directory a newer one has moved on (and changes nothing) instead of misreading or overwriting it,
// and a newer one migrates an older one first. A directory without the file is schema 1 when it holds
// users.json or usage/ (from before versioning), else a fresh one.
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { RELEASE_VERSION } from '../release.ts';
import { hasSchema1Files, migrateSchema1 } from '../store/migrate-v1.ts';

/** Bump when a release changes the data layout, and add the step from the previous schema to MIGRATIONS. */
export const DATA_SCHEMA_VERSION = 2;

export const SCHEMA_FILE = 'earshot-data.json';

export interface SchemaFile {
  schema: number;
  /** The release that last wrote the schema number (for the refusal message). */
  release: string;
  updatedAt: string;
}

/** MIGRATIONS[n] turns a schema-n directory into schema n+1, in place. */
const MIGRATIONS: Record<number, (dataDir: string) => void> = {
  // users.json + usage logs → earshot.db, verified, old files moved aside.
  1: (dataDir) => void migrateSchema1(dataDir),
};

export type DataDirReason = 'data_dir_too_new' | 'schema_file_damaged' | 'no_migration';

export class DataDirError extends Error {
  override readonly name = 'DataDirError';
  constructor(
    readonly reason: DataDirReason,
    message: string,
  ) {
    super(message);
  }
}

export function readSchemaFile(dataDir: string): SchemaFile | null {
  const path = join(dataDir, SCHEMA_FILE);
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
  let value: Partial<SchemaFile>;
  try {
    value = JSON.parse(text) as Partial<SchemaFile>;
  } catch {
    value = {};
  }
  if (!Number.isInteger(value.schema) || (value.schema as number) < 1) {
    throw new DataDirError('schema_file_damaged', `${path} is damaged (no schema number). Nothing was changed; restore it from a backup, or write {"schema":1} into it if the directory was made by Earshot 0.1.`);
  }
  return { schema: value.schema as number, release: typeof value.release === 'string' ? value.release : 'unknown', updatedAt: String(value.updatedAt ?? '') };
}

export function writeSchemaFile(dataDir: string, schema: number): void {
  const path = join(dataDir, SCHEMA_FILE);
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, JSON.stringify({ schema, release: RELEASE_VERSION, updatedAt: new Date().toISOString() } satisfies SchemaFile) + '\n', { mode: 0o600 });
  renameSync(tmp, path);
}

/** Throws (changing nothing) if this release cannot use `found`. */
export function assertSchemaUsable(dataDir: string, found: SchemaFile, current = DATA_SCHEMA_VERSION): void {
  if (found.schema > current) {
    throw new DataDirError(
      'data_dir_too_new',
      `The data directory ${dataDir} has schema ${found.schema} (written by Earshot ${found.release}), but this is Earshot ${RELEASE_VERSION}, ` +
        `which knows schema ${current} at most. Nothing was changed. Run Earshot ${found.release} or newer on it, ` +
        `or restore a backup made before the upgrade into a new directory (earshot restore FILE --data-dir DIR).`,
    );
  }
}

/**
 * Makes the directory if needed, refuses a newer schema, migrates an older one, and records the schema.
 * Returns the schema the directory had before (null: it had no schema file).
 */
export function openDataDir(dataDir: string, current = DATA_SCHEMA_VERSION): number | null {
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const found = readSchemaFile(dataDir);
  if (found !== null) assertSchemaUsable(dataDir, found, current);
  const before = found?.schema ?? null;
  const from = before ?? (hasSchema1Files(dataDir) ? 1 : current);
  for (let schema = from; schema < current; schema++) {
    const step = MIGRATIONS[schema];
    if (!step) throw new DataDirError('no_migration', `Earshot ${RELEASE_VERSION} has no migration from data schema ${schema} to ${schema + 1}. Nothing was changed.`);
    step(dataDir);
    writeSchemaFile(dataDir, schema + 1);
  }
  if (before === null && from === current) writeSchemaFile(dataDir, current);
  return before;
}
