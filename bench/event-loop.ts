// `npm run bench:event-loop`: what holds Earshot's event loop under the relay bench's load (issue 17's p99
// tail). N sessions stream 20 ms appends through the relay (bench/loadgen-worker.ts, the simulator's benchmark
// mode as upstream) while the relay's own `earshot_event_loop_delay_seconds` histogram (/metrics) counts how
// often its loop was held 2, 5, 10, 20 ms or more. Variants run interleaved in one process tree, side by side:
//   - `earshot`: as shipped;
//   - `earshot, store on loop`: EARSHOT_BENCH_STORE_ON_LOOP=1, the SQLite writes on the event loop as before
//     the store's writer worker (store/sqlite-writer.worker.ts).
// ELD_PERF=1 records the relay with `perf record` over the window (bench/results/cpu-prof/*.perf.data, with
// --perf-basic-prof for JavaScript names), the only view of native work: SQLite, uWS and syscalls run while V8
// marks the thread idle. ELD_CPU_PROF=1 also writes a V8 CPU profile of each relay to bench/results/cpu-prof/ (open it in DevTools, or
// `node --import tsx bench/cpu-prof-blocks.ts <file>` for the long synchronous blocks and their functions).
// ELD_SIZES (default 100), ELD_REPEATS (1), BENCH_RAMP_MS, BENCH_WINDOW_MS tune it.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { loadOrCreateSecret } from '../relay/src/auth/secret.ts';
import { issueToken } from '../relay/src/auth/tokens.ts';
import { EVENT_LOOP_DELAY_BUCKETS } from '../relay/src/http/event-loop-delay.ts';
import { SqliteStore } from '../relay/src/store/sqlite-store.ts';
import { fetchMetrics, REPO_ROOT, spawnRelayProcess, tempDataDir } from '../relay/src/testing/start-relay.ts';
import { listeningUrl } from './listening.ts';
import { runLoadgenJobs, splitSessions } from './loadgen-run.ts';
import type { LoadgenJob, LoadgenResult } from './loadgen-worker.ts';
import { summarize } from './stats.ts';

const SIZES = (process.env.ELD_SIZES ?? '100').split(',').map(Number);
const REPEATS = Number(process.env.ELD_REPEATS ?? 1);
const RAMP_MS = Number(process.env.BENCH_RAMP_MS ?? 6_000);
const WINDOW_MS = Number(process.env.BENCH_WINDOW_MS ?? 8_000);
const CPU_PROF = process.env.ELD_CPU_PROF === '1';
/** `perf record` of the relay over the window (native frames: SQLite, uWS, syscalls, which a V8 profile counts as idle). */
const PERF = process.env.ELD_PERF === '1';
const LATE_MS = 20;
const WORKERS = 2;
const PIN = availableParallelism() >= 2;
const pinned = (core: '0' | '1', argv: string[]): [string, string[]] => (PIN ? ['taskset', ['-c', core, ...argv]] : [argv[0]!, argv.slice(1)]);

export interface Variant {
  name: string;
  env: Record<string, string>;
}
export const VARIANTS: Variant[] = [
  { name: 'earshot', env: {} },
  { name: 'earshot, store on loop', env: { EARSHOT_BENCH_STORE_ON_LOOP: '1' } },
];

export interface EventLoopRow {
  variant: string;
  n: number;
  /** Loop samples (one per 10 ms) in the window, and how many found the loop held at least each threshold. */
  samples: number;
  atLeast: Record<string, number>;
  /** The bucket bound the 99th / 99.9th percentile sample falls under (ms). */
  p99Ms: number;
  p999Ms: number;
  /** perf_hooks' max over the window (prom-client's gauge, reset by the scrape at the window's start), ms. */
  maxMs: number;
  addedP99Ms: number;
  late: number;
}

