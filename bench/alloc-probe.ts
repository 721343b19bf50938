// `npm run bench:alloc`: what a relay allocates and keeps per frame, by deterministic counts (issue 17). One relay
// (Earshot, the reference or the floor: ALLOC_RELAY) runs N sessions of the bench's load (bench/loadgen-worker.ts
// against bench/echo-upstream.ts) for a window; over that window it reports, per frame pair (one append up, one
// delta down):
//   - bytes V8 allocated and promoted, and how many scavenges and mark-compacts ran (`--trace-gc-nvp`: each GC line
//     carries `allocated=` and `promoted=` since the previous GC);
//   - with ALLOC_SAMPLE=1, the sampling heap profiler's allocation sites (objects later collected included), top
//     frames by bytes: what allocates;
//   - with ALLOC_DEOPT=1, how many deoptimisations V8 logged in the window (`--trace-deopt`).
// Counts, not timings: it needs no quiet machine, and the numbers are comparable across runs.
import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import WebSocket from 'ws';
import { RELAY_NODE_FLAGS } from '../relay/src/node-flags.ts';
import { SqliteStore } from '../relay/src/store/sqlite-store.ts';
import { loadOrCreateSecret } from '../relay/src/auth/secret.ts';
import { issueToken } from '../relay/src/auth/tokens.ts';
import { REPO_ROOT, tempDataDir } from '../relay/src/testing/start-relay.ts';
import { listeningUrl } from './listening.ts';
import { runLoadgenJobs } from './loadgen-run.ts';

const RELAY = process.env.ALLOC_RELAY ?? 'earshot';
const N = Number(process.env.ALLOC_N ?? 100);
const RAMP_MS = Number(process.env.ALLOC_RAMP_MS ?? 10_000);
const WINDOW_MS = Number(process.env.ALLOC_WINDOW_MS ?? 30_000);
const SAMPLE = process.env.ALLOC_SAMPLE === '1';
const DEOPT = process.env.ALLOC_DEOPT === '1';
const OPT = process.env.ALLOC_OPT === '1';
/**
 * ALLOC_FORCE_GC=1: first what bench:relay does before each measured run — 20 sessions for 2 s, then two forced
 * full GCs through the inspector (its live-memory reading) — so the window starts from the heap limits that leaves.
 */
const FORCE_GC = process.env.ALLOC_FORCE_GC === '1';
const EXTRA = (process.env.ALLOC_NODE_ARGS ?? '').split(' ').filter(Boolean);
/** Earshot runs with its production V8 flags (relay/src/node-flags.ts) unless ALLOC_RELAY_FLAGS=0; EXTRA come after. */
const RELAY_FLAGS = RELAY === 'earshot' && process.env.ALLOC_RELAY_FLAGS !== '0' ? [...RELAY_NODE_FLAGS] : [];

interface Child {
  child: ChildProcess;
  url: string;
  /** Every stdout line after `listening`, with the time it arrived (GC trace lines). */
  lines: { at: number; text: string }[];
  inspectorUrl: string | null;
}

