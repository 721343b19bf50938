// `npm run users -- add|set <id> [--max-sessions N] [--daily-minutes N|none] [--monthly-minutes N|none]
//   [--daily-tokens N|none] [--monthly-tokens N|none] [--voice V] [--instructions TEXT]` | `list [--json]` |
//   `disable <id>` | `enable <id>` | `remove <id>`
// Changes apply to a running relay without a restart (it follows the store's change feed): a lowered limit or
// max-sessions, a disabled or removed user end the live sessions it no longer allows.
import { validUserId, type UserPatch } from '../store/store.ts';
import { fail, openStore, orFail, parseArgsOrFail } from './data-dir.ts';
import { startedAsScript } from './started-as-script.ts';

const USAGE =
  'usage: npm run users -- add|set <id> [--max-sessions N] [--daily-minutes N|none] [--monthly-minutes N|none] [--daily-tokens N|none] [--monthly-tokens N|none] [--voice V] [--instructions TEXT] | list [--json] | disable|enable|remove <id>';

export async function main(argv: string[]): Promise<void> {
  const { positionals, values } = parseArgsOrFail(
    {
      args: argv,
      allowPositionals: true,
      options: {
        'max-sessions': { type: 'string' },
        'daily-minutes': { type: 'string' },
        'monthly-minutes': { type: 'string' },
        'daily-tokens': { type: 'string' },
        'monthly-tokens': { type: 'string' },
        voice: { type: 'string' },
        instructions: { type: 'string' },
        json: { type: 'boolean', default: false },
      },
    },
    USAGE,
  );
  const [command, id] = positionals;
  const store = await openStore();

  /** A limit flag: a non-negative number (whole, for tokens), "none" for unlimited, or absent. */
  function limit(name: 'daily-minutes' | 'monthly-minutes' | 'daily-tokens' | 'monthly-tokens'): number | null | undefined {
    const value = values[name];
    if (value === undefined) return undefined;
    if (value === 'none') return null;
    const n = Number(value);
    const tokens = name.endsWith('tokens');
    if (value.trim() === '' || !Number.isFinite(n) || n < 0 || (tokens && !Number.isInteger(n))) {
      fail(`--${name} must be ${tokens ? 'a whole number of tokens' : 'a number of minutes'} or "none"`);
    }
    return n;
  }

  function patch(): Omit<UserPatch, 'id'> {
    const p: Omit<UserPatch, 'id'> = {};
    if (values['max-sessions'] !== undefined) {
      const n = Number(values['max-sessions']);
      if (!Number.isInteger(n) || n < 0 || n > 1000) fail('--max-sessions must be an integer 0-1000');
      p.maxSessions = n;
    }
    const limits = { dailyMinutes: limit('daily-minutes'), monthlyMinutes: limit('monthly-minutes'), dailyTokens: limit('daily-tokens'), monthlyTokens: limit('monthly-tokens') };
    for (const [key, value] of Object.entries(limits) as Array<[keyof typeof limits, number | null | undefined]>) {
      if (value !== undefined) p[key] = value;
    }
    if (values.voice !== undefined) p.voice = values.voice;
    if (values.instructions !== undefined) p.instructions = values.instructions;
    return p;
  }

  const need = (): string => {
    if (!id) fail(`usage: users ${command} <id>`);
    if (!validUserId(id)) fail(`invalid user id "${id}"`);
    return id;
  };

  switch (command) {
    case 'add': {
      const userId = need();
      // The "exists" check is in the store's write transaction, so two parallel adds of one id cannot both succeed.
      const user = await orFail(() => store.addUser({ id: userId, ...patch() }));
      console.log(values.json ? JSON.stringify(user) : `added ${user.id}`);
      break;
    }
    case 'set': {
      const userId = need();
      const user = await orFail(() => store.updateUser({ id: userId, ...patch() }));
      console.log(values.json ? JSON.stringify(user) : `updated ${user.id}`);
      break;
    }
    case 'disable':
    case 'enable': {
      const userId = need();
      await orFail(() => store.updateUser({ id: userId, enabled: command === 'enable' }));
      console.log(`${command}d ${userId}`);
      break;
    }
    case 'remove': {
      const userId = need();
      const tokens = await orFail(() => store.removeUser(userId));
      console.log(values.json ? JSON.stringify({ removed: userId, tokens }) : `removed ${userId} and ${tokens.length} token(s)`);
      break;
    }
    case 'list': {
      const users = await orFail(() => store.listUsers());
      if (values.json) {
        console.log(JSON.stringify(users));
        break;
      }
      const show = (n: number | null) => (n === null ? '-' : String(n));
      console.log(['USER'.padEnd(16), 'STATE'.padEnd(9), 'SESSIONS', 'DAY MIN', 'MONTH MIN', 'DAY TOK'.padEnd(9), 'MONTH TOK'.padEnd(10), 'VOICE'].join(' '));
      for (const u of users) {
        console.log(
          [
            u.id.padEnd(16),
            (u.enabled ? 'enabled' : 'disabled').padEnd(9),
            String(u.maxSessions).padEnd(8),
            show(u.dailyMinutes).padEnd(7),
            show(u.monthlyMinutes).padEnd(9),
            show(u.dailyTokens).padEnd(9),
            show(u.monthlyTokens).padEnd(10),
            u.voice ?? '-',
          ].join(' '),
        );
      }
      break;
    }
    default:
      fail(USAGE);
  }
  await store.close();
}

if (startedAsScript(import.meta.url)) await main(process.argv.slice(2));
