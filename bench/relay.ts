// `npm run bench:relay`: N sessions streaming real-time audio through Earshot's relay, the reference relay
// (Node `ws`, string forwarding, as in the seed article) and the floor (bare uWS forwarder), one at a time,
// against the same fast upstream (bench/echo-upstream.ts: uWS, the simulator engine for the handshake, a byte-copy
// echo of each append, in its own process). Prints ratios.
// Issue 17: the relay under test is pinned to one core (`taskset`), the load generators and the upstream to the
// other, so the relay's core is the one that saturates; relays are interleaved within each N and each round is
// repeated (BENCH_REPEATS), medians reported. Every relay runs with the same GC probe (gc-probe.cjs) and an
// inspector, for the GC share of the window and live memory per session after a forced full GC.
// The load side (bench/loadgen-worker.ts: raw sockets, pre-masked frames) is calibrated at every N by driving the
// upstream directly: its own p99 and its share of core 1. Then a capacity search per relay (bench/capacity.ts)
// finds the largest N held in real time; an N at which the load side used more than LOAD_CORE_SHARE of its core is
// "load-bound" (the load side, not the relay, may be what fell behind).
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { RELAY_NODE_FLAGS } from '../relay/src/node-flags.ts';
import { SqliteStore } from '../relay/src/store/sqlite-store.ts';
import { loadOrCreateSecret } from '../relay/src/auth/secret.ts';
import { issueToken } from '../relay/src/auth/tokens.ts';
import { InspectorSession } from '../relay/src/testing/live-memory.ts';
import { REPO_ROOT, tempDataDir } from '../relay/src/testing/start-relay.ts';
import { bestVerdict, formatCapacity, searchCapacity, type CapacityResult, type Verdict } from './capacity.ts';
import { listeningUrl } from './listening.ts';
import { runLoadgenJobs, splitSessions } from './loadgen-run.ts';
import type { LoadgenJob, LoadgenResult } from './loadgen-worker.ts';
import { procStats, summarize } from './stats.ts';

const SIZES = (process.env.BENCH_SIZES ?? '100,400').split(',').map(Number);
const REPEATS = Number(process.env.BENCH_REPEATS ?? 1);
// Long enough for every process's JIT to settle before the measured window (a short ramp measured warm-up).
const RAMP_MS = Number(process.env.BENCH_RAMP_MS ?? 6_000);
const WINDOW_MS = Number(process.env.BENCH_WINDOW_MS ?? 8_000);
/** Real time held: added p99 under this and no late frame (issue 17's capacity definition). */
export const REAL_TIME_P99_MS = 5;
/** A frame whose round trip exceeds the direct path's median by this much is late. */
const LATE_MS = 20;
/** Coalesced appends (the app's v1 protocol): audio per append. */
const COALESCED_MS = Number(process.env.BENCH_COALESCED_MS ?? 100);
const PIN = process.env.BENCH_PIN !== '0' && (await import('node:os')).availableParallelism() >= 2;
/** The relay under test on core 0; load generators and upstream on core 1. */
const pinned = (core: '0' | '1', argv: string[]): [string, string[]] => (PIN ? ['taskset', ['-c', core, ...argv]] : [argv[0]!, argv.slice(1)]);
const GRACE_MS = 1500;
const HOLD_MS = 4000;
/** Load generator processes: one is enough now that a frame costs it little (all share core 1 anyway). */
const WORKERS = Number(process.env.BENCH_LOADGEN_WORKERS ?? 1);
/** ms between connection attempts in a load generator. */
const CONNECT_GAP_MS = 2;
/** The load side (load generators + upstream) may use at most this share of its core, or a result is load-bound. */
export const LOAD_CORE_SHARE = Number(process.env.BENCH_LOAD_SHARE ?? 0.7);
/**
 * …and must send at least this share of the frames real time asks for (sessions × window / append period). On a
 * shared machine a starved load side shows here, not in its CPU share (a process that is not scheduled uses none).
 */
export const LOAD_MIN_PACE = 0.95;
/** Capacity search: probes per relay, and each probe's ramp and window (shorter than the ladder's). */
const CAPACITY_PROBES = Number(process.env.BENCH_CAPACITY_PROBES ?? 4);
const CAPACITY_RAMP_MS = Number(process.env.BENCH_CAPACITY_RAMP_MS ?? 3_000);
const CAPACITY_WINDOW_MS = Number(process.env.BENCH_CAPACITY_WINDOW_MS ?? 4_000);
const CAPACITY_MAX = Number(process.env.BENCH_CAPACITY_MAX ?? 3200);
/** A probe that does not hold is run again this many times, the best verdict counting (why: bench/capacity.ts). */
const CAPACITY_RETRIES = Number(process.env.BENCH_CAPACITY_RETRIES ?? 1);
/** The upstream's pid: load() reads its CPU over each window (it is part of the load side). */
let upstreamPid = 0;

