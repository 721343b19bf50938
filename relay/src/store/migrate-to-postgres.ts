// `earshot store migrate --to postgres://…`: moves an SQLite installation (`<dataDir>/earshot.db`) into an
// empty PostgreSQL database, for an installation growing from one relay to a fleet.
//
// One PostgreSQL transaction copies users, tokens, every usage record and the per-day totals row for row
// (the raw tables, not the report: nothing is re-summed), plus one `user_changed` change per user so relays
// already watching the database reload. Then both sides are counted and summed independently and must agree,
// or the transaction is rolled back. The SQLite file is opened read-only and left as it was: keep it until the
// fleet runs. Leases are not copied (stop the relay first: its live sessions end with it).
import type { SqliteStore } from './sqlite-store.ts';
import type { PostgresStore } from './postgres-store.ts';
import { FEED_LOCK, LOCK_SPACE, CHANGES_CHANNEL } from './postgres-schema.ts';
import { StoreError } from './store.ts';

const COUNTERS = ['connected_ms', 'input_audio_bytes', 'output_audio_bytes', 'text_input_tokens', 'text_output_tokens', 'audio_input_tokens', 'audio_output_tokens'] as const;
/** Rows per INSERT: well under PostgreSQL's 65 535 bind parameters at 13 columns. */
const CHUNK = 2_000;

export interface MigrationSummary {
  users: number;
  tokens: number;
  revokedTokens: number;
  usageRecords: number;
  usageDays: number;
  /** Sums over all usage_daily rows, per counter (and sessions): equal on both sides. */
  totals: Record<(typeof COUNTERS)[number] | 'sessions', number>;
}

type Row = Record<string, string | number | boolean | null>;

function sqliteSummary(source: SqliteStore): MigrationSummary {
  const db = source.database;
  const n = (sql: string): number => (db.prepare(sql).get() as { n: number }).n;
  const sums = db.prepare(`SELECT ${['sessions', ...COUNTERS].map((c) => `COALESCE(SUM(${c}), 0) AS ${c}`).join(', ')} FROM usage_daily`).get() as MigrationSummary['totals'];
  return {
    users: n('SELECT count(*) AS n FROM users'),
    tokens: n('SELECT count(*) AS n FROM tokens'),
    revokedTokens: n('SELECT count(*) AS n FROM tokens WHERE revoked_at IS NOT NULL'),
    usageRecords: n('SELECT count(*) AS n FROM usage_records'),
    usageDays: n('SELECT count(*) AS n FROM usage_daily'),
    totals: sums,
  };
}

function chunks<T>(rows: T[]): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < rows.length; i += CHUNK) out.push(rows.slice(i, i + CHUNK));
  return out;
}

/** Copies `source` into `target` (which must hold no users, tokens or usage) and verifies. StoreError on refusal. */
export async function migrateSqliteToPostgres(source: SqliteStore, target: PostgresStore): Promise<MigrationSummary> {
  const expected = sqliteSummary(source);
  const db = source.database;
  const users = db.prepare('SELECT * FROM users ORDER BY id').all() as Row[];
  const tokens = db.prepare('SELECT * FROM tokens ORDER BY created_at, id').all() as Row[];
  const records = db.prepare('SELECT * FROM usage_records ORDER BY id').all() as Row[];
  const daily = db.prepare('SELECT * FROM usage_daily ORDER BY user_id, day').all() as Row[];
  const sql = target.client;
  let got: MigrationSummary | undefined;
  try {
    await sql.begin(async (tx) => {
      await tx`SELECT pg_advisory_xact_lock(${LOCK_SPACE}::int4, ${FEED_LOCK}::int4)`;
      const [existing] = await tx<Array<{ n: number }>>`SELECT ((SELECT count(*) FROM users) + (SELECT count(*) FROM tokens) + (SELECT count(*) FROM usage_daily))::bigint AS n`;
      if ((existing?.n ?? 0) > 0) {
        throw new StoreError('user_exists', `${target.location} already holds users, tokens or usage; nothing was copied. Migrate into an empty database (createdb), or drop its tables first.`);
      }
      for (const part of chunks(users)) {
        await tx`INSERT INTO users ${tx(part.map((u) => ({ ...u, enabled: u.enabled === 1, created_at: u.created_at })))}`;
      }
      for (const part of chunks(tokens)) await tx`INSERT INTO tokens ${tx(part)}`;
      for (const part of chunks(records)) {
        // The ids are the SQLite ones; the sequence moves past them below.
        await tx`INSERT INTO usage_records ${tx(part.map((r) => ({ ...r, first: r.first === 1, last: r.last === 1 })))}`;
      }
      await tx`SELECT setval(pg_get_serial_sequence('usage_records', 'id'), GREATEST((SELECT MAX(id) FROM usage_records), 1))`;
      for (const part of chunks(daily)) await tx`INSERT INTO usage_daily ${tx(part)}`;
      for (const part of chunks(users)) await tx`INSERT INTO changes ${tx(part.map((u) => ({ kind: 'user_changed', user_id: u.id })))}`;
      await tx`SELECT pg_notify(${CHANGES_CHANNEL}, '')`;

      // Verify inside the transaction: a mismatch rolls everything back.
      const [c] = await tx<Array<Record<string, number>>>`
        SELECT (SELECT count(*) FROM users)::bigint AS users, (SELECT count(*) FROM tokens)::bigint AS tokens,
               (SELECT count(*) FROM tokens WHERE revoked_at IS NOT NULL)::bigint AS revoked,
               (SELECT count(*) FROM usage_records)::bigint AS records, (SELECT count(*) FROM usage_daily)::bigint AS days`;
      const [t] = await tx<Array<MigrationSummary['totals']>>`SELECT ${tx.unsafe(['sessions', ...COUNTERS].map((col) => `COALESCE(SUM(${col}), 0)::bigint AS ${col}`).join(', '))} FROM usage_daily`;
      got = { users: c!.users!, tokens: c!.tokens!, revokedTokens: c!.revoked!, usageRecords: c!.records!, usageDays: c!.days!, totals: t! };
      if (JSON.stringify(got) !== JSON.stringify(expected)) {
        throw new StoreError('damaged', `the copy in ${target.location} does not match ${source.location} (copied ${JSON.stringify(got)}, expected ${JSON.stringify(expected)}); nothing was kept.`);
      }
    });
  } catch (err) {
    if (err instanceof StoreError) throw err;
    const { storeErrorFromPostgres } = await import('./postgres-store.ts');
    throw storeErrorFromPostgres(err, target.location);
  }
  return got!;
}
