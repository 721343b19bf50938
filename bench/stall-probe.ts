// `npm run bench:stalls`: what holds a relay's event loop under the bench's load (issue 17: Earshot held 275
// sessions per core against the reference's 450 while costing no more CPU per session-minute). One relay
// (STALL_RELAY: earshot, reference, floor) pinned to core 0 with bench/stall-probe.cjs preloaded, the load
// generator and the echo upstream on core 1, as in bench:relay; over the window it prints:
//   - the round trips (p50, p99, max, frames late by > 20 ms over the p50);
//   - per thread of the relay: CPU time, time runnable but waiting for the core (another thread or process on it),
//     and timeslices (/proc/<pid>/task/*/schedstat): whether helper threads preempt the event loop;
//   - the loop's callbacks by label (total, count, mean, max) and its busy stretches (callbacks < 50 µs apart) of
//     1 ms or more, with what filled them, and GC pauses.
// The hooks cost ~1 µs per callback, so the relay is slower than in bench:relay: compare relays in this probe,
// not with bench:relay's numbers. Timing-dependent: run it under the bench lock.
import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { RELAY_NODE_FLAGS } from '../relay/src/node-flags.ts';
import { SqliteStore } from '../relay/src/store/sqlite-store.ts';
import { loadOrCreateSecret } from '../relay/src/auth/secret.ts';
import { issueToken } from '../relay/src/auth/tokens.ts';
import { REPO_ROOT, tempDataDir } from '../relay/src/testing/start-relay.ts';
import { listeningUrl } from './listening.ts';
import { runLoadgenJobs, type Pin } from './loadgen-run.ts';
import { summarize } from './stats.ts';

const RELAY = process.env.STALL_RELAY ?? 'earshot';
const N = Number(process.env.STALL_N ?? 300);
const RAMP_MS = Number(process.env.STALL_RAMP_MS ?? 4_000);
const WINDOW_MS = Number(process.env.STALL_WINDOW_MS ?? 8_000);
const HOOKS = process.env.STALL_HOOKS !== '0';
const EXTRA = (process.env.STALL_NODE_ARGS ?? '').split(' ').filter(Boolean);
const OUT = `/tmp/stall-probe-${process.pid}.json`;
const pin: Pin = (core, argv) => ['taskset', ['-c', core, ...argv]];

function start(script: string, env: Record<string, string>, core: '0' | '1', args: string[]): Promise<{ child: ChildProcess; url: string }> {
  const [cmd, argv] = pin(core, [process.execPath, ...args, '--import', 'tsx', join(REPO_ROOT, script)]);
  const child = spawn(cmd, argv, { cwd: REPO_ROOT, env: { PATH: process.env.PATH ?? '', STALL_PROBE_OUT: OUT, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (c: Buffer) => {
    if (stderr.length < 20_000) stderr += c.toString();
  });
  return listeningUrl(child, script, { stderr: () => stderr }).then((url) => ({ child, url }));
}

/** Per thread: ns on the CPU, ns runnable but waiting, timeslices (schedstat) and name. */
type Sched = Map<string, { run: number; wait: number; slices: number }>;
function sched(pid: number): Sched {
  const out: Sched = new Map();
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      const [run, wait, slices] = readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').trim().split(' ').map(Number);
      out.set(tid, { run: run!, wait: wait!, slices: slices! });
    } catch {
      // the thread ended
    }
  }
  return out;
}

const sim = await start('bench/echo-upstream.ts', { PORT: '0', HOST: '127.0.0.1' }, '1', []);
const dataDir = tempDataDir('earshot-stalls-');
const store = await SqliteStore.open(dataDir);
await store.upsertUser({ id: 'bench', maxSessions: 100_000 });
const issued = await issueToken(await loadOrCreateSecret(dataDir), { userId: 'bench', days: 1 });
await store.addToken({ id: issued.tokenId, userId: 'bench', createdAt: new Date().toISOString(), expiresAt: issued.expiresAt });
await store.close();
const scripts: Record<string, [string, Record<string, string>, Record<string, string>, string[]]> = {
  earshot: ['relay/src/main.ts', { EARSHOT_DATA_DIR: dataDir, UPSTREAM_URL: sim.url, LOG_LEVEL: 'info', HOST: '127.0.0.1', PORT: '0', STATIC_DIR: join(dataDir, 'none'), ...(process.env.EARSHOT_BENCH_OFF ? { EARSHOT_BENCH_OFF: process.env.EARSHOT_BENCH_OFF } : {}) }, { authorization: `Bearer ${issued.token}` }, [...RELAY_NODE_FLAGS]],
  reference: ['bench/reference-relay.ts', { UPSTREAM_URL: sim.url, PORT: '0' }, {}, []],
  floor: ['bench/floor-relay.ts', { UPSTREAM_URL: sim.url, PORT: '0' }, {}, []],
};
const [script, env, headers, flags] = scripts[RELAY] ?? (() => {
  throw new Error(`STALL_RELAY: one of ${Object.keys(scripts).join(', ')}`);
})();
// STALL_HOOKS=0: only the GC observer (no per-callback hooks), for round trips as bench:relay sees them.
const relay = await start(script, { ...env, STALL_PROBE_HOOKS: HOOKS ? '1' : '0' }, '0', ['--require', join(REPO_ROOT, 'bench/stall-probe.cjs'), ...flags, ...EXTRA]);
const pid = relay.child.pid!;
// taskset execs node in place, so the child's pid is the relay's.
const wsUrl = `${relay.url.replace(/^http/, 'ws')}/v1/realtime?model=gpt-realtime`;
const windowStart = Date.now() + RAMP_MS + N * 2;
const windowEnd = windowStart + WINDOW_MS;
const at: { a: Sched | null; b: Sched | null } = { a: null, b: null };
const timers = [
  setTimeout(() => {
    at.a = sched(pid);
    relay.child.kill('SIGUSR2');
  }, windowStart - Date.now()),
  setTimeout(() => {
    at.b = sched(pid);
    relay.child.kill('SIGUSR2');
  }, windowEnd - Date.now()),
];
const result = await runLoadgenJobs([{ url: wsUrl, headers, sessions: N, windowStart, windowEnd, graceMs: 1500, holdMs: 0, appendMs: 20, connectGapMs: 2 }], pin);
for (const t of timers) clearTimeout(t);
await new Promise((r) => setTimeout(r, 300));

