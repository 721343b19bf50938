// First start with no operator yet: give `owner` the admin role and write a one-time console sign-in link to a
// 0600 file in the data dir (the link is a secret, so never the log), beside first-run-link.txt.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { SIGNIN_FRAGMENT } from '../../../protocol/admin-api.ts';
import type { Logger } from '../log.ts';
import { AdminState, FIRST_RUN_LINK_MINUTES } from './admin-state.ts';

export const FIRST_RUN_ADMIN_FILE = 'first-run-admin-link.txt';

export function adminSignInLink(base: string, secret: string): string {
  return `${base.replace(/\/+$/, '')}/admin/#${SIGNIN_FRAGMENT}=${secret}`;
}

export function ensureFirstAdmin(dataDir: string, base: string, log: Logger, user = 'owner'): void {
  const state = new AdminState(dataDir);
  if (state.hasAnyAdmin()) return;
  const { secret, expiresAt } = state.mintLink(user, FIRST_RUN_LINK_MINUTES);
  const path = join(dataDir, FIRST_RUN_ADMIN_FILE);
  writeFileSync(path, adminSignInLink(base, secret) + '\n', { mode: 0o600 });
  log.info({ file: path, expires: new Date(expiresAt).toISOString() }, `first run: "${user}" is the operator; open the link in this file once to sign in to the console at /admin (\`earshot admin link\` makes a fresh one)`);
}
