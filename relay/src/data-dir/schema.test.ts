// Data-dir schema versioning: an older release refuses a directory a newer one wrote, and changes nothing.
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runEarshot } from '../testing/built-earshot.ts';
import { tempDataDir } from '../testing/start-relay.ts';
import { DATA_SCHEMA_VERSION, DataDirError, openDataDir, readSchemaFile, SCHEMA_FILE } from './schema.ts';

/** Every file's name, bytes and mtime: what "untouched" means. */
function fingerprint(dir: string): Array<[string, string, number]> {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => join(e.parentPath, e.name))
    .sort()
    .map((p) => [p, readFileSync(p, 'base64'), statSync(p).mtimeMs]);
}

function futureDataDir(): string {
  const dir = tempDataDir('earshot-future-');
  writeFileSync(join(dir, SCHEMA_FILE), JSON.stringify({ schema: DATA_SCHEMA_VERSION + 1, release: '9.0.0', updatedAt: '2030-01-01T00:00:00Z' }));
  writeFileSync(join(dir, 'users.json'), '{"version":2,"people":[]}\n');
  return dir;
}

describe('openDataDir', () => {
  it('records the current schema in a new directory', () => {
    const dir = join(tempDataDir(), 'data');
    expect(openDataDir(dir)).toBeNull();
    expect(readSchemaFile(dir)?.schema).toBe(DATA_SCHEMA_VERSION);
    expect(statSync(dir).mode & 0o777).toBe(0o700);
  });

  it('takes a directory from before versioning (users.json, no schema file) as schema 1 and migrates it', () => {
    const dir = tempDataDir();
    writeFileSync(join(dir, 'users.json'), '{"version":1,"users":{},"tokens":{}}\n');
    expect(openDataDir(dir)).toBeNull();
    expect(readSchemaFile(dir)?.schema).toBe(DATA_SCHEMA_VERSION);
    expect(openDataDir(dir)).toBe(DATA_SCHEMA_VERSION);
  });

  it('refuses a newer schema with a sentence naming both releases, and changes nothing', () => {
    const dir = futureDataDir();
    const before = fingerprint(dir);
    expect(() => openDataDir(dir)).toThrow(DataDirError);
    expect(() => openDataDir(dir)).toThrow(/has schema 3 \(written by Earshot 9\.0\.0\), but this is Earshot .*Nothing was changed/);
    expect(fingerprint(dir)).toEqual(before);
  });

  it('refuses a damaged schema file rather than guessing', () => {
    const dir = tempDataDir();
    writeFileSync(join(dir, SCHEMA_FILE), 'not json');
    expect(() => openDataDir(dir)).toThrow(/is damaged/);
  });
});

describe('the built earshot command on a data dir from a newer release', () => {
  it('`earshot serve` exits non-zero with the sentence, and the data is untouched', async () => {
    const dir = futureDataDir();
    const before = fingerprint(dir);
    const r = await runEarshot(['serve'], { EARSHOT_DATA_DIR: dir, PORT: '0', LOG_LEVEL: 'info' });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`has schema ${DATA_SCHEMA_VERSION + 1} (written by Earshot 9.0.0), but this is Earshot`);
    expect(r.stderr).toContain('Nothing was changed');
    expect(fingerprint(dir)).toEqual(before);
  });

  it('`earshot token create` and `earshot users add` refuse it too', async () => {
    const dir = futureDataDir();
    const before = fingerprint(dir);
    for (const args of [['token', 'create', '--user', 'alice'], ['users', 'add', 'bob']]) {
      const r = await runEarshot(args, { EARSHOT_DATA_DIR: dir });
      expect(r.code).toBe(1);
      expect(r.stderr).toContain('Nothing was changed');
    }
    expect(fingerprint(dir)).toEqual(before);
  });
});
