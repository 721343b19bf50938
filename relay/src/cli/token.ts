// `npm run token -- create --user alice [--days 30] [--json]` | `list [--json]` | `revoke <tokenId|userId>`
import qrcode from 'qrcode-terminal';
import { loadOrCreateSecret } from '../auth/secret.ts';
import { validUserId } from '../store/store.ts';
import { issueToken } from '../auth/tokens.ts';
import { dataDir, fail, onboardingLink, openStore, orFail, parseArgsOrFail, publicUrl } from './data-dir.ts';
import { startedAsScript } from './started-as-script.ts';

const USAGE = 'usage: npm run token -- create --user NAME [--days 30] [--json] | list [--json] | revoke <tokenId|userId>';

export async function main(argv: string[]): Promise<void> {
  const { positionals, values } = parseArgsOrFail(
    {
      args: argv,
      allowPositionals: true,
      options: { user: { type: 'string' }, days: { type: 'string', default: '30' }, json: { type: 'boolean', default: false } },
    },
    USAGE,
  );
  const [command, target] = positionals;
  const store = await openStore();

  switch (command) {
    case 'create': {
      const user = values.user ?? fail('--user NAME is required');
      if (!validUserId(user)) fail(`invalid user id "${user}": use 1-64 letters, digits, _ . @ -`);
      const days = Number(values.days);
      if (!Number.isFinite(days) || days <= 0 || days > 3650) fail('--days must be a number of days between 0 and 3650');
      if ((await orFail(() => store.getUser(user)))?.enabled === false) fail(`user "${user}" is disabled; run \`npm run users -- enable ${user}\` first`);
      const secret = await loadOrCreateSecret(dataDir());
      const issued = await issueToken(secret, { userId: user, days });
      await orFail(() => store.addToken({ id: issued.tokenId, userId: user, createdAt: new Date().toISOString(), expiresAt: issued.expiresAt }));
      const link = onboardingLink(publicUrl(), issued.token);
      if (values.json) {
        console.log(JSON.stringify({ user, tokenId: issued.tokenId, expiresAt: issued.expiresAt, token: issued.token, link }));
      } else {
        console.log(`Token for ${user} (id ${issued.tokenId}, expires ${new Date(issued.expiresAt * 1000).toISOString()}):\n\n${issued.token}\n`);
        console.log(`Onboarding link — open it on the phone:\n\n${link}\n`);
        qrcode.generate(link, { small: true }, (qr) => console.log(qr));
      }
      break;
    }
    case 'list': {
      const tokens = await orFail(() => store.listTokens());
      if (values.json) {
        console.log(JSON.stringify(tokens));
        break;
      }
      console.log(['TOKEN ID'.padEnd(38), 'USER'.padEnd(16), 'EXPIRES'.padEnd(22), 'STATE'].join(' '));
      const now = Date.now() / 1000;
      for (const t of tokens) {
        const state = t.revokedAt ? `revoked ${t.revokedAt.slice(0, 10)}` : t.expiresAt < now ? 'expired' : 'active';
        console.log([t.id.padEnd(38), t.userId.padEnd(16), new Date(t.expiresAt * 1000).toISOString().slice(0, 19).padEnd(22), state].join(' '));
      }
      break;
    }
    case 'revoke': {
      if (!target) fail('usage: token revoke <tokenId|userId>');
      const revoked = await orFail(() => store.revoke(target));
      if (revoked.length === 0) fail(`no active token or user matches "${target}"`);
      console.log(values.json ? JSON.stringify({ revoked }) : `revoked ${revoked.length} token(s): ${revoked.join(', ')}`);
      break;
    }
    default:
      fail(USAGE);
  }
  await store.close();
}

if (startedAsScript(import.meta.url)) await main(process.argv.slice(2));
