// Accounting cost, measured: per-frame metering (the hot path), and the store on the hot path — what one
// usage batch (one transaction per tick, one record per live session) costs to commit, as commit latency and
// as the per-session write rate the store sustains. Run: `npm run bench:accounts`. Numbers only; nothing here
// asserts. Each backend the build has is measured the same way (SQLite here; the PostgreSQL store adds its row).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SessionMeter, zeroCounters } from '../relay/src/accounts/meter.ts';
import { SqliteStore } from '../relay/src/store/sqlite-store.ts';
import type { Store, UsageRecord } from '../relay/src/store/store.ts';

function nsPerOp(fn: () => unknown, n = 200_000): number {
  for (let i = 0; i < n / 10; i++) fn();
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < n; i++) fn();
  return Number(process.hrtime.bigint() - t0) / n;
}

const append = new TextEncoder().encode(JSON.stringify({ type: 'input_audio_buffer.append', event_id: 'evt_123456', audio: Buffer.alloc(960, 3).toString('base64') }));
const delta = JSON.stringify({ type: 'response.output_audio.delta', event_id: 'event_1', response_id: 'resp_1', item_id: 'item_1', output_index: 0, content_index: 0, delta: Buffer.alloc(9600, 3).toString('base64') });
const meter = new SessionMeter(0);

console.log(`meter: 20 ms append (1.3 KB bytes)         ${nsPerOp(() => meter.onClientFrame('input_audio_buffer.append', append)).toFixed(0)} ns`);
console.log(`meter: 200 ms output delta (12.8 KB string) ${nsPerOp(() => meter.onServerFrame('response.output_audio.delta', delta)).toFixed(0)} ns`);
console.log(`meter: other event types                   ${nsPerOp(() => meter.onClientFrame('session.update', append)).toFixed(0)} ns`);
console.log(`compare: JSON.parse of the same append     ${nsPerOp(() => JSON.parse(Buffer.from(append).toString())).toFixed(0)} ns`);

const record = (i: number, t: number): UsageRecord => ({
  at: t,
  userId: `user${i % 10}`,
  sessionId: `b7c1d3a0-1111-2222-3333-${String(i).padStart(12, '0')}`,
  first: false,
  end: false,
  counters: { ...zeroCounters(), connectedMs: 500, inputAudioBytes: 24_000, outputAudioBytes: 9_600 },
});

const pct = (sorted: number[], p: number): number => sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))]!;

/** `batches` commits of one record per live session, as the 500 ms tick writes them; then the quota read-back. */
async function measure(label: string, store: Store, sessions: number, batches = 60): Promise<void> {
  const commit: number[] = [];
  const readBack: number[] = [];
  const users = Array.from({ length: Math.min(sessions, 10) }, (_, i) => `user${i}`);
  const t0 = performance.now();
  for (let k = 0; k < batches; k++) {
    const batch = Array.from({ length: sessions }, (_, i) => record(i, Date.now()));
    const c0 = performance.now();
    await store.appendUsage(batch);
    commit.push(performance.now() - c0);
    const r0 = performance.now();
    await store.quotaTotals(users, Date.now());
    readBack.push(performance.now() - r0);
  }
  const elapsed = (performance.now() - t0) / 1000;
  commit.sort((a, b) => a - b);
  readBack.sort((a, b) => a - b);
  const writesPerSecond = (sessions * batches) / (commit.reduce((a, b) => a + b, 0) / 1000);
  // The relay writes 2 records per live session per second (one per 500 ms tick): how many sessions that rate carries.
  console.log(
    `${label}: ${String(sessions).padStart(4)} sessions/batch  commit p50 ${pct(commit, 0.5).toFixed(2)} ms  p99 ${pct(commit, 0.99).toFixed(2)} ms  ` +
      `quota read-back p50 ${pct(readBack, 0.5).toFixed(2)} ms  ${writesPerSecond.toFixed(0)} session-records/s while committing (= ${(writesPerSecond / 2).toFixed(0)} live sessions at 2 writes/s each)  [${elapsed.toFixed(1)} s]`,
  );
}

const dir = mkdtempSync(join(tmpdir(), 'earshot-bench-accounts-'));
try {
  const store = await SqliteStore.open(dir);
  for (const n of [1, 10, 100, 1000]) await measure('sqlite', store, n);
  await store.close();
} finally {
  rmSync(dir, { recursive: true, force: true });
}

// The store (SQLite and PostgreSQL) on the hot path: batch commits, quota reads, leases.
await (await import('./accounts-store.ts')).benchStores();
