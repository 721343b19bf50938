// Users and tokens written straight into a data directory, for tests that start a relay *process* (which reads
// them at startup) rather than an in-process relay with its own `mint`.
import { loadOrCreateSecret } from '../auth/secret.ts';
import { UserStore, type UserRecord } from '../auth/store.ts';
import { issueToken } from '../auth/tokens.ts';

/** Creates (or updates) each user and returns a fresh one-day token per user id. */
export async function mintTokens(dataDir: string, users: Array<string | (Partial<UserRecord> & { id: string })>): Promise<Record<string, string>> {
  const store = await UserStore.open(dataDir);
  const secret = await loadOrCreateSecret(dataDir);
  const tokens: Record<string, string> = {};
  try {
    for (const entry of users) {
      const user = typeof entry === 'string' ? { id: entry } : entry;
      store.upsertUser(user);
      const issued = await issueToken(secret, { userId: user.id, days: 1 });
      store.addToken({ id: issued.tokenId, userId: user.id, createdAt: new Date().toISOString(), expiresAt: issued.expiresAt });
      tokens[user.id] = issued.token;
    }
  } finally {
    store.close();
  }
  return tokens;
}
