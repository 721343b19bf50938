// `npm run bench:store-blocking`: how long the relay's event loop is held by each store write it makes while
// sessions run, the SQLite writes on the loop (as before) and on the writer thread (store/sqlite-writer.ts),
// side by side. Held time is the synchronous part of the call: inline, the whole BEGIN IMMEDIATE … COMMIT
// (and the WAL auto-checkpoint SQLite runs inside the commit that crosses 1000 pages); on the writer thread,
// cloning the batch into a message. Batches are written back to back (each awaited), one record per live
// session, as accounting does every 500 ms; lease heartbeats likewise. Wall-clock, so say the load beside it.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { zeroCounters } from '../relay/src/accounts/meter.ts';
import { SqliteStore } from '../relay/src/store/sqlite-store.ts';
import type { UsageRecord } from '../relay/src/store/store.ts';

const BATCHES = Number(process.env.STORE_BATCHES ?? 400);
const SIZES = (process.env.STORE_SESSIONS ?? '100,300').split(',').map(Number);

const pct = (sorted: number[], p: number): number => sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))]!;

function batch(sessions: number, t: number): UsageRecord[] {
  return Array.from({ length: sessions }, (_, i) => ({ at: t, userId: `user${i % 25}`, sessionId: `session-${i}`, first: false, end: false, counters: { ...zeroCounters(), connectedMs: 500, inputAudioBytes: 24_000, outputAudioBytes: 9_600, audioOutputTokens: 3 } }));
}

export interface BlockingRow {
  writer: 'inline' | 'worker';
  sessions: number;
  op: string;
  medianMs: number;
  p99Ms: number;
  maxMs: number;
  /** Held time summed over the batches: the loop's total busy time on these writes. */
  totalMs: number;
}

async function measure(writer: 'inline' | 'worker', sessions: number): Promise<BlockingRow[]> {
  const dir = mkdtempSync(join(tmpdir(), 'earshot-store-blocking-'));
  const store = await SqliteStore.open(dir, { writer });
  const ids = Array.from({ length: sessions }, (_, i) => `session-${i}`);
  for (const id of ids) await store.acquireLease({ sessionId: id, userId: 'u', relayId: 'r', maxSessions: 1e9, ttlMs: 10_000, now: Date.now() });
  await store.appendUsage(batch(1, Date.now())); // the writer thread is up
  const held = { usage: [] as number[], renew: [] as number[] };
  for (let k = 0; k < BATCHES; k++) {
    const records = batch(sessions, Date.now());
    let a = performance.now();
    const write = store.appendUsage(records);
    held.usage.push(performance.now() - a);
    await write;
    if (k % 6 === 0) {
      // A lease heartbeat every 3 s = every sixth usage batch.
      a = performance.now();
      const renew = store.renewLeases('r', ids, Date.now(), 10_000);
      held.renew.push(performance.now() - a);
      await renew;
    }
  }
  await store.close();
  rmSync(dir, { recursive: true, force: true });
  return Object.entries(held).map(([op, xs]) => {
    const s = [...xs].sort((x, y) => x - y);
    return { writer, sessions, op: op === 'usage' ? 'usage batch (appendUsage)' : 'lease heartbeat (renewLeases)', medianMs: pct(s, 0.5), p99Ms: pct(s, 0.99), maxMs: s.at(-1)!, totalMs: s.reduce((t, x) => t + x, 0) };
  });
}

export async function runStoreBlockingBench(): Promise<BlockingRow[]> {
  const rows: BlockingRow[] = [];
  for (const sessions of SIZES) for (const writer of ['inline', 'worker'] as const) rows.push(...(await measure(writer, sessions)));
  return rows;
}

export function storeBlockingTable(rows: BlockingRow[]): string {
  const out = ['| sessions | write | SQLite writes | loop held median ms | p99 ms | max ms | total ms over the run |', '|---|---|---|---|---|---|---|'];
  for (const r of rows) out.push(`| ${r.sessions} | ${r.op} | ${r.writer === 'inline' ? 'on the event loop' : 'writer thread'} | ${r.medianMs.toFixed(3)} | ${r.p99Ms.toFixed(3)} | ${r.maxMs.toFixed(3)} | ${r.totalMs.toFixed(1)} |`);
  return out.join('\n');
}

if (import.meta.url === `file://${process.argv[1]}`) {
  console.log(`${BATCHES} usage batches back to back per row (${BATCHES / 2} s of a relay's batches); load ${(await import('node:os')).loadavg().map((x) => x.toFixed(2)).join(' ')}\n`);
  console.log(storeBlockingTable(await runStoreBlockingBench()));
}
