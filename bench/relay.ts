// `npm run bench:relay`: N sessions streaming real-time audio through Earshot's relay, the reference relay
// (Node `ws`, string forwarding, as in the seed article) and the floor (bare uWS forwarder), one at a time,
// against the same fast upstream (the simulator's benchmark mode, in its own process). Prints ratios.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { SqliteStore } from '../relay/src/store/sqlite-store.ts';
import { loadOrCreateSecret } from '../relay/src/auth/secret.ts';
import { issueToken } from '../relay/src/auth/tokens.ts';
import { REPO_ROOT, tempDataDir } from '../relay/src/testing/start-relay.ts';
import type { LoadgenJob, LoadgenResult } from './loadgen-worker.ts';
import { procStats, summarize } from './stats.ts';

const SIZES = (process.env.BENCH_SIZES ?? '100,500,1000').split(',').map(Number);
// Long enough for every process's JIT to settle before the measured window (a short ramp measured warm-up).
const RAMP_MS = Number(process.env.BENCH_RAMP_MS ?? 10_000);
const WINDOW_MS = Number(process.env.BENCH_WINDOW_MS ?? 10_000);
/** Load generator processes (the machine has 2 cores; the relay under test and the upstream need the rest). */
const WORKERS = 2;

interface Proc {
  child: ChildProcess;
  url: string;
}

function start(script: string, env: Record<string, string>): Promise<Proc> {
  const extra = process.env.BENCH_NODE_ARGS && script.includes('main.ts') ? process.env.BENCH_NODE_ARGS.split(' ') : [];
  const child = spawn(process.execPath, [...extra, '--import', 'tsx', join(REPO_ROOT, script)], { cwd: REPO_ROOT, env: { PATH: process.env.PATH ?? '', ...env }, stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    let buf = '';
    const timer = setTimeout(() => reject(new Error(`${script} did not start`)), 20_000);
    child.stdout!.on('data', (c: Buffer) => {
      buf += c.toString();
      for (const line of buf.split('\n')) {
        try {
          const j = JSON.parse(line) as { msg?: string; url?: string };
          if ((j.msg === 'listening' || j.msg === 'simulator listening') && j.url) {
            clearTimeout(timer);
            child.stdout!.removeAllListeners('data');
            child.stdout!.resume();
            resolve({ child, url: j.url });
            return;
          }
        } catch {
          // partial line
        }
      }
    });
    child.once('exit', (code) => reject(new Error(`${script} exited with ${code}`)));
  });
}

function stop(p: Proc): Promise<void> {
  return new Promise((resolve) => {
    if (p.child.exitCode !== null) return resolve();
    p.child.once('exit', () => resolve());
    p.child.kill(process.env.BENCH_NODE_ARGS ? 'SIGINT' : 'SIGKILL');
  });
}

async function load(
  url: string,
  headers: Record<string, string>,
  sessions: number,
  timing = { rampMs: RAMP_MS, windowMs: WINDOW_MS },
): Promise<LoadgenResult & { windowStart: number; windowEnd: number }> {
  const windowStart = Date.now() + timing.rampMs + (sessions * 3) / WORKERS;
  const windowEnd = windowStart + timing.windowMs;
  const results = await Promise.all(
    Array.from({ length: WORKERS }, (_, w) => {
      const job: LoadgenJob = { url, headers, sessions: Math.floor(sessions / WORKERS) + (w < sessions % WORKERS ? 1 : 0), windowStart, windowEnd, graceMs: 1500 };
      const child = spawn(process.execPath, ['--import', 'tsx', join(REPO_ROOT, 'bench/loadgen-worker.ts')], { env: { ...process.env, LOADGEN_JOB: JSON.stringify(job) }, stdio: ['ignore', 'pipe', 'inherit'] });
      return new Promise<LoadgenResult>((resolve, reject) => {
        let out = '';
        child.stdout!.on('data', (c: Buffer) => (out += c.toString()));
        child.once('exit', (code) => {
          if (code !== 0) return reject(new Error(`load generator exited with ${code}`));
          const r = JSON.parse(out) as Omit<LoadgenResult, 'rttMs'> & { rttMs: number[] };
          resolve({ ...r, rttMs: Float64Array.from(r.rttMs) });
        });
      });
    }),
  );
  const rtt = new Float64Array(results.reduce((n, r) => n + r.rttMs.length, 0));
  let o = 0;
  for (const r of results) {
    rtt.set(r.rttMs, o);
    o += r.rttMs.length;
  }
  return {
    opened: results.reduce((n, r) => n + r.opened, 0),
    failed: results.reduce((n, r) => n + r.failed, 0),
    sent: results.reduce((n, r) => n + r.sent, 0),
    received: results.reduce((n, r) => n + r.received, 0),
    rttMs: rtt,
    windowStart,
    windowEnd,
  };
}

export interface RelayRow {
  relay: string;
  n: number;
  opened: number;
  cpuSecPerSessionMin: number;
  rssPerSessionKb: number;
  addedP50: number;
  addedP99: number;
  addedMax: number;
  lost: number;
  late: number;
}

