// The token signing secret: 32 random bytes created on first run in the data dir, readable by the owner only.
import { randomBytes } from 'node:crypto';
import { mkdir, open, readFile } from 'node:fs/promises';
import { join } from 'node:path';

export const SECRET_FILE = 'secret.key';

export async function loadOrCreateSecret(dataDir: string): Promise<Uint8Array> {
  await mkdir(dataDir, { recursive: true, mode: 0o700 });
  const path = join(dataDir, SECRET_FILE);
  try {
    // 'wx' fails if the file exists, so two processes starting at once cannot overwrite each other's secret.
    const handle = await open(path, 'wx', 0o600);
    try {
      await handle.writeFile(randomBytes(32).toString('base64url') + '\n');
      await handle.sync();
    } finally {
      await handle.close();
    }
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  }
  const text = (await readFile(path, 'utf8')).trim();
  const secret = Buffer.from(text, 'base64url');
  if (secret.length < 32) throw new Error(`${path} is damaged (expected 32 bytes of base64url); delete it to rotate the secret`);
  return new Uint8Array(secret);
}
