// `<dataDir>/relay-address.json`: where the running relay really listens (the port may be `PORT=0`'s pick or
// differ from the config's default), so `earshot token create` builds links that work when PUBLIC_URL is unset.
// Written by the relay once it listens, removed when it stops; a file left by a killed relay is ignored because
// its pid is gone. Not part of backups: it describes a process, not data.
import { readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export const ADDRESS_FILE = 'relay-address.json';

export interface RelayAddress {
  url: string;
  pid: number;
  startedAt: string;
}

export function writeRelayAddress(dataDir: string, url: string, pid = process.pid): void {
  const path = join(dataDir, ADDRESS_FILE);
  const tmp = `${path}.${pid}.tmp`;
  writeFileSync(tmp, JSON.stringify({ url, pid, startedAt: new Date().toISOString() } satisfies RelayAddress) + '\n', { mode: 0o600 });
  renameSync(tmp, path);
}

/** Removes the file only if it is still this process's (a newer relay may have replaced it). */
export function removeRelayAddress(dataDir: string, pid = process.pid): void {
  if (readRelayAddress(dataDir)?.pid === pid) rmSync(join(dataDir, ADDRESS_FILE), { force: true });
}

export function readRelayAddress(dataDir: string): RelayAddress | null {
  try {
    const value = JSON.parse(readFileSync(join(dataDir, ADDRESS_FILE), 'utf8')) as Partial<RelayAddress>;
    if (typeof value.url !== 'string' || typeof value.pid !== 'number' || typeof value.startedAt !== 'string') return null;
    return value as RelayAddress;
  } catch {
    return null;
  }
}

/** The address of a relay that is running now on this data dir, or null. */
export function readRunningRelayAddress(dataDir: string): RelayAddress | null {
  const address = readRelayAddress(dataDir);
  if (address === null) return null;
  try {
    process.kill(address.pid, 0);
    return address;
  } catch (err) {
    // EPERM: the process exists but belongs to another user (the service user) — it is running.
    return (err as NodeJS.ErrnoException).code === 'EPERM' ? address : null;
  }
}