const read = (p: string) => readFileSync(p, 'utf8');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function measure(name: string, proc: Proc, wsUrl: string, headers: Record<string, string>, n: number, baseline: { p50: number; p99: number }): Promise<RelayRow> {
  // Warm-up: a few sessions connect, talk and leave before the idle reading, so code and pools that every relay
  // loads on first use count as fixed cost, not as per-session memory (Earshot loads more on its first session).
  await load(wsUrl, headers, Math.min(n, 20), { rampMs: 1000, windowMs: 2000 });
  await sleep(1500);
  const pid = proc.child.pid!;
  const idle = procStats(pid, read);
  const run = load(wsUrl, headers, n);
  // Sample CPU exactly over the measured window.
  const result = await (async () => {
    const windowStart = Date.now() + RAMP_MS + (n * 3) / WORKERS;
    await sleep(Math.max(0, windowStart - Date.now()));
    const a = procStats(pid, read);
    await sleep(WINDOW_MS);
    const b = procStats(pid, read);
    const r = await run;
    return { r, cpu: b.cpuSeconds - a.cpuSeconds, rss: b.rssBytes };
  })();
  const s = summarize(result.r.rttMs);
  const sessionMinutes = (result.r.opened * WINDOW_MS) / 60_000;
  let late = 0;
  for (const v of result.r.rttMs) if (v - baseline.p50 > 20) late++;
  return {
    relay: name,
    n,
    opened: result.r.opened,
    cpuSecPerSessionMin: result.cpu / sessionMinutes,
    rssPerSessionKb: (result.rss - idle.rssBytes) / 1024 / Math.max(1, result.r.opened),
    addedP50: s.p50 - baseline.p50,
    addedP99: s.p99 - baseline.p99,
    addedMax: s.max - baseline.p99,
    lost: result.r.sent - result.r.received,
    late,
  };
}

export async function runRelayBench(): Promise<RelayRow[]> {
  const sim = await start('relay/src/simulator/standalone.ts', { SIM_BENCHMARK: '1', PORT: '0', HOST: '127.0.0.1' });
  const dataDir = tempDataDir('earshot-bench-');
  const store = await SqliteStore.open(dataDir);
  await store.upsertUser({ id: 'bench', maxSessions: 100_000 });
  const issued = await issueToken(await loadOrCreateSecret(dataDir), { userId: 'bench', days: 1 });
  await store.addToken({ id: issued.tokenId, userId: 'bench', createdAt: new Date().toISOString(), expiresAt: issued.expiresAt });
  await store.close();
  const rows: RelayRow[] = [];
  for (const n of SIZES) {
    const base = await load(`${sim.url}?model=gpt-realtime`, {}, n);
    const baseline = summarize(base.rttMs);
    console.error(`N=${n}: direct to upstream p50 ${baseline.p50.toFixed(2)} ms p99 ${baseline.p99.toFixed(2)} ms (${base.opened} sessions)`);
    const kinds: Array<[string, string, Record<string, string>, Record<string, string>]> = [
      ['earshot', 'relay/src/main.ts', { EARSHOT_DATA_DIR: dataDir, UPSTREAM_URL: sim.url, LOG_LEVEL: 'info', HOST: '127.0.0.1', PORT: '0', STATIC_DIR: join(dataDir, 'none') }, { authorization: `Bearer ${issued.token}` }],
      ['reference', 'bench/reference-relay.ts', { UPSTREAM_URL: sim.url, PORT: '0' }, {}],
      ['floor', 'bench/floor-relay.ts', { UPSTREAM_URL: sim.url, PORT: '0' }, {}],
    ];
    for (const [name, script, env, headers] of kinds) {
      const proc = await start(script, env);
      const wsUrl = `${proc.url.replace(/^http/, 'ws')}/v1/realtime?model=gpt-realtime`;
      const row = await measure(name, proc, wsUrl, headers, n, baseline);
      rows.push(row);
      console.error(`  ${name.padEnd(9)} opened ${row.opened}, cpu ${row.cpuSecPerSessionMin.toFixed(4)} s/session-min, rss ${row.rssPerSessionKb.toFixed(1)} KB/session, added p50 ${row.addedP50.toFixed(2)} p99 ${row.addedP99.toFixed(2)} ms, lost ${row.lost}, late ${row.late}`);
      await stop(proc);
    }
  }
  await stop(sim);
  return rows;
}

export function relayTable(rows: RelayRow[]): string {
  const out = ['| N | relay | sessions | CPU s / session-min | RSS KB / session | added p50 ms | added p99 ms | added max ms | lost | late | CPU vs ref | RSS vs ref | CPU vs floor | RSS vs floor |', '|---|---|---|---|---|---|---|---|---|---|---|---|---|---|'];
  for (const r of rows) {
    const ref = rows.find((x) => x.n === r.n && x.relay === 'reference')!;
    const floor = rows.find((x) => x.n === r.n && x.relay === 'floor')!;
    const ratio = (a: number, b: number) => (b > 0 ? (a / b).toFixed(2) : '-');
    out.push(
      `| ${r.n} | ${r.relay} | ${r.opened} | ${r.cpuSecPerSessionMin.toFixed(4)} | ${r.rssPerSessionKb.toFixed(1)} | ${r.addedP50.toFixed(2)} | ${r.addedP99.toFixed(2)} | ${r.addedMax.toFixed(1)} | ${r.lost} | ${r.late} | ${ratio(r.cpuSecPerSessionMin, ref.cpuSecPerSessionMin)} | ${ratio(r.rssPerSessionKb, ref.rssPerSessionKb)} | ${ratio(r.cpuSecPerSessionMin, floor.cpuSecPerSessionMin)} | ${ratio(r.rssPerSessionKb, floor.rssPerSessionKb)} |`,
    );
  }
  return out.join('\n');
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const rows = await runRelayBench();
  const table = relayTable(rows);
  console.log(table);
  mkdirSync(join(REPO_ROOT, 'bench/results'), { recursive: true });
  writeFileSync(join(REPO_ROOT, 'bench/results/relay.json'), JSON.stringify(rows, null, 2));
}