interface Proc {
  child: ChildProcess;
  url: string;
}

interface RelayProc extends Proc {
  inspector: InspectorSession | null;
}

function start(script: string, env: Record<string, string>, core: '0' | '1', probe = false): Promise<RelayProc> {
  const extra = process.env.BENCH_NODE_ARGS && script.includes('main.ts') ? process.env.BENCH_NODE_ARGS.split(' ') : [];
  const probeArgs = probe ? ['--require', join(REPO_ROOT, 'bench/gc-probe.cjs'), '--inspect=127.0.0.1:0'] : [];
  const [cmd, args] = pinned(core, [process.execPath, ...probeArgs, ...extra, '--import', 'tsx', join(REPO_ROOT, script)]);
  const child = spawn(cmd, args, { cwd: REPO_ROOT, env: { PATH: process.env.PATH ?? '', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (c: Buffer) => {
    if (stderr.length < 10_000) stderr += c.toString();
    // Earshot upgrades outside cork() on purpose (relay/src/server.ts says why), and uWS warns once per session.
    const text = c.toString().replace(/^Warning: uWS\.HttpResponse writes must be made from within a corked callback\..*\n?/gm, '');
    if (text && !text.startsWith('Debugger') && !text.includes('For help, see')) process.stderr.write(text);
  });
  return listeningUrl(child, script).then(async (url) => {
    if (!probe) return { child, url, inspector: null };
    const inspectorUrl = /Debugger listening on (ws:\/\/\S+)/.exec(stderr)?.[1];
    if (!inspectorUrl) throw new Error(`${script}: no inspector address`);
    return { child, url, inspector: await InspectorSession.connect(inspectorUrl) };
  });
}

function stop(p: Proc & { inspector?: InspectorSession | null }): Promise<void> {
  p.inspector?.close();
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
  timing: { rampMs: number; windowMs: number; holdMs?: number; appendMs?: number } = { rampMs: RAMP_MS, windowMs: WINDOW_MS },
): Promise<LoadgenResult & { windowStart: number; windowEnd: number; upstreamCpuSeconds: number; loadCoreShare: number; pace: number }> {
  const windowStart = Date.now() + timing.rampMs + (sessions * CONNECT_GAP_MS) / WORKERS;
  const windowEnd = windowStart + timing.windowMs;
  let upA = 0;
  let upB = 0;
  const upTimers = upstreamPid
    ? [setTimeout(() => (upA = procStats(upstreamPid, read).cpuSeconds), windowStart - Date.now()), setTimeout(() => (upB = procStats(upstreamPid, read).cpuSeconds), windowEnd - Date.now())]
    : [];
  const jobs = splitSessions(sessions, WORKERS).map((n): LoadgenJob => ({ url, headers, sessions: n, windowStart, windowEnd, graceMs: GRACE_MS, holdMs: timing.holdMs ?? 0, appendMs: timing.appendMs ?? 20, connectGapMs: CONNECT_GAP_MS }));
  const result = await runLoadgenJobs(jobs, pinned);
  for (const t of upTimers) clearTimeout(t);
  return {
    ...result,
    upstreamCpuSeconds: upB - upA,
    loadCoreShare: (result.cpuSeconds + (upB - upA)) / (timing.windowMs / 1000),
    pace: result.sent / Math.max(1, (result.opened * timing.windowMs) / (timing.appendMs ?? 20)),
    windowStart,
    windowEnd,
  };
}

export interface RelayRow {
  relay: string;
  n: number;
  /** Audio per append, ms (20: one frame per 20 ms; more: coalesced). */
  appendMs: number;
  opened: number;
  cpuSecPerSessionMin: number;
  /** Live memory (heap used + external after a forced full GC) per open session, over the idle relay's. */
  liveKbPerSession: number;
  /**
   * GC pause time (perf_hooks, wall clock) over the window's relay CPU time, and scavenges per second. On a loaded
   * machine a pause's wall time includes time the process was not scheduled, so this overstates the share.
   */
  gcShare: number;
  scavengesPerSec: number;
  addedP50: number;
  addedP99: number;
  addedMax: number;
  lost: number;
  late: number;
  /** Load generators + upstream CPU over the window, as a share of one core (the load side's core). */
  loadCoreShare: number;
  /** Frames the load generators sent over the frames real time asks for. */
  loadPace: number;
}

/** The load side alone at one N: load generator straight to the upstream. */
export interface CalibrationRow {
  n: number;
  opened: number;
  p50: number;
  p99: number;
  /** Load generator CPU, upstream CPU, and both together, as shares of one core. */
  loadgenShare: number;
  upstreamShare: number;
  loadCoreShare: number;
  /** Frames sent over the frames real time asks for. */
  pace: number;
  /** Sends that found the previous frame still queued in its socket. */
  backlogged: number;
}
const read = (p: string) => readFileSync(p, 'utf8');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface GcCounts {
  ms: number;
  count: number;
  scavenges: number;
}
async function gcCounts(inspector: InspectorSession): Promise<GcCounts> {
  return JSON.parse(await inspector.evaluate('JSON.stringify(globalThis.__benchGc)')) as GcCounts;
}
async function liveBytes(inspector: InspectorSession): Promise<number> {
  const m = await inspector.measure();
  return m.heapUsedBytes + m.externalBytes;
}

async function measure(name: string, proc: RelayProc, wsUrl: string, headers: Record<string, string>, n: number, baseline: { p50: number; p99: number }, appendMs = 20, probe = false): Promise<RelayRow> {
  const rampMs = probe ? CAPACITY_RAMP_MS : RAMP_MS;
  const windowMs = probe ? CAPACITY_WINDOW_MS : WINDOW_MS;
  const holdMs = probe ? 0 : HOLD_MS;
  // Warm-up: a few sessions connect, talk and leave before the idle reading, so code and pools that every relay
  // loads on first use count as fixed cost, not as per-session memory (Earshot loads more on its first session).
  if (!probe) {
    await load(wsUrl, headers, Math.min(n, 20), { rampMs: 1000, windowMs: 2000, appendMs });
    await sleep(1000);
  }
  const pid = proc.child.pid!;
  const inspector = proc.inspector!;
  const idleLive = probe ? 0 : await liveBytes(inspector);
  const run = load(wsUrl, headers, n, { rampMs, windowMs, holdMs, appendMs });
  // Sample CPU and GC exactly over the measured window; live memory once the sessions are open but idle.
  const result = await (async () => {
    const windowStart = Date.now() + rampMs + (n * CONNECT_GAP_MS) / WORKERS;
    await sleep(Math.max(0, windowStart - Date.now()));
    const a = procStats(pid, read);
    const gcA = await gcCounts(inspector);
    await sleep(windowMs);
    const b = procStats(pid, read);
    const gcB = await gcCounts(inspector);
    await sleep(GRACE_MS + 500);
    const loadedLive = probe ? 0 : await liveBytes(inspector);
    const r = await run;
    return { r, cpu: b.cpuSeconds - a.cpuSeconds, gcMs: gcB.ms - gcA.ms, scavenges: gcB.scavenges - gcA.scavenges, live: loadedLive - idleLive };
  })();
  const s = summarize(result.r.rttMs);
  const sessionMinutes = (result.r.opened * windowMs) / 60_000;
  let late = 0;
  for (const v of result.r.rttMs) if (v - baseline.p50 > LATE_MS) late++;
  return {
    relay: name,
    n,
    appendMs,
    opened: result.r.opened,
    cpuSecPerSessionMin: result.cpu / sessionMinutes,
    liveKbPerSession: result.live / 1024 / Math.max(1, result.r.opened),
    gcShare: result.cpu > 0 ? result.gcMs / 1000 / result.cpu : 0,
    scavengesPerSec: result.scavenges / (windowMs / 1000),
    addedP50: s.p50 - baseline.p50,
    addedP99: s.p99 - baseline.p99,
    addedMax: s.max - baseline.p99,
    lost: result.r.sent - result.r.received,
    late,
    loadCoreShare: result.r.loadCoreShare,
    loadPace: result.r.pace,
  };
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

/** One row per (relay, N, append size): the median of each column over the repeats. */
function medianRows(rows: RelayRow[]): RelayRow[] {
  const groups = new Map<string, RelayRow[]>();
  for (const r of rows) {
    const k = `${r.relay}|${r.n}|${r.appendMs}`;
    groups.set(k, [...(groups.get(k) ?? []), r]);
  }
  return [...groups.values()].map((g) => {
    const numeric = (f: (r: RelayRow) => number) => median(g.map(f));
    return {
      relay: g[0]!.relay,
      n: g[0]!.n,
      appendMs: g[0]!.appendMs,
      opened: numeric((r) => r.opened),
      cpuSecPerSessionMin: numeric((r) => r.cpuSecPerSessionMin),
      liveKbPerSession: numeric((r) => r.liveKbPerSession),
      gcShare: numeric((r) => r.gcShare),
      scavengesPerSec: numeric((r) => r.scavengesPerSec),
      addedP50: numeric((r) => r.addedP50),
      addedP99: numeric((r) => r.addedP99),
      addedMax: numeric((r) => r.addedMax),
      lost: numeric((r) => r.lost),
      late: numeric((r) => r.late),
      loadCoreShare: numeric((r) => r.loadCoreShare),
      loadPace: numeric((r) => r.loadPace),
    };
  });
}

export interface RelayBench {
  /** Medians over the repeats. */
  rows: RelayRow[];
  /** The load side alone at each ladder N (medians over the repeats) and at each N the capacity search probed. */
  calibration: CalibrationRow[];
  /** Per relay: the capacity search's result and the rows of its probes (every try, with its own verdict). */
  capacity: { relay: string; result: CapacityResult; probes: (RelayRow & { verdict: Verdict })[] }[];
  repeats: number;
  pinned: boolean;
  /** Extra node flags of the Earshot variant `earshot+flags` (BENCH_EARSHOT_FLAGS), if any. */
  variantFlags: string | null;
}

/** The relays measured: name, script, env, upgrade headers, extra node args. */
type Kind = [name: string, script: string, env: Record<string, string>, headers: Record<string, string>, nodeArgs: string[]];

/** Issue 17's real-time test for one run, and whether the load side was quiet enough to trust it. */
export function verdictOf(r: Pick<RelayRow, 'n' | 'opened' | 'addedP99' | 'late' | 'lost' | 'loadCoreShare' | 'loadPace'>, alone: Pick<CalibrationRow, 'loadCoreShare' | 'pace'>): Verdict {
  if (Math.max(r.loadCoreShare, alone.loadCoreShare) > LOAD_CORE_SHARE || Math.min(r.loadPace, alone.pace) < LOAD_MIN_PACE) return 'load-bound';
  // NaN (no frame measured in the window) compares false: no data is never a pass.
  return r.opened === r.n && r.addedP99 < REAL_TIME_P99_MS && r.late === 0 && r.lost === 0 ? 'held' : 'failed';
}

/**
 * What the ladder tells the capacity search, per N: the best verdict over the repeats, each run judged against the
 * load side's calibration of its own round — the search's own retry rule (bench/capacity.ts). Judging the median
 * row instead let one contaminated round of two fail an N the relay had held (2026-12-06: Earshot held N=100 and
 * 200 in round 2, failed both in round 1 while a helper's tests shared the machine, and was searched down to 75).
 */
export function ladderVerdicts(runs: ReadonlyArray<{ row: Parameters<typeof verdictOf>[0]; alone: Parameters<typeof verdictOf>[1] }>): Map<number, Verdict> {
  const tries = new Map<number, Verdict[]>();
  for (const { row, alone } of runs) {
    const list = tries.get(row.n) ?? [];
    list.push(verdictOf(row, alone));
    tries.set(row.n, list);
  }
  return new Map([...tries].map(([n, list]) => [n, bestVerdict(list)]));
}

export async function runRelayBench(): Promise<RelayBench> {
  const sim = await start('bench/echo-upstream.ts', { PORT: '0', HOST: '127.0.0.1' }, '1');
  upstreamPid = sim.child.pid!;
  const dataDir = tempDataDir('earshot-bench-');
  const store = await SqliteStore.open(dataDir);
  await store.upsertUser({ id: 'bench', maxSessions: 100_000 });
  const issued = await issueToken(await loadOrCreateSecret(dataDir), { userId: 'bench', days: 1 });
  await store.addToken({ id: issued.tokenId, userId: 'bench', createdAt: new Date().toISOString(), expiresAt: issued.expiresAt });
  await store.close();
  const earshotEnv = { EARSHOT_DATA_DIR: dataDir, UPSTREAM_URL: sim.url, LOG_LEVEL: 'info', HOST: '127.0.0.1', PORT: '0', STATIC_DIR: join(dataDir, 'none') };
  const auth = { authorization: `Bearer ${issued.token}` };
  const variantFlags = process.env.BENCH_EARSHOT_FLAGS ?? null;
  const kinds: Kind[] = [
    // Started as production starts it (package.json `serve`, the Containerfile): with the relay's V8 flags.
    ['earshot', 'relay/src/main.ts', earshotEnv, auth, [...RELAY_NODE_FLAGS]],
    ['reference', 'bench/reference-relay.ts', { UPSTREAM_URL: sim.url, PORT: '0' }, {}, []],
    ['floor', 'bench/floor-relay.ts', { UPSTREAM_URL: sim.url, PORT: '0' }, {}, []],
    // The variant's flags come after the production ones, so one naming the same flag overrides it
    // (BENCH_EARSHOT_FLAGS='--max-semi-space-size=16 --initial-old-space-size=0' is Earshot as it ran before
    // relay/src/node-flags.ts: V8's defaults).
    ...(variantFlags ? [['earshot+flags', 'relay/src/main.ts', earshotEnv, auth, [...RELAY_NODE_FLAGS, ...variantFlags.split(' ')]] as Kind] : []),
  ];
  const startRelay = async ([, script, env, , nodeArgs]: Kind): Promise<RelayProc> => {
    const saved = process.env.BENCH_NODE_ARGS;
    if (nodeArgs.length) process.env.BENCH_NODE_ARGS = [saved ?? '', ...nodeArgs].join(' ').trim();
    try {
      return await start(script, env, '0', true);
    } finally {
      // Deleted, not assigned: `process.env.X = undefined` stores the string 'undefined', which the next
      // Earshot start would pass to node as a script path (the run died there).
      if (nodeArgs.length) {
        if (saved === undefined) delete process.env.BENCH_NODE_ARGS;
        else process.env.BENCH_NODE_ARGS = saved;
      }
    }
  };
  const wsUrlOf = (proc: RelayProc) => `${proc.url.replace(/^http/, 'ws')}/v1/realtime?model=gpt-realtime`;
  const log = (row: RelayRow, label: string) =>
    console.error(
      `  ${label.padEnd(26)} opened ${row.opened}, cpu ${row.cpuSecPerSessionMin.toFixed(4)} s/session-min, live ${row.liveKbPerSession.toFixed(1)} KB/session, gc ${(row.gcShare * 100).toFixed(1)} % (${row.scavengesPerSec.toFixed(1)} scavenges/s), added p50 ${row.addedP50.toFixed(2)} p99 ${row.addedP99.toFixed(2)} ms, lost ${row.lost}, late ${row.late}, load side ${(row.loadCoreShare * 100).toFixed(0)} % of its core, pace ${row.loadPace.toFixed(3)}`,
    );
  const raw: RelayRow[] = [];
  /** Each ladder run with its round's calibration, for the capacity search's known verdicts (ladderVerdicts). */
  const judged: { row: RelayRow; alone: CalibrationRow }[] = [];
  const one = async (kind: Kind, n: number, cal: CalibrationRow & { baseline: { p50: number; p99: number } }, appendMs = 20): Promise<void> => {
    const proc = await startRelay(kind);
    try {
      const row = await measure(kind[0], proc, wsUrlOf(proc), kind[3], n, cal.baseline, appendMs);
      raw.push(row);
      judged.push({ row, alone: cal });
      log(row, `${kind[0]}${appendMs !== 20 ? ` (${appendMs} ms appends)` : ''}`);
    } finally {
      await stop(proc);
    }
  };
  /** The load side alone: the load generator straight to the upstream. */
  const calibrate = async (n: number, probe: boolean): Promise<CalibrationRow & { baseline: { p50: number; p99: number } }> => {
    const timing = probe ? { rampMs: CAPACITY_RAMP_MS, windowMs: CAPACITY_WINDOW_MS } : { rampMs: RAMP_MS, windowMs: WINDOW_MS };
    const base = await load(`${sim.url}?model=gpt-realtime`, {}, n, timing);
    const baseline = summarize(base.rttMs);
    const secs = timing.windowMs / 1000;
    const row = { n, opened: base.opened, p50: baseline.p50, p99: baseline.p99, loadgenShare: base.cpuSeconds / secs, upstreamShare: base.upstreamCpuSeconds / secs, loadCoreShare: base.loadCoreShare, pace: base.pace, backlogged: base.backlogged, baseline };
    console.error(`N=${n}${probe ? ' (probe)' : ''}: load side alone p50 ${baseline.p50.toFixed(2)} ms p99 ${baseline.p99.toFixed(2)} ms, load generator ${(row.loadgenShare * 100).toFixed(0)} % + upstream ${(row.upstreamShare * 100).toFixed(0)} % of core 1, pace ${row.pace.toFixed(3)} (${base.opened} sessions)`);
    return row;
  };
  const ladderCalibration: CalibrationRow[] = [];
  for (let rep = 0; rep < REPEATS; rep++) {
    for (const n of SIZES) {
      const cal = await calibrate(n, false);
      ladderCalibration.push(cal);
      // Interleaved, and rotated each round, so no relay always runs first (or last) on a warming machine.
      const order = kinds.map((_, i) => kinds[(i + rep) % kinds.length]!);
      for (const kind of order) await one(kind, n, cal);
      // The app's v1 protocol: the same audio in coalesced appends (fewer, larger frames), at the smallest N.
      if (n === SIZES[0]) await one(kinds[0]!, n, cal, COALESCED_MS);
    }
  }
  const rows = medianRows(raw);
  const calibration: CalibrationRow[] = SIZES.map((n) => {
    const g = ladderCalibration.filter((c) => c.n === n);
    const m = (f: (c: CalibrationRow) => number) => median(g.map(f));
    return { n, opened: m((c) => c.opened), p50: m((c) => c.p50), p99: m((c) => c.p99), loadgenShare: m((c) => c.loadgenShare), upstreamShare: m((c) => c.upstreamShare), loadCoreShare: m((c) => c.loadCoreShare), pace: m((c) => c.pace), backlogged: m((c) => c.backlogged) };
  });
  // Capacity: per relay, the ladder's verdicts first, then probes (short windows) with the relay kept running.
  const capacity: RelayBench['capacity'] = [];
  const probeCalibration = new Map<number, CalibrationRow & { baseline: { p50: number; p99: number } }>();
  if (CAPACITY_PROBES > 0) {
    for (const kind of kinds.filter((k) => k[0] !== 'earshot+flags')) {
      const name = kind[0];
      const known = ladderVerdicts(judged.filter((j) => j.row.relay === name && j.row.appendMs === 20));
      const proc = await startRelay(kind);
      const probes: (RelayRow & { verdict: Verdict })[] = [];
      try {
        const result = await searchCapacity(
          async (n) => {
            let cal = probeCalibration.get(n);
            if (!cal) {
              cal = await calibrate(n, true);
              probeCalibration.set(n, cal);
            }
            const row = await measure(name, proc, wsUrlOf(proc), kind[3], n, cal.baseline, 20, true);
            const v = verdictOf(row, cal);
            probes.push({ ...row, verdict: v });
            log(row, `${name} probe N=${n}: ${v}`);
            return v;
          },
          { start: 100, max: CAPACITY_MAX, resolution: 25, relativeResolution: 0.1, maxProbes: CAPACITY_PROBES, known, retries: CAPACITY_RETRIES },
        );
        capacity.push({ relay: name, result, probes });
        console.error(`  ${name}: sessions per core ${formatCapacity(result)}`);
      } finally {
        await stop(proc);
      }
    }
  }
  await stop(sim);
  upstreamPid = 0;
  const probed = [...probeCalibration.values()].filter((c) => !SIZES.includes(c.n)).map(({ baseline: _b, ...c }) => c);
  return { rows, calibration: [...calibration, ...probed].sort((a, b) => a.n - b.n), capacity, repeats: REPEATS, pinned: PIN, variantFlags };
}

/** The load side alone at each N: is it cheap enough to measure the relays there? */
export function calibrationTable(bench: RelayBench): string {
  const out = [`| N | sessions | load side alone p50 ms | p99 ms | load generator % of core 1 | upstream % | load side % (limit ${(LOAD_CORE_SHARE * 100).toFixed(0)}) | frames sent / real time (min ${LOAD_MIN_PACE}) | backlogged sends |`, '|---|---|---|---|---|---|---|---|---|'];
  for (const c of bench.calibration) out.push(`| ${c.n} | ${c.opened} | ${c.p50.toFixed(2)} | ${c.p99.toFixed(2)} | ${(c.loadgenShare * 100).toFixed(1)} | ${(c.upstreamShare * 100).toFixed(1)} | ${(c.loadCoreShare * 100).toFixed(1)}${c.loadCoreShare > LOAD_CORE_SHARE ? ' (over)' : ''} | ${c.pace.toFixed(3)}${c.pace < LOAD_MIN_PACE ? ' (behind)' : ''} | ${c.backlogged} |`);
  return out.join('\n');
}

/** Each relay's capacity search: the probes it ran and what it found. */
export function capacityTable(bench: RelayBench): string {
  const out = ['| relay | sessions per core | probes, every try (N: verdict, added p99 ms, late, load side %, pace) |', '|---|---|---|'];
  for (const c of bench.capacity) {
    const probes = c.probes.map((r) => `${r.n}: ${r.verdict}, ${r.addedP99.toFixed(1)}, ${r.late}, ${(r.loadCoreShare * 100).toFixed(0)} %, ${r.loadPace.toFixed(2)}`).join('; ');
    out.push(`| ${c.relay} | ${formatCapacity(c.result)} | ${probes || '(the ladder decided it)'} |`);
  }
  return out.join('\n');
}

export function relayTable(bench: RelayBench): string {
  const rows = bench.rows;
  const out = ['| N | relay | appends | sessions | CPU s / session-min | live KB / session | GC % of CPU | scavenges/s | added p50 ms | added p99 ms | added max ms | lost | late | load side % | CPU vs ref | CPU vs floor |', '|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|'];
  for (const r of rows) {
    const ref = rows.find((x) => x.n === r.n && x.relay === 'reference' && x.appendMs === 20);
    const floor = rows.find((x) => x.n === r.n && x.relay === 'floor' && x.appendMs === 20);
    const ratio = (a: number, b: number | undefined) => (b && b > 0 ? (a / b).toFixed(2) : '-');
    out.push(
      `| ${r.n} | ${r.relay} | ${r.appendMs} ms | ${r.opened} | ${r.cpuSecPerSessionMin.toFixed(4)} | ${r.liveKbPerSession.toFixed(1)} | ${(r.gcShare * 100).toFixed(1)} | ${r.scavengesPerSec.toFixed(1)} | ${r.addedP50.toFixed(2)} | ${r.addedP99.toFixed(2)} | ${r.addedMax.toFixed(1)} | ${r.lost} | ${r.late} | ${(r.loadCoreShare * 100).toFixed(0)}${r.loadCoreShare > LOAD_CORE_SHARE ? ' (over)' : ''}${r.loadPace < LOAD_MIN_PACE ? ' (behind)' : ''} | ${ratio(r.cpuSecPerSessionMin, ref?.cpuSecPerSessionMin)} | ${ratio(r.cpuSecPerSessionMin, floor?.cpuSecPerSessionMin)} |`,
    );
  }
  return out.join('\n');
}

/** Largest N of the ladder a relay holds in real time (every N up to it too); 0 if none. */
export function sessionsPerCore(rows: RelayRow[], relay: string): { held: number; ladderTop: boolean } {
  const mine = rows.filter((r) => r.relay === relay && r.appendMs === 20).sort((a, b) => a.n - b.n);
  let held = 0;
  for (const r of mine) {
    // A run with no measured frame (NaN: the sessions never got going inside the window) holds nothing.
    if (r.addedP99 < REAL_TIME_P99_MS && r.late === 0 && r.lost === 0) held = r.n;
    else break;
  }
  return { held, ladderTop: held > 0 && held === mine.at(-1)?.n };
}

export interface Target {
  target: string;
  value: string;
  pass: boolean | null;
}

/** Issue 17's targets 1-3 (passthrough, capacity, the app's protocol) from one run of the relay bench. */
export function relayTargets(bench: RelayBench): Target[] {
  const rows = bench.rows.filter((r) => r.appendMs === 20);
  const at = (relay: string, n: number) => rows.find((r) => r.relay === relay && r.n === n);
  const sizes = [...new Set(rows.map((r) => r.n))].sort((a, b) => a - b);
  const out: Target[] = [];
  for (const n of sizes) {
    const e = at('earshot', n)!;
    const f = at('floor', n)!;
    const ok = Number.isFinite(e.addedP99) && Number.isFinite(f.addedP99);
    out.push({ target: `passthrough N=${n}: CPU/session-min ≤ 1.15× floor`, value: `${(e.cpuSecPerSessionMin / f.cpuSecPerSessionMin).toFixed(2)}×${ok ? '' : ' (no frame measured)'}`, pass: ok && e.cpuSecPerSessionMin <= 1.15 * f.cpuSecPerSessionMin });
  }
  const refCap = sessionsPerCore(bench.rows, 'reference');
  // "Up to saturation": every N the reference still holds, and the first it does not.
  const upTo = sizes.filter((n, i) => n <= refCap.held || (i > 0 && sizes[i - 1]! <= refCap.held) || refCap.held === 0);
  for (const n of upTo) {
    const e = at('earshot', n)!;
    const r = at('reference', n)!;
    // NaN (no frame measured in the window) compares false: no data is never a pass.
    out.push({ target: `passthrough N=${n}: added p99 ≤ reference's`, value: `${e.addedP99.toFixed(2)} vs ${r.addedP99.toFixed(2)} ms`, pass: e.addedP99 <= r.addedP99 });
  }
  const top = sizes.at(-1)!;
  const eTop = at('earshot', top)!;
  const rTop = at('reference', top)!;
  const measured = (r: RelayRow) => Number.isFinite(r.addedP99);
  out.push({ target: `overload N=${top}: late frames ≤ reference's`, value: `${eTop.late} vs ${rTop.late}${measured(eTop) && measured(rTop) ? '' : ' (no frame measured)'}`, pass: measured(eTop) && measured(rTop) && eTop.late <= rTop.late });
  // Sessions per core: the capacity search's answer (the ladder's when the search was switched off).
  const searched = (relay: string) => bench.capacity.find((c) => c.relay === relay)?.result;
  const cap = (relay: string): { held: number; text: string; loadBound: boolean } => {
    const c = searched(relay);
    if (c) return { held: c.held, text: formatCapacity(c), loadBound: c.loadBound };
    const l = sessionsPerCore(bench.rows, relay);
    return { held: l.held, text: `${l.held}${l.ladderTop ? '+' : ''} (ladder)`, loadBound: false };
  };
  const [eC, rC, fC] = [cap('earshot'), cap('reference'), cap('floor')];
  // A load-bound reference bracket cannot show the ratio; a load-bound Earshot lower bound can still pass.
  const capPass = rC.loadBound ? null : rC.held === 0 ? eC.held > 0 : eC.held >= 1.5 * rC.held;
  out.push({
    target: `sessions per core (p99 < ${REAL_TIME_P99_MS} ms, no late; load side ≤ ${(LOAD_CORE_SHARE * 100).toFixed(0)} % of its core): earshot ≥ 1.5× reference`,
    value: `earshot ${eC.text}, reference ${rC.text}, floor ${fC.text}; ratio ${rC.held > 0 ? (eC.held / rC.held).toFixed(2) : '-'}×${bench.pinned ? '' : ' (not pinned)'}`,
    pass: capPass,
  });
  const co = bench.rows.find((r) => r.relay === 'earshot' && r.appendMs !== 20);
  const ref = co && at('reference', co.n);
  if (co && ref) out.push({ target: `app v1: ${co.appendMs} ms coalesced appends, CPU/session-min ≤ 0.5× reference (20 ms)`, value: `${(co.cpuSecPerSessionMin / ref.cpuSecPerSessionMin).toFixed(2)}× (${co.cpuSecPerSessionMin.toFixed(4)} s)`, pass: co.cpuSecPerSessionMin <= 0.5 * ref.cpuSecPerSessionMin });
  const e0 = at('earshot', sizes[0]!)!;
  out.push({ target: `GC share of Earshot's CPU, N=${sizes[0]}`, value: `${(e0.gcShare * 100).toFixed(1)} % (${e0.scavengesPerSec.toFixed(1)} scavenges/s)`, pass: null });
  const memN = sizes.at(-1)!;
  const mem = (relay: string) => at(relay, memN)!.liveKbPerSession.toFixed(1);
  out.push({ target: `live memory per session (forced GC), N=${memN}`, value: `earshot ${mem('earshot')} KB, reference ${mem('reference')} KB, floor ${mem('floor')} KB`, pass: null });
  return out;
}

export function targetsTable(targets: Target[]): string {
  const out = ['| target | today | pass |', '|---|---|---|'];
  for (const t of targets) out.push(`| ${t.target} | ${t.value} | ${t.pass === null ? '(measured)' : t.pass ? 'PASS' : 'FAIL'} |`);
  return out.join('\n');
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const bench = await runRelayBench();
  console.log('Load side alone (calibration):\n');
  console.log(calibrationTable(bench));
  console.log('');
  console.log(relayTable(bench));
  console.log('\nCapacity search:\n');
  console.log(capacityTable(bench));
  console.log('');
  console.log(targetsTable(relayTargets(bench)));
  mkdirSync(join(REPO_ROOT, 'bench/results'), { recursive: true });
  writeFileSync(join(REPO_ROOT, 'bench/results/relay.json'), JSON.stringify(bench, null, 2));
}