function start(script: string, env: Record<string, string>, args: string[]): Promise<Child> {
  const child = spawn(process.execPath, [...args, '--import', 'tsx', join(REPO_ROOT, script)], { cwd: REPO_ROOT, env: { PATH: process.env.PATH ?? '', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  const lines: Child['lines'] = [];
  let stderr = '';
  child.stderr!.on('data', (c: Buffer) => {
    if (stderr.length < 20_000) stderr += c.toString();
  });
  return listeningUrl(child, script, { stderr: () => stderr, onLineAfter: (text, at) => lines.push({ at, text }) }).then((url) => ({
    child,
    url,
    lines,
    inspectorUrl: /Debugger listening on (ws:\/\/\S+)/.exec(stderr)?.[1] ?? null,
  }));
}

/** A bare CDP client: the sampling heap profiler's calls. */
async function cdp(url: string): Promise<{ call(method: string, params?: Record<string, unknown>): Promise<Record<string, unknown>>; close(): void }> {
  const ws = new WebSocket(url, { perMessageDeflate: false, maxPayload: 1 << 30 });
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  let next = 1;
  const waiting = new Map<number, (r: { result?: Record<string, unknown>; error?: { message: string } }) => void>();
  ws.on('message', (d) => {
    const r = JSON.parse(d.toString()) as { id?: number; result?: Record<string, unknown>; error?: { message: string } };
    if (r.id !== undefined) waiting.get(r.id)?.(r);
  });
  return {
    call: (method, params = {}) =>
      new Promise((resolve, reject) => {
        const id = next++;
        waiting.set(id, (r) => (r.error ? reject(new Error(r.error.message)) : resolve(r.result ?? {})));
        ws.send(JSON.stringify({ id, method, params }));
      }),
    close: () => ws.close(),
  };
}

interface ProfileNode {
  callFrame: { functionName: string; url: string; lineNumber: number };
  selfSize: number;
  children: ProfileNode[];
}

/** Self bytes by allocation site (function, file:line), largest first. */
function sites(root: ProfileNode): [string, number][] {
  const by = new Map<string, number>();
  const walk = (n: ProfileNode, parent: string): void => {
    const f = n.callFrame;
    const file = f.url.replace(/^file:\/\//, '').replace(`${REPO_ROOT}/`, '');
    const name = `${f.functionName || '(anonymous)'} ${file}:${f.lineNumber + 1}`;
    // Native frames (Buffer internals) are named with their JS caller, which is what the fix would change.
    const label = f.url === '' ? `${name} ← ${parent}` : name;
    if (n.selfSize > 0) by.set(label, (by.get(label) ?? 0) + n.selfSize);
    for (const c of n.children) walk(c, f.url === '' ? parent : name);
  };
  walk(root, '(root)');
  return [...by].sort((a, b) => b[1] - a[1]);
}

const sim = await start('bench/echo-upstream.ts', { PORT: '0', HOST: '127.0.0.1' }, []);
const dataDir = tempDataDir('earshot-alloc-');
const store = await SqliteStore.open(dataDir);
await store.upsertUser({ id: 'bench', maxSessions: 100_000 });
const issued = await issueToken(await loadOrCreateSecret(dataDir), { userId: 'bench', days: 1 });
await store.addToken({ id: issued.tokenId, userId: 'bench', createdAt: new Date().toISOString(), expiresAt: issued.expiresAt });
await store.close();
const scripts: Record<string, [string, Record<string, string>, Record<string, string>]> = {
  earshot: ['relay/src/main.ts', { EARSHOT_DATA_DIR: dataDir, UPSTREAM_URL: sim.url, LOG_LEVEL: 'info', HOST: '127.0.0.1', PORT: '0', STATIC_DIR: join(dataDir, 'none') }, { authorization: `Bearer ${issued.token}` }],
  reference: ['bench/reference-relay.ts', { UPSTREAM_URL: sim.url, PORT: '0' }, {}],
  floor: ['bench/floor-relay.ts', { UPSTREAM_URL: sim.url, PORT: '0' }, {}],
};
const [script, env, headers] = scripts[RELAY] ?? (() => {
  throw new Error(`ALLOC_RELAY: one of ${Object.keys(scripts).join(', ')}`);
})();
const relay = await start(script, env, [...(process.env.ALLOC_NVP === '0' ? [] : ['--trace-gc-nvp']), ...(DEOPT ? ['--trace-deopt'] : []), ...(OPT ? ['--trace-opt'] : []), ...(SAMPLE || FORCE_GC ? ['--inspect=127.0.0.1:0'] : []), ...RELAY_FLAGS, ...EXTRA]);
const session = (SAMPLE || FORCE_GC) && relay.inspectorUrl ? await cdp(relay.inspectorUrl) : null;
const inspector = SAMPLE ? session : null;
const wsUrl = `${relay.url.replace(/^http/, 'ws')}/v1/realtime?model=gpt-realtime`;
if (FORCE_GC && session) {
  const t = Date.now() + 1000;
  await runLoadgenJobs([{ url: wsUrl, headers, sessions: 20, windowStart: t, windowEnd: t + 2000, graceMs: 500, holdMs: 0, appendMs: 20, connectGapMs: 2 }], (_core, argv) => [argv[0]!, argv.slice(1)]);
  await new Promise((r) => setTimeout(r, 1000));
  await session.call('HeapProfiler.collectGarbage');
  await session.call('HeapProfiler.collectGarbage');
}

const windowStart = Date.now() + RAMP_MS + N * 2;
const windowEnd = windowStart + WINDOW_MS;
let sampling: Promise<unknown> | null = null;
const samplingTimer = inspector
  ? setTimeout(() => {
      // Every 4 KB allocated, objects a later GC collected included: what allocates, not only what survives.
      sampling = inspector.call('HeapProfiler.startSampling', { samplingInterval: 4096, includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: true });
    }, windowStart - Date.now())
  : null;
let profile: ProfileNode | null = null;
/** Per-thread CPU ticks (utime + stime, 1/100 s) of the relay: which of its threads do the work. */
type Threads = Map<string, { comm: string; ticks: number }>;
const threads = (pid: number): Threads => {
  const out: Threads = new Map();
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
      const comm = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      out.set(tid, { comm, ticks: Number(f[11]) + Number(f[12]) });
    } catch {
      // the thread ended
    }
  }
  return out;
};
const sampled: { a: Threads | null; b: Threads | null } = { a: null, b: null };
const threadTimers = [setTimeout(() => (sampled.a = threads(relay.child.pid!)), windowStart - Date.now()), setTimeout(() => (sampled.b = threads(relay.child.pid!)), windowEnd - Date.now())];
const stopTimer = inspector
  ? setTimeout(() => {
      void (async () => {
        await sampling;
        const r = await inspector.call('HeapProfiler.stopSampling');
        profile = (r.profile as { head: ProfileNode }).head;
      })();
    }, windowEnd - Date.now())
  : null;
const result = await runLoadgenJobs([{ url: wsUrl, headers, sessions: N, windowStart, windowEnd, graceMs: 1500, holdMs: 0, appendMs: 20, connectGapMs: 2 }], (_core, argv) => [argv[0]!, argv.slice(1)]);
clearTimeout(samplingTimer ?? undefined);
for (const t of threadTimers) clearTimeout(t);
clearTimeout(stopTimer ?? undefined);
await new Promise((r) => setTimeout(r, 500));

// GC lines inside the window (by arrival time: the trace is line-buffered through a pipe, close enough at 30 s), per
// isolate: `[pid:0x…]` names it; the main isolate is the one that allocates most (the frame path), worker threads (the SQLite writer, the Opus
// pool) have isolates of their own whose GCs run on the same core and the same V8 platform threads.
const inWindow = relay.lines.filter((l) => l.at >= windowStart && l.at < windowEnd);
interface IsolateGc { allocated: number; promoted: number; scavenges: number; markCompacts: number; gcMs: number; reducing: number }
const isolates = new Map<string, IsolateGc>();
for (const { text } of inWindow) {
  const gc = /\bgc=(\w+)/.exec(text)?.[1];
  if (!gc) continue;
  const isolate = /\[\d+:(0x[0-9a-f]+)\]/.exec(text)?.[1] ?? '?';
  const g = isolates.get(isolate) ?? { allocated: 0, promoted: 0, scavenges: 0, markCompacts: 0, gcMs: 0, reducing: 0 };
  isolates.set(isolate, g);
  g.allocated += Number(/\ballocated=(\d+)/.exec(text)?.[1] ?? 0);
  g.promoted += Number(/\bpromoted=(\d+)/.exec(text)?.[1] ?? 0);
  g.gcMs += Number(/\bpause=([\d.]+)/.exec(text)?.[1] ?? 0);
  if (gc === 's') g.scavenges++;
  else if (gc === 'mc' || gc === 'mmc' || gc === 'ms') {
    g.markCompacts++;
    if (/reduce_memory=1/.test(text)) g.reducing++;
  }
}
const deopts = inWindow.filter((l) => l.text.includes('bailout (kind:') || l.text.includes('deoptimizing')).length;
const pairs = result.received;
const secs = WINDOW_MS / 1000;
console.log(`${RELAY} N=${N}, ${secs} s window, ${result.sent} frames up, ${result.received} echoes down (${pairs} frame pairs)${RELAY_FLAGS.length + EXTRA.length ? `, node ${[...RELAY_FLAGS, ...EXTRA].join(' ')}` : ''}`);
const mainIsolate = [...isolates].sort((a, b) => b[1].allocated - a[1].allocated)[0]?.[0];
for (const [isolate, g] of [...isolates].sort((a, b) => (a[0] === mainIsolate ? -1 : b[0] === mainIsolate ? 1 : b[1].allocated - a[1].allocated))) {
  console.log(`  isolate ${isolate}${isolate === mainIsolate ? ' (main)' : ' (worker)'}: allocated ${(g.allocated / 1e6).toFixed(1)} MB (${(g.allocated / pairs).toFixed(0)} B per frame pair), promoted ${(g.promoted / 1e3).toFixed(0)} KB (${(g.promoted / pairs).toFixed(1)} B per pair)`);
  console.log(`    scavenges ${g.scavenges} (${(g.scavenges / secs).toFixed(2)}/s), mark-compacts ${g.markCompacts} (${g.reducing} of them memory-reducing), GC pause ${g.gcMs.toFixed(0)} ms`);
}
const { a: threadsA, b: threadsB } = sampled;
if (threadsA && threadsB) {
  console.log('  threads by CPU over the window (utime+stime, s):');
  const rows = [...threadsB].map(([tid, b]) => ({ tid, comm: b.comm, s: b.ticks - (threadsA.get(tid)?.ticks ?? 0) })).filter((r) => r.s > 0).sort((x, y) => y.s - x.s);
  // Node names none of its threads: the first (tid = pid) is the event loop; the rest are V8's platform workers,
  // libuv's pool and the relay's worker threads (SQLite writer, Opus pool).
  for (const r of rows) console.log(`    ${r.tid === String(relay.child.pid) ? 'event loop' : `thread ${r.tid}`}`.padEnd(22) + `${(r.s / 100).toFixed(2)} s`);
  const total = rows.reduce((n, r) => n + r.s, 0);
  console.log(`    all threads        ${(total / 100).toFixed(2)} s = ${(total / 100 / ((N * secs) / 60)).toFixed(4)} s per session-minute`);
}
if (OPT) console.log(`  optimized compiles completed in the window: ${inWindow.filter((l) => l.text.includes('completed optimizing') || l.text.includes('completed compiling')).length}`);
if (DEOPT) console.log(`  deoptimisations logged in the window: ${deopts}`);
if (profile) {
  const top = sites(profile);
  const total = top.reduce((n, [, b]) => n + b, 0);
  console.log(`  sampled allocation sites (${(total / 1e6).toFixed(1)} MB sampled, ${(total / pairs).toFixed(0)} B per pair), top 25:`);
  for (const [site, bytes] of top.slice(0, 25)) console.log(`    ${((bytes / total) * 100).toFixed(1).padStart(5)} %  ${(bytes / pairs).toFixed(1).padStart(7)} B/pair  ${site}`);
}
if (process.env.ALLOC_DUMP_GC === '1') for (const l of inWindow) console.log(l.text);
session?.close();
relay.child.kill('SIGKILL');
sim.child.kill('SIGKILL');
