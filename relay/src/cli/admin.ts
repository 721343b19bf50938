// `earshot admin link [--user owner] [--minutes 15] [--json]` | `admin list` | `admin revoke <user>`
// A one-time sign-in link to the operator console (/admin), granting the user the admin role. The link is
// spent on first use and lapses after --minutes; only its hash is stored (admin/admin-state.ts).
import { AdminState, LINK_MINUTES } from '../admin/admin-state.ts';
import { adminSignInLink } from '../admin/first-run-admin.ts';
import { validUserId } from '../store/store.ts';
import { dataDir, fail, openStore, orFail, parseArgsOrFail, publicUrl } from './data-dir.ts';
import { startedAsScript } from './started-as-script.ts';

const USAGE = 'usage: earshot admin link [--user owner] [--minutes 15] [--json] | list | revoke <user>';

export async function main(argv: string[]): Promise<void> {
  const { positionals, values } = parseArgsOrFail(
    { args: argv, allowPositionals: true, options: { user: { type: 'string', default: 'owner' }, minutes: { type: 'string', default: String(LINK_MINUTES) }, json: { type: 'boolean', default: false } } },
    USAGE,
  );
  const [command, target] = positionals;
  const state = new AdminState(dataDir());
  switch (command) {
    case 'link': {
      const user = values.user;
      if (!validUserId(user)) fail(`invalid user id "${user}"`);
      const minutes = Number(values.minutes);
      if (!Number.isFinite(minutes) || minutes <= 0 || minutes > 24 * 60) fail('--minutes must be between 0 and 1440');
      const store = await openStore();
      try {
        const existing = await orFail(() => store.getUser(user));
        if (existing?.enabled === false) fail(`user "${user}" is disabled; run \`earshot users enable ${user}\` first`);
        if (!existing) await orFail(() => store.addUser({ id: user }));
      } finally {
        await store.close();
      }
      const { secret, expiresAt } = state.mintLink(user, minutes);
      const link = adminSignInLink(publicUrl(), secret);
      if (values.json) console.log(JSON.stringify({ user, link, expiresAt }));
      else console.log(`Operator console sign-in for ${user} (once, until ${new Date(expiresAt).toISOString()}):\n\n${link}\n`);
      break;
    }
    case 'list':
      console.log(state.admins().join('\n'));
      break;
    case 'revoke': {
      if (!target) fail('usage: earshot admin revoke <user>');
      state.setAdmin(target, false);
      console.log(`${target} is no longer an operator; their console sessions ended`);
      break;
    }
    default:
      fail(USAGE);
  }
}

if (startedAsScript(import.meta.url)) await main(process.argv.slice(2));
