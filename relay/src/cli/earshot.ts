#!/usr/bin/env node
// `earshot <command>`: the operator's one command (package.json `bin`, built to dist/relay/earshot.js). It
// dispatches to each command's main(argv), answers `--help` for every one of them, and gives every command the
// relay's own config resolution (EARSHOT_CONFIG file overlaid by the environment) and data-dir schema check.
import { parseArgs } from 'node:util';
import { DataDirError } from '../data-dir/schema.ts';
import { RELEASE_VERSION } from '../release.ts';
import { cliConfig, dataDir, fail } from './data-dir.ts';

// Each command's module is loaded when it runs, so `earshot users list` does not load the whole relay.
const serve = async () => (await import('../main.ts')).main();
const doctor = async (argv: string[]) => (await import('./doctor.ts')).main(argv);
const token = async (argv: string[]) => (await import('./token.ts')).main(argv);
const usage = async (argv: string[]) => (await import('./usage.ts')).main(argv);
const users = async (argv: string[]) => (await import('./users.ts')).main(argv);
const admin = async (argv: string[]) => (await import('./admin.ts')).main(argv);
const store = async (argv: string[]) => (await import('./store-migrate.ts')).main(argv);

interface Command {
  summary: string;
  help: string;
  run(argv: string[]): Promise<void>;
}

const CONFIG_NOTE = `Configuration: the same as the relay's — EARSHOT_CONFIG=/path/config.json overlaid by environment variables
(EARSHOT_DATA_DIR, PUBLIC_URL, HOST, PORT, …; see the README's configuration table).`;

function reportError(err: unknown): never {
  if (err instanceof Error && (err.name === 'BackupError' || err.name === 'StoreError' || err instanceof DataDirError)) fail(err.message);
  throw err;
}

