// The PostgreSQL schema (`DATABASE_URL=postgres://…`), versioned in `earshot_schema`: the same tables and
// meanings as the SQLite file (sqlite-schema.ts), in PostgreSQL's types. The README's "Storage" section
// documents them for operators pointing an SQL tool at the database; keep them in step.
// Times: `*_at` columns are timestamptz, `*_ms` columns epoch milliseconds (bigint), `expires_at` epoch
// seconds (a JWT's `exp`); `day` is the UTC day (date). Usage counters are bigint (bytes of pcm16 at 24 kHz,
// tokens, milliseconds): a busy user's audio bytes pass 2^31 within a day.

/** The version this release writes; a database with a higher one was written by a newer release. */
export const POSTGRES_SCHEMA_VERSION = 2;

/**
 * Advisory lock keys (a constant pair of int4: 0x6561 'ea', then a purpose). MIGRATION_LOCK serialises relays
 * and CLIs starting at once against one empty database; FEED_LOCK serialises every transaction that appends
 * to `changes`, so change ids become visible in id order (see postgres-store.ts, change feed).
 */
export const LOCK_SPACE = 0x6561;
export const MIGRATION_LOCK = 1;
export const FEED_LOCK = 2;
/** Leases take a per-user lock in this space (the second key is hashtext(user_id)). */
export const LEASE_LOCK_SPACE = 0x6562;

/** NOTIFY channel: a transaction that appended to `changes` notifies it (delivered at commit). */
export const CHANGES_CHANNEL = 'earshot_changes';

const COUNTERS = `
  connected_ms        bigint NOT NULL DEFAULT 0,
  input_audio_bytes   bigint NOT NULL DEFAULT 0,
  output_audio_bytes  bigint NOT NULL DEFAULT 0,
  text_input_tokens   bigint NOT NULL DEFAULT 0,
  text_output_tokens  bigint NOT NULL DEFAULT 0,
  audio_input_tokens  bigint NOT NULL DEFAULT 0,
  audio_output_tokens bigint NOT NULL DEFAULT 0`;

/** Migrations by the version they bring the database to; each runs in the migration transaction. */
export const MIGRATIONS: ReadonlyArray<{ version: number; sql: string }> = [
  {
    version: 1,
    sql: `
CREATE TABLE users (
  id              text PRIMARY KEY,
  enabled         boolean NOT NULL DEFAULT true,
  max_sessions    integer NOT NULL DEFAULT 2,
  daily_minutes   integer,
  monthly_minutes integer,
  daily_tokens    bigint,
  monthly_tokens  bigint,
  voice           text,
  instructions    text,
  created_at      timestamptz NOT NULL
);
CREATE TABLE tokens (
  id         text PRIMARY KEY,
  user_id    text NOT NULL,
  created_at timestamptz NOT NULL,
  expires_at bigint NOT NULL,
  revoked_at timestamptz
);
CREATE INDEX tokens_by_user ON tokens (user_id);
CREATE TABLE usage_records (
  id         bigserial PRIMARY KEY,
  at_ms      bigint NOT NULL,
  day        date NOT NULL,
  user_id    text NOT NULL,
  session_id text NOT NULL,
  first      boolean NOT NULL DEFAULT false,
  last       boolean NOT NULL DEFAULT false,${COUNTERS}
);
CREATE INDEX usage_records_by_session ON usage_records (session_id);
CREATE TABLE usage_daily (
  user_id  text NOT NULL,
  day      date NOT NULL,
  sessions bigint NOT NULL DEFAULT 0,${COUNTERS},
  PRIMARY KEY (user_id, day)
);
CREATE INDEX usage_daily_by_day ON usage_daily (day);
CREATE TABLE leases (
  session_id    text PRIMARY KEY,
  user_id       text NOT NULL,
  relay_id      text NOT NULL,
  expires_at_ms bigint NOT NULL
);
CREATE INDEX leases_by_user ON leases (user_id);
CREATE TABLE changes (
  id       bigserial PRIMARY KEY,
  at       timestamptz NOT NULL DEFAULT now(),
  kind     text NOT NULL,
  user_id  text NOT NULL,
  token_id text
);
`,
  },
  {
    // A lease remembers when its seat was taken (a lowered max-sessions closes the newest across the fleet);
    // each relay's position in the change feed, so rows every relay has read can be pruned (store/retention.ts).
    version: 2,
    sql: `
ALTER TABLE leases ADD COLUMN acquired_at_ms bigint NOT NULL DEFAULT 0;
CREATE TABLE feed_readers (
  relay_id   text PRIMARY KEY,
  change_id  bigint NOT NULL,
  seen_at_ms bigint NOT NULL
);
CREATE INDEX changes_by_at ON changes (at);
CREATE INDEX usage_records_by_day ON usage_records (day);
`,
  },
];
