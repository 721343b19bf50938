// The store's cost on the relay's hot path, SQLite and PostgreSQL side by side (part of `npm run bench:accounts`;
// alone: `node --import tsx bench/accounts-store.ts`). Numbers only; nothing here asserts.
//
// What the relay does per batch window (500 ms, accounts/accounting.ts): ONE appendUsage transaction with one
// record per live session, then one quotaTotals read for the users with live sessions; per upgrade one
// acquireLease; per heartbeat (3 s) one renewLeases for all of a relay's sessions. Measured here with 50 and 200
// live sessions: commit latency of a batch (median / p99 / max), the records a second the store can take when
// batches are written back to back (= how many sessions one relay could meter at 2 records/s), and the lease
// round trip. PostgreSQL runs durable (fsync, synchronous_commit on) on this machine, over loopback TCP.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { zeroCounters } from '../relay/src/accounts/meter.ts';
import { PostgresStore } from '../relay/src/store/postgres-store.ts';
import { SqliteStore } from '../relay/src/store/sqlite-store.ts';
import type { Store, UsageRecord } from '../relay/src/store/store.ts';
import { startPostgres } from '../relay/src/testing/postgres-server.ts';

const BATCHES = 60;

function pct(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))]!;
}

function batch(sessions: number, t: number): UsageRecord[] {
  return Array.from({ length: sessions }, (_, i) => ({
    at: t,
    userId: `user${i % 25}`,
    sessionId: `session-${i}`,
    first: false,
    end: false,
    counters: { ...zeroCounters(), connectedMs: 500, inputAudioBytes: 24_000, outputAudioBytes: 9_600, audioOutputTokens: 3 },
  }));
}

async function measure(label: string, store: Store): Promise<void> {
  for (const sessions of [50, 200]) {
    const users = Array.from({ length: Math.min(sessions, 25) }, (_, i) => `user${i}`);
    const commit: number[] = [];
    const tick: number[] = [];
    const t0 = performance.now();
    for (let k = 0; k < BATCHES; k++) {
      const records = batch(sessions, Date.now());
      const a = performance.now();
      await store.appendUsage(records);
      const b = performance.now();
      await store.quotaTotals(users, Date.now());
      commit.push(b - a);
      tick.push(performance.now() - a);
    }
    const elapsedS = (performance.now() - t0) / 1000;
    commit.sort((x, y) => x - y);
    tick.sort((x, y) => x - y);
    const recordsPerS = (BATCHES * sessions) / elapsedS;
    console.log(
      `${label}: ${String(sessions).padStart(3)} sessions/batch: commit median ${pct(commit, 0.5).toFixed(2)} ms, p99 ${pct(commit, 0.99).toFixed(2)} ms, max ${commit.at(-1)!.toFixed(2)} ms; ` +
        `commit + quota read median ${pct(tick, 0.5).toFixed(2)} ms; back to back ${recordsPerS.toFixed(0)} records/s (= ${(recordsPerS / 2).toFixed(0)} sessions at 2 writes/s each)`,
    );
  }
  const lease: number[] = [];
  for (let i = 0; i < 200; i++) {
    const a = performance.now();
    await store.acquireLease({ sessionId: `lease-${i}`, userId: `user${i % 25}`, relayId: 'bench', maxSessions: 1_000, ttlMs: 10_000, now: Date.now() });
    lease.push(performance.now() - a);
  }
  lease.sort((x, y) => x - y);
  const ids = Array.from({ length: 200 }, (_, i) => `lease-${i}`);
  const r0 = performance.now();
  await store.renewLeases('bench', ids, Date.now(), 10_000);
  console.log(`${label}: acquireLease median ${pct(lease, 0.5).toFixed(2)} ms, p99 ${pct(lease, 0.99).toFixed(2)} ms; renewLeases of 200 sessions ${(performance.now() - r0).toFixed(2)} ms`);
  // Retention: every raw record written above is past its kept days a year from now (batches of 5 000 rows).
  const p0 = performance.now();
  const pruned = await store.prune({ now: Date.now() + 365 * 86_400_000, usageRecordDays: 90, changesGraceMs: 600_000, changesMaxAgeMs: 7 * 86_400_000, readerTtlMs: 3_600_000 });
  const pruneS = (performance.now() - p0) / 1000;
  console.log(`${label}: prune ${pruned.usageRecords} usage records in ${(pruneS * 1000).toFixed(0)} ms (${(pruned.usageRecords / pruneS).toFixed(0)} rows/s, off the frame path)`);
}

export async function benchStores(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'earshot-bench-store-'));
  const sqlite = await SqliteStore.open(dir);
  try {
    await measure('store sqlite  ', sqlite);
  } finally {
    await sqlite.close();
    rmSync(dir, { recursive: true, force: true });
  }
  const server = await startPostgres({ durable: true });
  try {
    const pg = await PostgresStore.open(await server.createDatabase('bench'));
    try {
      await measure('store postgres', pg);
    } finally {
      await pg.close();
    }
  } finally {
    await server.stop();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) await benchStores();