function histogram(page: string): { buckets: Map<number, number>; count: number; max: number } {
  const buckets = new Map<number, number>();
  for (const m of page.matchAll(/^earshot_event_loop_delay_seconds_bucket\{le="([^"+]+)"\} (\S+)$/gm)) buckets.set(Number(m[1]), Number(m[2]));
  const count = Number(/^earshot_event_loop_delay_seconds_count (\S+)$/m.exec(page)?.[1] ?? 0);
  const max = Number(/^earshot_nodejs_eventloop_lag_max_seconds (\S+)$/m.exec(page)?.[1] ?? NaN);
  return { buckets, count, max };
}

function startSimulator(): Promise<{ child: ChildProcess; url: string }> {
  const [cmd, args] = pinned('1', [process.execPath, '--import', 'tsx', join(REPO_ROOT, 'relay/src/simulator/standalone.ts')]);
  const child = spawn(cmd, args, { cwd: REPO_ROOT, env: { PATH: process.env.PATH ?? '', SIM_BENCHMARK: '1', PORT: '0', HOST: '127.0.0.1' }, stdio: ['ignore', 'pipe', 'inherit'] });
  return listeningUrl(child, 'the simulator').then((url) => ({ child, url }));
}

async function load(url: string, headers: Record<string, string>, sessions: number): Promise<LoadgenResult & { windowStart: number }> {
  const windowStart = Date.now() + RAMP_MS + (sessions * 3) / WORKERS;
  const windowEnd = windowStart + WINDOW_MS;
  const jobs = splitSessions(sessions, WORKERS).map((n): LoadgenJob => ({ url, headers, sessions: n, windowStart, windowEnd, graceMs: 1500, holdMs: 0, appendMs: 20 }));
  return { ...(await runLoadgenJobs(jobs, pinned)), windowStart };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function runEventLoopBench(): Promise<EventLoopRow[]> {
  const sim = await startSimulator();
  const dataDir = tempDataDir('earshot-eld-');
  const store = await SqliteStore.open(dataDir);
  await store.upsertUser({ id: 'bench', maxSessions: 100_000 });
  const issued = await issueToken(await loadOrCreateSecret(dataDir), { userId: 'bench', days: 1 });
  await store.addToken({ id: issued.tokenId, userId: 'bench', createdAt: new Date().toISOString(), expiresAt: issued.expiresAt });
  await store.close();
  const profDir = join(REPO_ROOT, 'bench/results/cpu-prof');
  if (CPU_PROF || PERF) mkdirSync(profDir, { recursive: true });
  const rows: EventLoopRow[] = [];
  for (let rep = 0; rep < REPEATS; rep++) {
    for (const n of SIZES) {
      const base = summarize((await load(`${sim.url}?model=gpt-realtime`, {}, n)).rttMs);
      const order = VARIANTS.map((_, i) => VARIANTS[(i + rep) % VARIANTS.length]!);
      for (const v of order) {
        const tag = `${v.name.replace(/\W+/g, '-')}-${n}-${rep}`;
        const nodeArgs = [...(CPU_PROF ? ['--cpu-prof', '--cpu-prof-interval=250', `--cpu-prof-dir=${profDir}`, `--cpu-prof-name=${tag}.cpuprofile`] : []), ...(PERF ? ['--perf-basic-prof'] : [])];
        const relay = await spawnRelayProcess({ EARSHOT_DATA_DIR: dataDir, UPSTREAM_URL: sim.url, STATIC_DIR: join(dataDir, 'none'), ...v.env }, { nodeArgs });
        // The relay on core 0 (every thread, the store's writer worker included), load and upstream on core 1.
        if (PIN) spawnSync('taskset', ['-a', '-cp', '0', String(relay.child.pid)]);
        try {
          const run = load(`${relay.url.replace(/^http/, 'ws')}/v1/realtime?model=gpt-realtime`, { authorization: `Bearer ${issued.token}` }, n);
          await sleep(Math.max(0, Date.now() + RAMP_MS + (n * 3) / WORKERS - Date.now()));
          const a = histogram(await (await fetchMetrics(relay.url)).text());
          const perf = PERF ? spawn('perf', ['record', '-q', '-e', 'cpu-clock', '-F', '2000', '-g', '-p', String(relay.child.pid), '-o', join(profDir, `${tag}.perf.data`), '--', 'sleep', String(WINDOW_MS / 1000)], { stdio: 'inherit' }) : null;
          await sleep(WINDOW_MS);
          if (perf && perf.exitCode === null) await new Promise((r) => perf.once('exit', r));
          const b = histogram(await (await fetchMetrics(relay.url)).text());
          const r = await run;
          const samples = b.count - a.count;
          const atLeast: Record<string, number> = {};
          for (const ms of [2, 5, 10, 20, 50]) atLeast[`${ms}`] = samples - ((b.buckets.get(ms / 1000) ?? 0) - (a.buckets.get(ms / 1000) ?? 0));
          const bound = (q: number): number => {
            for (const le of EVENT_LOOP_DELAY_BUCKETS) if ((b.buckets.get(le) ?? 0) - (a.buckets.get(le) ?? 0) >= q * samples) return le * 1000;
            return Infinity;
          };
          const s = summarize(r.rttMs);
          let late = 0;
          for (const x of r.rttMs) if (x - base.p50 > LATE_MS) late++;
          const row: EventLoopRow = { variant: v.name, n, samples, atLeast, p99Ms: bound(0.99), p999Ms: bound(0.999), maxMs: b.max * 1000, addedP99Ms: s.p99 - base.p99, late };
          rows.push(row);
          console.error(`  N=${n} ${v.name.padEnd(24)} loop samples ${samples}, held ≥2 ms ${atLeast['2']}, ≥5 ${atLeast['5']}, ≥10 ${atLeast['10']}, ≥20 ${atLeast['20']}; p99 ≤ ${row.p99Ms} ms, max ${row.maxMs.toFixed(1)} ms; added RTT p99 ${row.addedP99Ms.toFixed(2)} ms, late ${late}`);
        } finally {
          await relay.stop('SIGINT'); // drains and exits 0, so --cpu-prof writes its file
        }
      }
    }
  }
  sim.child.kill('SIGKILL');
  return rows;
}

export function eventLoopTable(rows: EventLoopRow[]): string {
  const out = ['| N | relay | loop samples | held ≥ 2 ms | ≥ 5 ms | ≥ 10 ms | ≥ 20 ms | ≥ 50 ms | p99 ≤ ms | p99.9 ≤ ms | max ms | added RTT p99 ms | late frames |', '|---|---|---|---|---|---|---|---|---|---|---|---|---|'];
  for (const r of rows) out.push(`| ${r.n} | ${r.variant} | ${r.samples} | ${r.atLeast['2']} | ${r.atLeast['5']} | ${r.atLeast['10']} | ${r.atLeast['20']} | ${r.atLeast['50']} | ${r.p99Ms} | ${r.p999Ms} | ${r.maxMs.toFixed(1)} | ${r.addedP99Ms.toFixed(2)} | ${r.late} |`);
  return out.join('\n');
}

if (import.meta.url === `file://${process.argv[1]}`) {
  console.log(eventLoopTable(await runEventLoopBench()));
}
