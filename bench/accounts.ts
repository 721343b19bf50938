// Accounting cost, measured: per-frame metering (the hot path), per-record encoding, one group commit, and
// the startup rebuild. Run: `node --import tsx bench/accounts.ts`. Numbers only; nothing here asserts.
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { createAccounting } from '../relay/src/accounts/accounting.ts';
import { SessionMeter } from '../relay/src/accounts/meter.ts';
import { UsageTotals } from '../relay/src/accounts/totals.ts';
import { encodeRecord, monthFile, readMonth, UsageLog, type UsageRecord } from '../relay/src/accounts/usage-log.ts';

function nsPerOp(fn: () => unknown, n = 200_000): number {
  for (let i = 0; i < n / 10; i++) fn();
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < n; i++) fn();
  return Number(process.hrtime.bigint() - t0) / n;
}

const append = new TextEncoder().encode(JSON.stringify({ type: 'input_audio_buffer.append', event_id: 'evt_123456', audio: Buffer.alloc(960, 3).toString('base64') }));
const delta = JSON.stringify({ type: 'response.output_audio.delta', event_id: 'event_1', response_id: 'resp_1', item_id: 'item_1', output_index: 0, content_index: 0, delta: Buffer.alloc(9600, 3).toString('base64') });
const meter = new SessionMeter(0);
const record = (i: number, t: number): UsageRecord => ({ t, u: `user${i % 10}`, s: `b7c1d3a0-1111-2222-3333-${String(i % 500).padStart(12, '0')}`, c: 500, ib: 24_000, ob: 9_600, ti: 0, to: 0, ai: 0, ao: 0 });

console.log(`meter: 20 ms append (1.3 KB bytes)         ${nsPerOp(() => meter.onClientFrame('input_audio_buffer.append', append)).toFixed(0)} ns`);
console.log(`meter: 200 ms output delta (12.8 KB string) ${nsPerOp(() => meter.onServerFrame('response.output_audio.delta', delta)).toFixed(0)} ns`);
console.log(`meter: other event types                   ${nsPerOp(() => meter.onClientFrame('session.update', append)).toFixed(0)} ns`);
console.log(`compare: JSON.parse of the same append     ${nsPerOp(() => JSON.parse(Buffer.from(append).toString())).toFixed(0)} ns`);
console.log(`log: encode one record (per session/tick)  ${nsPerOp(() => encodeRecord(record(1, Date.now())), 50_000).toFixed(0)} ns`);

const dir = mkdtempSync(join(tmpdir(), 'earshot-bench-'));
try {
  const log = await UsageLog.open(dir);
  const times: number[] = [];
  for (let k = 0; k < 40; k++) {
    for (let i = 0; i < 50; i++) log.append(record(i, Date.now()));
    const t0 = performance.now();
    await log.flush();
    times.push(performance.now() - t0);
  }
  times.sort((a, b) => a - b);
  console.log(`log: group commit of 50 records (write + fdatasync) median ${times[20]!.toFixed(2)} ms, max ${times.at(-1)!.toFixed(2)} ms`);
  await log.close();

  const big = await UsageLog.open(join(dir, 'big'));
  const N = 200_000; // ≈ 28 session-hours at 2 records per session-second
  const start = Date.UTC(2026, 10, 1);
  for (let i = 0; i < N; i++) big.append(record(i, start + i * 500));
  await big.close();
  const t0 = performance.now();
  const parsed = readMonth(big.dir, '2026-11');
  const totals = new UsageTotals();
  for (const r of parsed.records) totals.add(r);
  const mb = statSync(monthFile(big.dir, '2026-11')).size / 1e6;
  console.log(`startup rebuild: ${N} records (${mb.toFixed(1)} MB) in ${(performance.now() - t0).toFixed(0)} ms`);
  // createAccounting: the first start reads the whole month and writes a checkpoint; the next one starts from it.
  const options = { dataDir: join(dir, 'big'), log: pino({ level: 'silent' }), now: () => Date.UTC(2026, 10, 30) };
  for (const label of ['createAccounting, no checkpoint', 'createAccounting, from checkpoint']) {
    const t1 = performance.now();
    const acc = await createAccounting(options);
    console.log(`${label}: ${(performance.now() - t1).toFixed(0)} ms`);
    await acc.close();
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}

// The store (SQLite and PostgreSQL) on the hot path: batch commits, quota reads, leases.
await (await import('./accounts-store.ts')).benchStores();
