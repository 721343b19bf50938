// First start with an empty data dir: create an `owner` user and write an onboarding link to a 0600 file in
// the data dir (the link holds a token, so it never goes to the logs), so `npm start` alone gives a usable app.
// The owner's token lasts a year (FIRST_TOKEN_DAYS) rather than the 30 days of `token create`, so the one person
// who set the server up is not locked out without warning; `earshot doctor` warns when it nears its end and
// `earshot token create --user owner` mints a fresh link at any time.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Store } from '../store/store.ts';
import { issueToken } from '../auth/tokens.ts';
import { log } from '../log.ts';
import { onboardingLink } from './data-dir.ts';
import type { LinkBase } from './link-base.ts';

export const FIRST_RUN_FILE = 'first-run-link.txt';
export const FIRST_TOKEN_DAYS = 365;

export async function ensureFirstUser(store: Store, dataDir: string, secret: Uint8Array, base: LinkBase): Promise<void> {
  if ((await store.listUsers()).length > 0) return;
  const issued = await issueToken(secret, { userId: 'owner', days: FIRST_TOKEN_DAYS });
  await store.addToken({ id: issued.tokenId, userId: 'owner', createdAt: new Date().toISOString(), expiresAt: issued.expiresAt });
  const path = join(dataDir, FIRST_RUN_FILE);
  writeFileSync(path, onboardingLink(base.url, issued.token) + '\n', { mode: 0o600 });
  const expires = new Date(issued.expiresAt * 1000).toISOString().slice(0, 10);
  if (base.warning) {
    log.warn({ file: path, expires }, `first run: created user "owner"; open the link in this file in a browser on this machine. To use a phone: ${base.warning}, then run \`earshot token create --user owner\``);
  } else {
    log.info({ file: path, expires }, 'first run: created user "owner"; open the link in this file on your phone (`earshot token create --user NAME` makes more)');
  }
}
