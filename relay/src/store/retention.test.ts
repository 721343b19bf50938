// Retention on a real SQLite file, its clock injected: a run reports this relay's feed position and prunes what
// the configured policy no longer keeps; a store that fails is logged and retried, never thrown into the relay.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { zeroCounters } from '../accounts/meter.ts';
import { log } from '../log.ts';
import { startRetention } from './retention.ts';
import { SqliteStore, sqlitePath } from './sqlite-store.ts';
import { DAY_MS } from './store.ts';

const T0 = Date.parse('2026-11-14T10:00:00Z');
const dirs: string[] = [];
afterEach(async () => {
  for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
});

async function freshStore(): Promise<{ store: SqliteStore; dir: string }> {
  const dir = await mkdtemp(join(tmpdir(), 'earshot-retention-'));
  dirs.push(dir);
  return { store: await SqliteStore.open(dir), dir };
}

describe('retention', () => {
  it('reports the relay\'s feed position at start and prunes raw usage records past the kept days; per-day totals stay', async () => {
    const { store, dir } = await freshStore();
    const record = (at: number) => ({ at, userId: 'alice', sessionId: `s${at}`, first: true, end: true, counters: { ...zeroCounters(), inputAudioBytes: 1_000 } });
    await store.appendUsage([record(T0 - 40 * DAY_MS), record(T0 - 5 * DAY_MS), record(T0)]);
    const retention = startRetention({ store, relayId: 'relay-1', position: () => 42, log, usageRecordDays: 30, changesMaxAgeDays: 7, now: () => T0 });
    expect(await retention.run()).toMatchObject({ usageRecords: 1 });
    retention.stop();
    const db = new Database(sqlitePath(dir), { readonly: true });
    expect(db.prepare('SELECT relay_id, change_id, seen_at_ms FROM feed_readers').all()).toEqual([{ relay_id: 'relay-1', change_id: 42, seen_at_ms: T0 }]);
    expect(db.prepare('SELECT count(*) AS n FROM usage_records').get()).toEqual({ n: 2 });
    expect(db.prepare('SELECT sum(input_audio_bytes) AS b, sum(sessions) AS s FROM usage_daily').get()).toEqual({ b: 3_000, s: 3 });
    db.close();
    await store.close();
  });

  it('a store that cannot be written is logged and retried next run; run() never rejects', async () => {
    const { store } = await freshStore();
    await store.close();
    const retention = startRetention({ store, relayId: 'relay-1', position: () => 0, log, usageRecordDays: 30, changesMaxAgeDays: 7 });
    await expect(retention.run()).resolves.toBeNull();
    retention.stop();
  });
});
