// The token signing secret: 32 random bytes created on first run in the data dir, readable by the owner only.
import { randomBytes } from 'node:crypto';
import { link, mkdir, open, readFile, unlink } from 'node:fs/promises';
import { join } from 'node:path';

export const SECRET_FILE = 'secret.key';

export async function loadOrCreateSecret(dataDir: string): Promise<Uint8Array> {
  await mkdir(dataDir, { recursive: true, mode: 0o700 });
  const path = join(dataDir, SECRET_FILE);
  try {
    // Written whole to a private temp file, then hard-linked into place: link() fails with EEXIST if the secret
    // exists, so two processes starting at once (eight `token create` runs on a fresh data dir) agree on one
    // secret, and no reader ever sees the file before its bytes are in it (an O_EXCL create then write would).
    const tmp = `${path}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
    const handle = await open(tmp, 'wx', 0o600);
    try {
      await handle.writeFile(randomBytes(32).toString('base64url') + '\n');
      await handle.sync();
    } finally {
      await handle.close();
    }
    try {
      await link(tmp, path);
    } finally {
      await unlink(tmp);
    }
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  }
  const text = (await readFile(path, 'utf8')).trim();
  const secret = Buffer.from(text, 'base64url');
  if (secret.length < 32) throw new Error(`${path} is damaged (expected 32 bytes of base64url); delete it to rotate the secret`);
  return new Uint8Array(secret);
}
