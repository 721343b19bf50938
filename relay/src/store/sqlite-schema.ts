// The SQLite database's schema (`<dataDir>/earshot.db`), versioned with `PRAGMA user_version`. The README's
// "Storage" section documents these tables for operators pointing an SQL tool at the file; keep them in step.
// Times: `*_at` TEXT columns are ISO 8601 UTC, `*_ms` INTEGER columns epoch milliseconds, `expires_at` epoch
// seconds (a JWT's `exp`). Usage counters are integers (bytes of pcm16 at 24 kHz, tokens, milliseconds).
// The `changes` feed is written by TRIGGERS on users and tokens, not by the store's code: an operator's own SQL
// (`DELETE FROM tokens WHERE …` in any SQL tool) reaches the running relay exactly like a CLI's change.

export const SQLITE_FILE = 'earshot.db';

/** The version this release writes; a database with a higher one was written by a newer release. */
export const SQLITE_SCHEMA_VERSION = 2;

/** ISO 8601 UTC with milliseconds, as the `*_at` columns hold. */
const NOW = `strftime('%Y-%m-%dT%H:%M:%fZ', 'now')`;

const COUNTERS = `
  connected_ms        INTEGER NOT NULL DEFAULT 0,
  input_audio_bytes   INTEGER NOT NULL DEFAULT 0,
  output_audio_bytes  INTEGER NOT NULL DEFAULT 0,
  text_input_tokens   INTEGER NOT NULL DEFAULT 0,
  text_output_tokens  INTEGER NOT NULL DEFAULT 0,
  audio_input_tokens  INTEGER NOT NULL DEFAULT 0,
  audio_output_tokens INTEGER NOT NULL DEFAULT 0`;

export const SCHEMA_V1 = `
CREATE TABLE users (
  id              TEXT PRIMARY KEY,
  enabled         INTEGER NOT NULL DEFAULT 1,
  max_sessions    INTEGER NOT NULL DEFAULT 2,
  daily_minutes   INTEGER,
  monthly_minutes INTEGER,
  daily_tokens    INTEGER,
  monthly_tokens  INTEGER,
  voice           TEXT,
  instructions    TEXT,
  created_at      TEXT NOT NULL
);
CREATE TABLE tokens (
  id         TEXT PRIMARY KEY,
  user_id    TEXT NOT NULL,
  created_at TEXT NOT NULL,
  expires_at INTEGER NOT NULL,
  revoked_at TEXT
);
CREATE INDEX tokens_by_user ON tokens (user_id);
CREATE TABLE usage_records (
  id         INTEGER PRIMARY KEY,
  at_ms      INTEGER NOT NULL,
  day        TEXT NOT NULL,
  user_id    TEXT NOT NULL,
  session_id TEXT NOT NULL,
  first      INTEGER NOT NULL DEFAULT 0,
  last       INTEGER NOT NULL DEFAULT 0,${COUNTERS}
);
CREATE INDEX usage_records_by_session ON usage_records (session_id);
CREATE TABLE usage_daily (
  user_id  TEXT NOT NULL,
  day      TEXT NOT NULL,
  sessions INTEGER NOT NULL DEFAULT 0,${COUNTERS},
  PRIMARY KEY (user_id, day)
) WITHOUT ROWID;
CREATE INDEX usage_daily_by_day ON usage_daily (day);
CREATE TABLE leases (
  session_id    TEXT PRIMARY KEY,
  user_id       TEXT NOT NULL,
  relay_id      TEXT NOT NULL,
  expires_at_ms INTEGER NOT NULL
);
CREATE INDEX leases_by_user ON leases (user_id);
CREATE TABLE changes (
  id       INTEGER PRIMARY KEY AUTOINCREMENT,
  at       TEXT NOT NULL,
  kind     TEXT NOT NULL,
  user_id  TEXT NOT NULL,
  token_id TEXT
);
CREATE TRIGGER users_inserted AFTER INSERT ON users BEGIN
  INSERT INTO changes (at, kind, user_id) VALUES (${NOW}, 'user_changed', NEW.id);
END;
CREATE TRIGGER users_updated AFTER UPDATE ON users BEGIN
  INSERT INTO changes (at, kind, user_id) VALUES (${NOW}, 'user_changed', NEW.id);
END;
CREATE TRIGGER users_deleted AFTER DELETE ON users BEGIN
  INSERT INTO changes (at, kind, user_id) VALUES (${NOW}, 'user_removed', OLD.id);
END;
CREATE TRIGGER tokens_inserted AFTER INSERT ON tokens BEGIN
  INSERT INTO changes (at, kind, user_id, token_id) VALUES (${NOW}, 'token_added', NEW.user_id, NEW.id);
END;
CREATE TRIGGER tokens_updated AFTER UPDATE ON tokens BEGIN
  INSERT INTO changes (at, kind, user_id, token_id)
  VALUES (${NOW}, CASE WHEN NEW.revoked_at IS NOT NULL AND OLD.revoked_at IS NULL THEN 'token_revoked' ELSE 'token_added' END, NEW.user_id, NEW.id);
END;
CREATE TRIGGER tokens_deleted AFTER DELETE ON tokens BEGIN
  INSERT INTO changes (at, kind, user_id, token_id) VALUES (${NOW}, 'token_removed', OLD.user_id, OLD.id);
END;
`;

/**
 * Version 2 (retention and fleet-wide seat order): a lease remembers when its seat was taken, so a lowered
 * max-sessions closes the newest seats across every relay; `feed_readers` holds each relay's position in the
 * change feed, so `changes` rows every relay has read can be pruned (store/retention.ts).
 */
export const SCHEMA_V2 = `
ALTER TABLE leases ADD COLUMN acquired_at_ms INTEGER NOT NULL DEFAULT 0;
CREATE TABLE feed_readers (
  relay_id   TEXT PRIMARY KEY,
  change_id  INTEGER NOT NULL,
  seen_at_ms INTEGER NOT NULL
);
CREATE INDEX changes_by_at ON changes (at);
CREATE INDEX usage_records_by_day ON usage_records (day);
`;

/** The statements that bring a database to each version, run in order in one transaction. */
export const SQLITE_MIGRATIONS: ReadonlyArray<{ version: number; sql: string }> = [
  { version: 1, sql: SCHEMA_V1 },
  { version: 2, sql: SCHEMA_V2 },
];