const COMMANDS = {
  serve: {
    summary: 'run the relay (drains on SIGTERM)',
    help: `usage: earshot serve

Runs the relay: checks the uWebSockets.js binding, loads the config, opens the data dir (refusing one written by
a newer release), serves the PWA, /v1/realtime, /healthz and /metrics. SIGTERM drains and exits 0.
On the first start with no users it creates "owner" and writes its link to <data dir>/first-run-link.txt.`,
    async run() {
      await serve();
    },
  },
  token: {
    summary: 'create, list or revoke sign-in tokens (onboarding links + QR codes)',
    help: `usage: earshot token create --user NAME [--days 30] [--json]
       earshot token list [--json]
       earshot token revoke <tokenId|userId>

create: a token, its onboarding link (<PUBLIC_URL>/#token=…) and a QR code. Without PUBLIC_URL the link uses the
running relay's real address and says when a phone cannot open it. revoke: live sessions close at once (4001).`,
    async run(argv) {
      dataDir(); // the schema check, before the command reads or writes anything
      await token(argv);
    },
  },
  users: {
    summary: 'add, change, list, disable or enable users and their quotas',
    help: `usage: earshot users add|set <id> [--max-sessions N] [--daily-minutes N|none] [--monthly-minutes N|none]
                               [--daily-tokens N|none] [--monthly-tokens N|none] [--voice V] [--instructions TEXT] [--json]
       earshot users list [--json]
       earshot users disable|enable|remove <id>

A running relay applies changes within a second, without a restart: a lowered limit, a disabled or removed user
end the live sessions no longer allowed. Safe to run many at once (each edit is one database transaction).`,
    async run(argv) {
      dataDir(); // the schema check, before the command reads or writes anything
      await users(argv);
    },
  },
  usage: {
    summary: 'usage per user from the store',
    help: `usage: earshot usage [--user NAME] [--since 2026-11-01] [--until 2026-11-30] [--json]

Sessions, connected time, audio in/out, spoken minutes and tokens per user. Read-only: safe while the relay runs.`,
    async run(argv) {
      dataDir(); // the schema check, before the command reads or writes anything
      await usage(argv);
    },
  },
  admin: {
    summary: 'one-time sign-in links to the operator console (/admin); list or withdraw operators',
    help: `usage: earshot admin link [--user owner] [--minutes 15] [--json]
       earshot admin list
       earshot admin revoke <user>

link: gives the user the admin role and prints a link to <PUBLIC_URL>/admin that signs a browser in to the
console once (then it is spent) and lapses after --minutes. revoke: withdraws the role and ends their sign-ins.`,
    async run(argv) {
      dataDir(); // the schema check, before the command reads or writes anything
      await admin(argv);
    },
  },
  backup: {
    summary: 'write a consistent snapshot of the data dir to a file (safe while the relay runs)',
    help: `usage: earshot backup FILE [--json]

Writes a gzipped tar of the database (earshot.db, copied with SQLite's online backup API), secret.key, the
schema file and the console's admin.json and audit log, with a manifest of SHA-256 sums, while the relay keeps running. The file holds the signing secret: it is created 0600.`,
    async run(argv) {
      const { positionals, values } = parseArgs({ args: argv, allowPositionals: true, options: { json: { type: 'boolean', default: false } } });
      const [file] = positionals;
      if (!file || positionals.length > 1) fail(COMMANDS.backup.help);
      const { createBackup } = await import('../data-dir/backup.ts');
      const summary = await createBackup(cliConfig().dataDir, file).catch(reportError);
      console.log(values.json ? JSON.stringify(summary) : `backup written to ${summary.file}: ${summary.users} users, ${summary.tokens} tokens (${summary.revokedTokens} revoked), ${summary.usageMonths} months of usage, ${summary.files} files, ${summary.bytes} bytes`);
    },
  },
  restore: {
    summary: 'restore a backup into an empty data dir',
    help: `usage: earshot restore FILE [--data-dir DIR] [--json]

Checks the backup (manifest, checksums, schema) and restores it into DIR (default: the configured data dir),
which must be empty or missing. Nothing is written anywhere if a check fails. Then start the relay on DIR.`,
    async run(argv) {
      const { positionals, values } = parseArgs({ args: argv, allowPositionals: true, options: { 'data-dir': { type: 'string' }, json: { type: 'boolean', default: false } } });
      const [file] = positionals;
      if (!file || positionals.length > 1) fail(COMMANDS.restore.help);
      const target = values['data-dir'] ?? cliConfig().dataDir;
      const { restoreBackup } = await import('../data-dir/backup.ts');
      const summary = await restoreBackup(file, target).catch(reportError);
      console.log(values.json ? JSON.stringify({ ...summary, dataDir: target }) : `restored ${summary.file} into ${target}: ${summary.users} users, ${summary.tokens} tokens (${summary.revokedTokens} revoked), ${summary.usageMonths} months of usage`);
    },
  },
  store: {
    summary: 'move this installation from SQLite to PostgreSQL (earshot store migrate --to postgres://…)',
    help: `usage: earshot store migrate --to postgres://user:password@host/db [--json]

Copies <data dir>/earshot.db (users, tokens, usage) into an empty PostgreSQL database in one transaction and
verifies counts and totals on both sides (a difference rolls it back). Stop the relay first; the SQLite file is
left unchanged. Then run every relay and CLI with DATABASE_URL set to that URL (README: "More than one relay").`,
    async run(argv) {
      await store(argv);
    },
  },
  doctor: {
    summary: 'check config, data dir, store, TLS files, uWS binding, PUBLIC_URL and the running relay',
    help: `usage: earshot doctor [--json]

Each check prints ok, warn or fail; the exit code is 1 when any check fails. Run it as the service user with the
service's environment, e.g. sudo -u earshot env $(cat /etc/earshot/env | xargs) earshot doctor.`,
    async run(argv) {
      await doctor(argv);
    },
  },
  version: {
    summary: 'print the release version',
    help: 'usage: earshot version',
    async run() {
      console.log(RELEASE_VERSION);
    },
  },
} satisfies Record<string, Command>;

type CommandName = keyof typeof COMMANDS;

function overview(): string {
  const width = Math.max(...Object.keys(COMMANDS).map((n) => n.length));
  const lines = Object.entries(COMMANDS).map(([name, c]) => `  ${name.padEnd(width)}  ${c.summary}`);
  return `usage: earshot <command> [options]   (earshot <command> --help for its options)\n\n${lines.join('\n')}\n\n${CONFIG_NOTE}`;
}

export async function main(argv: string[]): Promise<void> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    const topic = name === 'help' ? rest[0] : undefined;
    console.log(topic && topic in COMMANDS ? COMMANDS[topic as CommandName].help : overview());
    return;
  }
  if (name === '--version') return console.log(RELEASE_VERSION);
  if (!(name in COMMANDS)) fail(`unknown command "${name}"\n\n${overview()}`);
  const command: Command = COMMANDS[name as CommandName];
  // `--` ends options: a value after it (an --instructions text, say) is not a request for help.
  const options = rest.indexOf('--') === -1 ? rest : rest.slice(0, rest.indexOf('--'));
  if (options.includes('--help') || options.includes('-h')) {
    console.log(`${command.help}\n\n${CONFIG_NOTE}`);
    return;
  }
  try {
    await command.run(rest);
  } catch (err) {
    // An unknown flag or a missing value: a sentence and the command's usage, not a stack trace.
    if ((err as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) fail(`${(err as Error).message}\n\n${command.help}`);
    throw err;
  }
}

// This file is only ever an entry point (the bin, or `npm run earshot|token|users|usage` through tsx).
await main(process.argv.slice(2));
