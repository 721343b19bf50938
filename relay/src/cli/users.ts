// `npm run users -- add|set <id> [--max-sessions N] [--daily-minutes N|none] [--monthly-minutes N|none]
//   [--voice V] [--instructions TEXT]` | `list [--json]` | `disable <id>` | `enable <id>`
// Changes apply to a running relay without a restart (it watches users.json).
import { UserStore, validUserId, type UserRecord } from '../auth/store.ts';
import { dataDir, fail, parseArgsOrFail } from './data-dir.ts';
import { startedAsScript } from './started-as-script.ts';

const USAGE = 'usage: npm run users -- add|set <id> [--max-sessions N] [--daily-minutes N|none] [--monthly-minutes N|none] [--voice V] [--instructions TEXT] | list [--json] | disable|enable <id>';

export async function main(argv: string[]): Promise<void> {
  const { positionals, values } = parseArgsOrFail(
    {
      args: argv,
      allowPositionals: true,
      options: {
        'max-sessions': { type: 'string' },
        'daily-minutes': { type: 'string' },
        'monthly-minutes': { type: 'string' },
        voice: { type: 'string' },
        instructions: { type: 'string' },
        json: { type: 'boolean', default: false },
      },
    },
    USAGE,
  );
  const [command, id] = positionals;
  const store = await UserStore.open(dataDir());

  function minutes(value: string | undefined, name: string): number | null | undefined {
    if (value === undefined) return undefined;
    if (value === 'none') return null;
    const n = Number(value);
    if (!Number.isFinite(n) || n < 0) fail(`--${name} must be a number of minutes or "none"`);
    return n;
  }

  function patch(): Partial<UserRecord> {
    const p: Partial<UserRecord> = {};
    if (values['max-sessions'] !== undefined) {
      const n = Number(values['max-sessions']);
      if (!Number.isInteger(n) || n < 0 || n > 1000) fail('--max-sessions must be an integer 0-1000');
      p.maxSessions = n;
    }
    const daily = minutes(values['daily-minutes'], 'daily-minutes');
    if (daily !== undefined) p.dailyMinutes = daily;
    const monthly = minutes(values['monthly-minutes'], 'monthly-minutes');
    if (monthly !== undefined) p.monthlyMinutes = monthly;
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
      if (store.getUser(userId)) fail(`user "${userId}" exists; use \`users set\``);
      const user = store.upsertUser({ id: userId, ...patch() });
      console.log(values.json ? JSON.stringify(user) : `added ${user.id}`);
      break;
    }
    case 'set': {
      const userId = need();
      if (!store.getUser(userId)) fail(`no such user "${userId}"; use \`users add\``);
      const user = store.upsertUser({ id: userId, ...patch() });
      console.log(values.json ? JSON.stringify(user) : `updated ${user.id}`);
      break;
    }
    case 'disable':
    case 'enable': {
      const userId = need();
      try {
        store.setEnabled(userId, command === 'enable');
      } catch (err) {
        fail((err as Error).message);
      }
      console.log(`${command}d ${userId}`);
      break;
    }
    case 'list': {
      const users = store.listUsers();
      if (values.json) {
        console.log(JSON.stringify(users));
        break;
      }
      const show = (n: number | null) => (n === null ? '-' : String(n));
      console.log(['USER'.padEnd(16), 'STATE'.padEnd(9), 'SESSIONS', 'DAY MIN', 'MONTH MIN', 'VOICE'].join(' '));
      for (const u of users) {
        console.log([u.id.padEnd(16), (u.enabled ? 'enabled' : 'disabled').padEnd(9), String(u.maxSessions).padEnd(8), show(u.dailyMinutes).padEnd(7), show(u.monthlyMinutes).padEnd(9), u.voice ?? '-'].join(' '));
      }
      break;
    }
    default:
      fail(USAGE);
  }
}

if (startedAsScript(import.meta.url)) await main(process.argv.slice(2));
