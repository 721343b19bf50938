// Users and tokens written straight into a data directory, for tests that start a relay *process* (which reads
// them at startup) rather than an in-process relay with its own `mint`.
import { loadOrCreateSecret } from '../auth/secret.ts';
import { SqliteStore } from '../store/sqlite-store.ts';
import type { UserPatch } from '../store/store.ts';
import { issueToken } from '../auth/tokens.ts';

/** Creates (or updates) each user and returns a fresh one-day token per user id. */
export async function mintTokens(dataDir: string, users: Array<string | UserPatch>): Promise<Record<string, string>> {
  const store = await SqliteStore.open(dataDir);
  const secret = await loadOrCreateSecret(dataDir);
  const tokens: Record<string, string> = {};
  try {
    for (const entry of users) {
      const user = typeof entry === 'string' ? { id: entry } : entry;
      await store.upsertUser(user);
      const issued = await issueToken(secret, { userId: user.id, days: 1 });
      await store.addToken({ id: issued.tokenId, userId: user.id, createdAt: new Date().toISOString(), expiresAt: issued.expiresAt });
      tokens[user.id] = issued.token;
    }
  } finally {
    await store.close();
  }
  return tokens;
}
