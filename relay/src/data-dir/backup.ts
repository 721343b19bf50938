// `earshot backup FILE` / `earshot restore FILE --data-dir DIR`: a consistent snapshot of a data dir, taken
// while the relay runs, as a gzipped tar (inspect it with `tar tzf`) holding the files and a manifest of their
// sizes and SHA-256 sums.
//
// Why a copy is consistent without stopping the relay: the database (`earshot.db`) is copied with SQLite's
// online backup API, which reads one transaction-consistent state of a live WAL database (a plain file copy
// could miss what sits in the -wal file, or tear a page); secret.key, the schema file and the console's
// admin.json are only ever replaced whole (temp file + rename), so one read sees one complete version; the
// console's audit log is append-only, so it is cut at its last complete line. A data dir not yet migrated
// from schema 1 (users.json + usage logs) is never backed up as such: the CLI opens the dir first, which
// migrates it.
//
// Restore goes into an empty (or missing) directory only, through a temp dir beside it that is checked —
// manifest, checksums, schema, the database's integrity (or an old backup's users file) — before one rename
// makes it the data dir: a bad backup changes nothing. A schema-1 backup restores as it was and is migrated
// by the relay's next start.
import { createHash } from 'node:crypto';
import { chmodSync, closeSync, fsyncSync, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, renameSync, rmSync, rmdirSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import * as tar from 'tar';
import { ADMIN_FILE } from '../admin/admin-state.ts';
import { AUDIT_FILE } from '../admin/audit-log.ts';
import { SECRET_FILE } from '../auth/secret.ts';
import { SqliteStore } from '../store/sqlite-store.ts';
import { SQLITE_FILE } from '../store/sqlite-schema.ts';
import { RELEASE_VERSION } from '../release.ts';
import { assertSchemaUsable, DATA_SCHEMA_VERSION, readSchemaFile, SCHEMA_FILE, type SchemaFile } from './schema.ts';

export const MANIFEST_FILE = 'earshot-backup.json';

export interface BackupFile {
  path: string;
  bytes: number;
  sha256: string;
}

export interface BackupManifest {
  format: 'earshot-backup';
  formatVersion: 1;
  schema: number;
  release: string;
  createdAt: string;
  files: BackupFile[];
}

export interface BackupSummary {
  file: string;
  schema: number;
  files: number;
  bytes: number;
  users: number;
  tokens: number;
  revokedTokens: number;
  usageMonths: number;
}

export class BackupError extends Error {
  override readonly name = 'BackupError';
}

/** The files of a schema-1 data dir (before the SQLite store): recognised in old backups only. */
const LEGACY_USERS_FILE = 'users.json';
const LEGACY_LOG_FILE = /^usage\/usage-\d{4}-\d{2}\.jsonl$/;

const sha256 = (bytes: Buffer): string => createHash('sha256').update(bytes).digest('hex');

function readIfExists(path: string): Buffer | null {
  try {
    return readFileSync(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
}

/** Users, tokens and usage months in a restored or backed-up dir: from its database, or an old backup's users.json. */
async function summarize(file: string, manifest: BackupManifest, dir: string): Promise<BackupSummary> {
  const base = { file, schema: manifest.schema, files: manifest.files.length, bytes: manifest.files.reduce((n, f) => n + f.bytes, 0) };
  const db = join(dir, SQLITE_FILE);
  if (readIfExists(db) !== null) {
    const store = await SqliteStore.openFile(db, { readonly: true });
    try {
      const tokens = await store.listTokens();
      const days = await store.usageByDay();
      return { ...base, users: (await store.listUsers()).length, tokens: tokens.length, revokedTokens: tokens.filter((t) => t.revokedAt !== undefined).length, usageMonths: new Set(days.map((d) => d.day.slice(0, 7))).size };
    } finally {
      await store.close();
    }
  }
  const users = readIfExists(join(dir, LEGACY_USERS_FILE));
  const legacy = users ? (JSON.parse(users.toString('utf8')) as { users: Record<string, unknown>; tokens: Record<string, { revokedAt?: string }> }) : { users: {}, tokens: {} };
  const tokens = Object.values(legacy.tokens);
  return { ...base, users: Object.keys(legacy.users).length, tokens: tokens.length, revokedTokens: tokens.filter((t) => t.revokedAt !== undefined).length, usageMonths: manifest.files.filter((f) => LEGACY_LOG_FILE.test(f.path)).length };
}

function syncPath(path: string): void {
  const fd = openSync(path, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

export async function createBackup(dataDir: string, file: string, now = new Date()): Promise<BackupSummary> {
  let schema: SchemaFile | null;
  try {
    statSync(dataDir);
    schema = readSchemaFile(dataDir);
  } catch (err) {
    throw new BackupError(`cannot read the data directory ${dataDir}: ${(err as Error).message}`);
  }
  if (schema) assertSchemaUsable(dataDir, schema);
  const staging = mkdtempSync(join(tmpdir(), 'earshot-backup-'));
  const out = resolve(file);
  const partial = `${out}.${process.pid}.partial`;
  try {
    chmodSync(staging, 0o700);
    const names: string[] = [];
    const db = join(dataDir, SQLITE_FILE);
    if (readIfExists(db) !== null) {
      // The online backup API: a consistent copy while the relay and CLIs keep writing.
      const store = await SqliteStore.openFile(db, { readonly: true, busyTimeoutMs: 30_000 });
      try {
        await store.backupTo(join(staging, SQLITE_FILE));
      } finally {
        await store.close();
      }
      chmodSync(join(staging, SQLITE_FILE), 0o600);
      names.push(SQLITE_FILE);
    }
    for (const name of [SECRET_FILE, SCHEMA_FILE, ADMIN_FILE, AUDIT_FILE]) {
      let bytes = readIfExists(join(dataDir, name));
      if (!bytes) continue;
      // The audit log only grows: everything up to its last newline is a consistent prefix (a line being
      // appended right now is left for the next backup).
      if (name === AUDIT_FILE) bytes = bytes.subarray(0, bytes.lastIndexOf(0x0a) + 1);
      writeFileSync(join(staging, name), bytes, { mode: 0o600 });
      names.push(name);
    }
    if (!names.includes(SQLITE_FILE) && !names.includes(SECRET_FILE)) {
      throw new BackupError(`${dataDir} holds no Earshot data (no ${SQLITE_FILE}, no ${SECRET_FILE}): is EARSHOT_DATA_DIR (or dataDir in the config) right?`);
    }
    const manifest: BackupManifest = {
      format: 'earshot-backup',
      formatVersion: 1,
      schema: schema?.schema ?? DATA_SCHEMA_VERSION,
      release: RELEASE_VERSION,
      createdAt: now.toISOString(),
      files: names.map((path) => {
        const bytes = readFileSync(join(staging, path));
        return { path, bytes: bytes.length, sha256: sha256(bytes) };
      }),
    };
    writeFileSync(join(staging, MANIFEST_FILE), JSON.stringify(manifest, null, 2) + '\n', { mode: 0o600 });
    // The backup holds the signing secret: readable by its owner only, from the first byte.
    closeSync(openSync(partial, 'w', 0o600));
    await tar.create({ gzip: true, file: partial, cwd: staging, portable: true, mtime: now }, [MANIFEST_FILE, ...names]);
    syncPath(partial);
    renameSync(partial, out);
    syncPath(dirname(out));
    return await summarize(out, manifest, staging);
  } finally {
    rmSync(staging, { recursive: true, force: true });
    rmSync(partial, { force: true });
  }
}

function isEmptyOrMissing(dir: string): boolean {
  try {
    return readdirSync(dir).length === 0;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return true;
    throw err;
  }
}

function readManifest(staging: string, file: string): BackupManifest {
  let manifest: Partial<BackupManifest>;
  try {
    manifest = JSON.parse(readFileSync(join(staging, MANIFEST_FILE), 'utf8')) as Partial<BackupManifest>;
  } catch {
    throw new BackupError(`${file} is not an Earshot backup (no readable ${MANIFEST_FILE} inside)`);
  }
  if (manifest.format !== 'earshot-backup' || manifest.formatVersion !== 1 || !Array.isArray(manifest.files) || !Number.isInteger(manifest.schema)) {
    throw new BackupError(`${file} is not an Earshot backup this release can read (format ${String(manifest.format)} ${String(manifest.formatVersion)})`);
  }
  return manifest as BackupManifest;
}

function listFiles(dir: string, prefix = ''): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? listFiles(join(dir, e.name), `${prefix}${e.name}/`) : [`${prefix}${e.name}`]));
}

export async function restoreBackup(file: string, dataDir: string): Promise<BackupSummary> {
  const target = resolve(dataDir);
  if (!isEmptyOrMissing(target)) throw new BackupError(`${target} is not empty: restore only into an empty or new directory (nothing was changed)`);
  try {
    statSync(file);
  } catch (err) {
    throw new BackupError(`cannot read ${file}: ${(err as Error).message}`);
  }
  mkdirSync(dirname(target), { recursive: true });
  // Beside the target, so the final step is a rename on the same file system.
  const staging = mkdtempSync(join(dirname(target), `.${basename(target)}.restore-`));
  try {
    try {
      // Regular files only; node-tar already refuses absolute paths and `..`.
      await tar.extract({ file, cwd: staging, strict: true, filter: (_path, entry) => 'type' in entry && entry.type === 'File' });
    } catch (err) {
      throw new BackupError(`${file} is not a readable backup: ${(err as Error).message}`);
    }
    const manifest = readManifest(staging, file);
    assertSchemaUsable(target, { schema: manifest.schema, release: manifest.release, updatedAt: manifest.createdAt });
    const expected = new Set([MANIFEST_FILE, ...manifest.files.map((f) => f.path)]);
    const found = listFiles(staging);
    const extra = found.filter((p) => !expected.has(p));
    if (extra.length > 0) throw new BackupError(`${file} holds files its manifest does not list: ${extra.join(', ')}`);
    for (const entry of manifest.files) {
      const bytes = readIfExists(join(staging, entry.path));
      if (bytes === null) throw new BackupError(`${file} is incomplete: ${entry.path} is missing`);
      if (bytes.length !== entry.bytes || sha256(bytes) !== entry.sha256) throw new BackupError(`${file} is damaged: ${entry.path} does not match its checksum`);
    }
    if (readIfExists(join(staging, SQLITE_FILE)) !== null) {
      let integrity: string;
      try {
        const store = await SqliteStore.openFile(join(staging, SQLITE_FILE), { readonly: true });
        try {
          integrity = store.integrityCheck();
        } finally {
          await store.close();
        }
      } catch (err) {
        throw new BackupError(`${file}: ${SQLITE_FILE} cannot be opened: ${(err as Error).message}`);
      }
      if (integrity !== 'ok') throw new BackupError(`${file}: ${SQLITE_FILE} is damaged (${integrity})`);
    }
    const users = readIfExists(join(staging, LEGACY_USERS_FILE));
    try {
      if (users) JSON.parse(users.toString('utf8'));
    } catch {
      throw new BackupError(`${file}: ${LEGACY_USERS_FILE} does not parse`);
    }
    const summary = await summarize(file, manifest, staging);
    rmSync(join(staging, MANIFEST_FILE));
    for (const path of listFiles(staging)) chmodSync(join(staging, path), 0o600);
    chmodSync(staging, 0o700);
    try {
      chmodSync(join(staging, 'usage'), 0o700);
    } catch {
      // only a schema-1 backup with recorded usage has a usage/ directory
    }
    try {
      rmdirSync(target);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
    renameSync(staging, target);
    syncPath(dirname(target));
    return summary;
  } finally {
    rmSync(staging, { recursive: true, force: true });
  }
}
