// First start with an empty data dir: create an `owner` user and write an onboarding link to a 0600 file in
// the data dir (the link holds a token, so it never goes to the logs), so `npm start` alone gives a usable app.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { UserStore } from '../auth/store.ts';
import { issueToken } from '../auth/tokens.ts';
import { log } from '../log.ts';
import { onboardingLink } from './data-dir.ts';

export const FIRST_RUN_FILE = 'first-run-link.txt';

export async function ensureFirstUser(store: UserStore, secret: Uint8Array, baseUrl: string): Promise<void> {
  if (store.listUsers().length > 0) return;
  const issued = await issueToken(secret, { userId: 'owner', days: 30 });
  store.addToken({ id: issued.tokenId, userId: 'owner', createdAt: new Date().toISOString(), expiresAt: issued.expiresAt });
  const path = join(store.path, '..', FIRST_RUN_FILE);
  writeFileSync(path, onboardingLink(baseUrl, issued.token) + '\n', { mode: 0o600 });
  log.info({ file: path }, 'first run: created user "owner"; open the link in this file on your phone (or run `npm run token -- create --user NAME`)');
}
