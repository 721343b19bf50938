// `earshot store migrate --to postgres://…`: the one-shot move of this installation's SQLite database into an
// empty PostgreSQL database (store/migrate-to-postgres.ts), with the counts and totals both sides agree on.
import { parseArgs } from 'node:util';
import { existsSync } from 'node:fs';
import { isPostgresUrl } from '../store/open-store.ts';
import { PostgresStore } from '../store/postgres-store.ts';
import { SqliteStore, sqlitePath } from '../store/sqlite-store.ts';
import { StoreError } from '../store/store.ts';
import { migrateSqliteToPostgres } from '../store/migrate-to-postgres.ts';
import { dataDir, fail } from './data-dir.ts';

export const STORE_HELP = `usage: earshot store migrate --to postgres://user:password@host/db [--json]

Copies this installation's SQLite database (<data dir>/earshot.db: users, tokens, every usage record and the
per-day totals) into an EMPTY PostgreSQL database in one transaction, then counts and sums both sides; any
difference rolls the copy back. Stop the relay first. The SQLite file is only read and stays where it is.
Afterwards start every relay (and run every CLI) with DATABASE_URL set to the same URL.`;

export async function main(argv: string[]): Promise<void> {
  const { positionals, values } = parseArgs({ args: argv, allowPositionals: true, options: { to: { type: 'string' }, json: { type: 'boolean', default: false } } });
  if (positionals[0] !== 'migrate' || positionals.length > 1 || !values.to) fail(STORE_HELP);
  if (!isPostgresUrl(values.to)) fail(`--to must be a postgres:// (or postgresql://) URL\n\n${STORE_HELP}`);
  const dir = dataDir();
  if (!existsSync(sqlitePath(dir))) fail(`${sqlitePath(dir)} does not exist: there is no SQLite installation in ${dir} to migrate (set EARSHOT_DATA_DIR).`);
  let source: SqliteStore | undefined;
  let target: PostgresStore | undefined;
  try {
    source = await SqliteStore.open(dir, { readonly: true });
    target = await PostgresStore.open(values.to, { maxConnections: 1 });
    const summary = await migrateSqliteToPostgres(source, target);
    if (values.json) console.log(JSON.stringify({ from: source.location, to: target.location, ...summary }));
    else {
      const t = summary.totals;
      console.log(
        `copied ${source.location} to ${target.location} and verified: ${summary.users} users, ${summary.tokens} tokens (${summary.revokedTokens} revoked), ` +
          `${summary.usageRecords} usage records over ${summary.usageDays} user-days (${t.sessions} sessions, ${t.input_audio_bytes + t.output_audio_bytes} audio bytes, ` +
          `${t.text_input_tokens + t.text_output_tokens + t.audio_input_tokens + t.audio_output_tokens} tokens).\n` +
          `Now start every relay and CLI with DATABASE_URL=${target.location} (the SQLite file is unchanged; keep it until the fleet runs).`,
      );
    }
  } catch (err) {
    if (err instanceof StoreError) fail(err.message);
    throw err;
  } finally {
    await source?.close();
    await target?.close();
  }
}
