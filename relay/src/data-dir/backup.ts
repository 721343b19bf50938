// `earshot backup FILE` / `earshot restore FILE --data-dir DIR`: a consistent snapshot of a data dir, taken
// while the relay runs, as a gzipped tar (inspect it with `tar tzf`) holding the files and a manifest of their
// sizes and SHA-256 sums.
//
// Why a copy is consistent without stopping the relay (the snapshot also holds users.json's cross-process lock,
// so no CLI edit runs meanwhile): users.json, secret.key, the schema file and the usage
// checkpoints are only ever replaced whole (temp file + rename), so one read sees one complete version; usage
// logs are only appended to, so each is cut at its last newline (a record the relay is writing that very moment
// waits for the next backup). Checkpoints are read before their logs: a log only grows, so it is always at
// least as long as the offset its checkpoint names, which is what makes the checkpoint usable after a restore.
//
// Restore goes into an empty (or missing) directory only, through a temp dir beside it that is checked —
// manifest, checksums, schema, users file — before one rename makes it the data dir: a bad backup changes nothing.
import { createHash } from 'node:crypto';
import { chmodSync, closeSync, fsyncSync, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, renameSync, rmSync, rmdirSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import * as tar from 'tar';
import { USERS_FILE, withUsersFileLock } from '../auth/store.ts';
import { SECRET_FILE } from '../auth/secret.ts';
import { USAGE_DIR } from '../accounts/usage-log.ts';
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

const LOG_FILE = /^usage-\d{4}-\d{2}\.jsonl$/;
const CHECKPOINT_FILE = /^checkpoint-\d{4}-\d{2}\.json$/;

const sha256 = (bytes: Buffer): string => createHash('sha256').update(bytes).digest('hex');

function readIfExists(path: string): Buffer | null {
  try {
    return readFileSync(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
}

/** Reads the data dir's files in the order that keeps them consistent with each other (see the header). */
function snapshot(dataDir: string): Map<string, Buffer> {
  const files = new Map<string, Buffer>();
  const usageDir = join(dataDir, USAGE_DIR);
  let usageNames: string[] = [];
  try {
    usageNames = readdirSync(usageDir).sort();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  for (const name of usageNames.filter((n) => CHECKPOINT_FILE.test(n))) {
    const bytes = readIfExists(join(usageDir, name));
    if (bytes) files.set(`${USAGE_DIR}/${name}`, bytes);
  }
  for (const name of usageNames.filter((n) => LOG_FILE.test(n))) {
    const bytes = readIfExists(join(usageDir, name));
    if (bytes) files.set(`${USAGE_DIR}/${name}`, bytes.subarray(0, bytes.lastIndexOf(0x0a) + 1));
  }
  for (const name of [USERS_FILE, SECRET_FILE, SCHEMA_FILE]) {
    const bytes = readIfExists(join(dataDir, name));
    if (bytes) files.set(name, bytes);
  }
  return files;
}

function summarize(file: string, manifest: BackupManifest, users: Buffer | undefined): BackupSummary {
  const store = users ? (JSON.parse(users.toString('utf8')) as { users: Record<string, unknown>; tokens: Record<string, { revokedAt?: string }> }) : { users: {}, tokens: {} };
  const tokens = Object.values(store.tokens);
  return {
    file,
    schema: manifest.schema,
    files: manifest.files.length,
    bytes: manifest.files.reduce((n, f) => n + f.bytes, 0),
    users: Object.keys(store.users).length,
    tokens: tokens.length,
    revokedTokens: tokens.filter((t) => t.revokedAt !== undefined).length,
    usageMonths: manifest.files.filter((f) => LOG_FILE.test(basename(f.path))).length,
  };
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
  // Under users.json's lock, as every CLI edit takes it: the snapshot sees an edit wholly or not at all.
  const files = withUsersFileLock(dataDir, () => snapshot(dataDir));
  if (!files.has(USERS_FILE) && !files.has(SECRET_FILE)) {
    throw new BackupError(`${dataDir} holds no Earshot data (no ${USERS_FILE}, no ${SECRET_FILE}): is EARSHOT_DATA_DIR (or dataDir in the config) right?`);
  }
  const manifest: BackupManifest = {
    format: 'earshot-backup',
    formatVersion: 1,
    schema: schema?.schema ?? DATA_SCHEMA_VERSION,
    release: RELEASE_VERSION,
    createdAt: now.toISOString(),
    files: [...files].map(([path, bytes]) => ({ path, bytes: bytes.length, sha256: sha256(bytes) })),
  };
  const staging = mkdtempSync(join(tmpdir(), 'earshot-backup-'));
  const out = resolve(file);
  const partial = `${out}.${process.pid}.partial`;
  try {
    mkdirSync(join(staging, USAGE_DIR), { mode: 0o700 });
    for (const [path, bytes] of files) writeFileSync(join(staging, path), bytes, { mode: 0o600 });
    writeFileSync(join(staging, MANIFEST_FILE), JSON.stringify(manifest, null, 2) + '\n', { mode: 0o600 });
    // The backup holds the signing secret: readable by its owner only, from the first byte.
    closeSync(openSync(partial, 'w', 0o600));
    await tar.create({ gzip: true, file: partial, cwd: staging, portable: true, mtime: now }, [MANIFEST_FILE, ...files.keys()]);
    syncPath(partial);
    renameSync(partial, out);
    syncPath(dirname(out));
  } finally {
    rmSync(staging, { recursive: true, force: true });
    rmSync(partial, { force: true });
  }
  return summarize(out, manifest, files.get(USERS_FILE));
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
    const users = readIfExists(join(staging, USERS_FILE)) ?? undefined;
    try {
      if (users) JSON.parse(users.toString('utf8'));
    } catch {
      throw new BackupError(`${file}: ${USERS_FILE} does not parse`);
    }
    rmSync(join(staging, MANIFEST_FILE));
    for (const path of listFiles(staging)) chmodSync(join(staging, path), 0o600);
    chmodSync(staging, 0o700);
    try {
      chmodSync(join(staging, USAGE_DIR), 0o700);
    } catch {
      // a backup made before any usage was recorded has no usage/ directory
    }
    try {
      rmdirSync(target);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
    renameSync(staging, target);
    syncPath(dirname(target));
    return summarize(file, manifest, users);
  } finally {
    rmSync(staging, { recursive: true, force: true });
  }
}