const s = summarize(result.rttMs);
let late = 0;
for (const v of result.rttMs) if (v - s.p50 > 20) late++;
console.log(`${RELAY} N=${N} (${result.opened} opened), ${WINDOW_MS / 1000} s window${HOOKS ? ', hooks on' : ''}: round trip p50 ${s.p50.toFixed(2)} p99 ${s.p99.toFixed(2)} max ${s.max.toFixed(1)} ms, late ${late}, lost ${result.sent - result.received}`);
if (at.a && at.b) {
  // The event loop's "waiting" is time another thread or process held its core: large (seconds) means something
  // else ran on core 0 (another engineer's build) and the round trips say little about the relay.
  console.log('  threads (ms over the window): on CPU / runnable but waiting / timeslices');
  for (const [tid, b] of at.b) {
    const a = at.a.get(tid) ?? { run: 0, wait: 0, slices: 0 };
    const run = (b.run - a.run) / 1e6;
    if (run < 1) continue;
    console.log(`    ${tid === String(pid) ? 'event loop' : `thread ${tid}`}`.padEnd(20) + `${run.toFixed(0).padStart(6)} / ${((b.wait - a.wait) / 1e6).toFixed(0).padStart(6)} / ${b.slices - a.slices}`);
  }
}
{
  const r = JSON.parse(readFileSync(OUT, 'utf8')) as {
    windowMs: number;
    labels: { label: string; n: number; ms: number; max: number }[];
    stretches: { at: number; ms: number; top: string[] }[];
    gcs: { at: number; ms: number; kind: number }[];
  };
  const busy = r.labels.reduce((n, l) => n + l.ms, 0);
  console.log(`  callbacks: ${(busy / r.windowMs * 100).toFixed(1)} % of the window in JS callbacks`);
  for (const l of r.labels.slice(0, 14)) console.log(`    ${l.ms.toFixed(0).padStart(6)} ms  ${String(l.n).padStart(7)} × ${((l.ms / l.n) * 1000).toFixed(1).padStart(7)} µs  max ${l.max.toFixed(2).padStart(6)} ms  ${l.label}`);
  const st = r.stretches;
  const count = (ms: number) => st.filter((x) => x.ms >= ms).length;
  console.log(`  busy stretches ≥ 1 / 2 / 5 / 10 ms: ${count(1)} / ${count(2)} / ${count(5)} / ${count(10)}; their total ${st.reduce((n, x) => n + x.ms, 0).toFixed(0)} ms`);
  // Which label fills the stretches of 2 ms or more (by its time inside them).
  const fill = new Map<string, number>();
  for (const x of st.filter((y) => y.ms >= 2))
    for (const t of x.top) {
      const m = /^(.*) ([\d.]+)$/.exec(t)!;
      fill.set(m[1]!, (fill.get(m[1]!) ?? 0) + Number(m[2]));
    }
  console.log('  what fills the stretches ≥ 2 ms (ms):', [...fill].sort((a, b) => b[1] - a[1]).slice(0, 8).map(([l, v]) => `${l} ${v.toFixed(0)}`).join('; '));
  for (const x of [...st].sort((a, b) => b.ms - a.ms).slice(0, 10)) console.log(`    at ${x.at.toFixed(0).padStart(6)} ms: ${x.ms.toFixed(2)} ms — ${x.top.join('; ')}`);
  // perf_hooks' gc kinds: 1 minor (scavenge), 2 major, 4 incremental, 8 weak callbacks.
  for (const kind of [...new Set(r.gcs.map((g) => g.kind))]) {
    const g = r.gcs.filter((x) => x.kind === kind).map((x) => x.ms).sort((a, b) => a - b);
    console.log(`  GC kind ${kind}: ${g.length} pauses, ${g.reduce((n, v) => n + v, 0).toFixed(0)} ms, median ${(g[g.length >> 1] ?? 0).toFixed(2)} ms, max ${(g.at(-1) ?? 0).toFixed(2)} ms`);
  }
}
relay.child.kill('SIGKILL');
sim.child.kill('SIGKILL');
