// `npm run bench:instr`: machine instructions a relay process executes per frame pair (one 20 ms append up, its
// echoed output_audio delta down), counted by valgrind's callgrind — the repeatable measure of issue 17's per-frame
// cost on a machine whose timings move with every other process (perf's hardware counters are not available in
// this VM). The relay runs under callgrind; the upstream (bench/echo-upstream.ts) and the clients (`ws`, here)
// run natively. Each of INSTR_SESSIONS sessions runs in lock step (the next append goes when the previous one's
// echo arrived), so every frame is its own read, as under real-time load. Two relay processes are measured one
// after the other, each for INSTR_END_MS of wall time: INSTR_WARMUP + INSTR_PAIRS pairs a session, then
// INSTR_WARMUP + 3 × INSTR_PAIRS; the difference of their totals over the 2 × INSTR_PAIRS × INSTR_SESSIONS extra
// pairs is the result (see measure() for why that takes the timer-driven work out). Too few extra pairs and the
// run-to-run spread of the rest (JIT, GC) swamps it: 10 sessions × 200 extra pairs once came out negative.
// Not a timing bench, but it loads a core for minutes: do not run it beside a locked bench.
// INSTR_KEEP=1 keeps the two callgrind files (INSTR_OUT-<pairs>) for callgrind_annotate.
// Run: INSTR_RELAY=earshot|floor|reference INSTR_SESSIONS=20 INSTR_WARMUP=200 INSTR_PAIRS=500 INSTR_END_MS=200000 npm run bench:instr
//
// Callgrind counts user space only. Where the kernel's share decides (issue 17's sessions-per-core target: every
// relay makes the same socket calls per frame), INSTR_TOOL picks another measure of the same lock-step load, on
// the relay running natively, over INSTR_PAIRS pairs a session after the warm-up, in one relay lifetime:
//   cpu    — the relay's user and system CPU µs per pair (/proc/<pid>/stat, all threads; 10 ms ticks, so run
//            enough pairs: 200 sessions × 1000 pairs is ~7 s of CPU);
//   strace — the system calls per pair by name (`strace -c` attached to every thread for the window; strace slows
//            the relay, so only the counts mean anything, not its times);
//   perf   — where the relay's CPU goes, kernel included: `perf record -e cpu-clock` of every thread for the window
//            (the relay runs with --perf-basic-prof so JIT-compiled JavaScript has names), printed as µs per pair
//            by library and by function (INSTR_PERF_TOP functions, default 40). Sampling at INSTR_PERF_HZ (default
//            1999) over 200,000 pairs gives ~1,000 samples a µs-per-pair: enough to rank, not to split hairs.
// Run: INSTR_TOOL=cpu|strace|perf INSTR_RELAY=… INSTR_SESSIONS=200 INSTR_WARMUP=100 INSTR_PAIRS=1000 npm run bench:instr
// (paced: see PACE_MS; 200 sessions × 50 pairs a second)
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import WebSocket from 'ws';
import { RELAY_NODE_FLAGS } from '../relay/src/node-flags.ts';
import { SqliteStore } from '../relay/src/store/sqlite-store.ts';
import { loadOrCreateSecret } from '../relay/src/auth/secret.ts';
import { issueToken } from '../relay/src/auth/tokens.ts';
import { REPO_ROOT, tempDataDir } from '../relay/src/testing/start-relay.ts';
import { listeningUrl } from './listening.ts';
import { parseStraceSummary } from './strace-summary.ts';
import { parsePerfReport, perfPart, perfParts } from './perf-report.ts';
import { execFileSync } from 'node:child_process';
import { procStats } from './stats.ts';

const RELAY = process.env.INSTR_RELAY ?? 'earshot';
const SESSIONS = Number(process.env.INSTR_SESSIONS ?? 50);
const WARMUP = Number(process.env.INSTR_WARMUP ?? 300);
const PAIRS = Number(process.env.INSTR_PAIRS ?? 200);
const OUT = process.env.INSTR_OUT ?? `/tmp/instr-${RELAY}-${process.pid}`;
const END_MS = Number(process.env.INSTR_END_MS ?? 120_000);
const TOOL = process.env.INSTR_TOOL ?? 'callgrind';
if (!['callgrind', 'cpu', 'strace', 'perf'].includes(TOOL)) throw new Error(`INSTR_TOOL="${TOOL}": callgrind, cpu, strace or perf`);
// Natively a lock-step session would send ~1000 appends a second, and Earshot ends a session past 200 messages a
// second (limits.maxMessagesPerSecond): natively each session sends at most one append per INSTR_PACE_MS, as a
// phone does. Under callgrind the relay is ~50× slower, so lock step alone stays under the limit.
const PACE_MS = Number(process.env.INSTR_PACE_MS ?? (TOOL === 'callgrind' ? 0 : 20));

/** The child's listening URL; its stderr is shown only with INSTR_VERBOSE (uWS warns once per session). */
function started(child: ChildProcess, what: string): Promise<string> {
  child.stderr!.on('data', (c: Buffer) => {
    if (process.env.INSTR_VERBOSE) process.stderr.write(c);
  });
  return listeningUrl(child, what, { timeoutMs: 600_000 });
}

// perf names JIT-compiled functions from the /tmp/perf-<pid>.map that --perf-basic-prof writes.
// INSTR_NODE_FLAGS: more node flags for the relay under test (e.g. --trace-deopt; its output shows with INSTR_VERBOSE).
const PROFILE_FLAGS = [...(TOOL === 'perf' ? ['--perf-basic-prof'] : []), ...(process.env.INSTR_NODE_FLAGS?.split(' ').filter(Boolean) ?? [])];
const node = (script: string, env: Record<string, string>, flags: string[] = []) => [process.execPath, ...flags, ...PROFILE_FLAGS, '--import', 'tsx', join(REPO_ROOT, script)];

const sim = spawn(process.execPath, ['--import', 'tsx', join(REPO_ROOT, 'bench/echo-upstream.ts')], { cwd: REPO_ROOT, env: { PATH: process.env.PATH ?? '', PORT: '0', HOST: '127.0.0.1' }, stdio: ['ignore', 'pipe', 'pipe'] });
// Whatever happens (a throw, a timeout), the children go with this process.
const children: ChildProcess[] = [sim];
process.on('exit', () => {
  for (const c of children) c.kill('SIGKILL');
});
const simUrl = await started(sim, 'upstream');

let env: Record<string, string> = { UPSTREAM_URL: simUrl, PORT: '0' };
let headers: Record<string, string> = {};
let argv: string[];
if (RELAY === 'earshot') {
  const dataDir = tempDataDir('earshot-instr-');
  const store = await SqliteStore.open(dataDir);
  await store.upsertUser({ id: 'bench', maxSessions: 100_000 });
  const issued = await issueToken(await loadOrCreateSecret(dataDir), { userId: 'bench', days: 1 });
  await store.addToken({ id: issued.tokenId, userId: 'bench', createdAt: new Date().toISOString(), expiresAt: issued.expiresAt });
  await store.close();
  env = { EARSHOT_DATA_DIR: dataDir, UPSTREAM_URL: simUrl, LOG_LEVEL: 'info', HOST: '127.0.0.1', PORT: '0', STATIC_DIR: join(dataDir, 'none') };
  // INSTR_BENCH_OFF=size,rate,…: a benchmark build with those frame steps off (session/frame-features.ts), to price them.
  if (process.env.INSTR_BENCH_OFF) env.EARSHOT_BENCH_OFF = process.env.INSTR_BENCH_OFF;
  headers = { authorization: `Bearer ${issued.token}` };
  argv = node('relay/src/main.ts', env, [...RELAY_NODE_FLAGS]);
} else argv = node(RELAY === 'floor' ? 'bench/floor-relay.ts' : 'bench/reference-relay.ts', env);

/**
 * Total instructions (all threads) of one relay process that runs WARMUP + `pairs` pairs per session and is ended
 * with SIGTERM END_MS after it listened (callgrind writes its totals at exit). Two such runs with different `pairs`
 * but the same lifetime do the same startup, JIT warm-up and timer-driven work (accounting tick, event-loop-delay
 * sampler, sweeps: per second of wall time, inflated by callgrind's ~50x slowdown), so their difference is the
 * frame pairs alone. (A live dump, `callgrind_control -d`, is acknowledged by an Earshot relay but never written —
 * it works for the floor — so the count is taken at exit instead.)
 */
async function measure(pairs: number): Promise<{ ir: number; busyMs: number }> {
  const out = `${OUT}-${pairs}`;
  const relay = spawn('valgrind', ['--tool=callgrind', `--callgrind-out-file=${out}`, '--dump-instr=no', ...argv], { cwd: REPO_ROOT, env: { PATH: process.env.PATH ?? '', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(relay);
  const listenedAt = Date.now();
  const relayUrl = (await started(relay, RELAY)).replace(/^http/, 'ws');
  const clients = await connect(relayUrl);
  const t0 = Date.now();
  await run(clients, WARMUP);
  await run(clients, pairs);
  const busyMs = Date.now() - t0;
  // The sessions stay open until the same moment in both runs: a relay's per-session timer work (accounting tick,
  // sweeps) runs per second a session is open, and under callgrind the longer run is busy for tens of seconds
  // more, so closing them when done counted that work as per-pair cost (the first version did: SQLite and the
  // accounting tick showed up "per frame pair").
  const closeAt = listenedAt + END_MS - 10_000;
  if (closeAt - Date.now() < 5_000) throw new Error(`INSTR_END_MS=${END_MS} is too short: the run with ${pairs} pairs took ${busyMs} ms`);
  await new Promise((r) => setTimeout(r, closeAt - Date.now()));
  for (const c of clients) c.ws.close();
  await new Promise((r) => setTimeout(r, listenedAt + END_MS - Date.now()));
  const exited = new Promise((r) => relay.once('exit', r));
  relay.kill('SIGTERM');
  await exited;
  const text = readFileSync(out, 'utf8');
  // INSTR_KEEP=1 leaves the callgrind files for callgrind_annotate (where the instructions went, by function).
  if (!process.env.INSTR_KEEP) rmSync(out);
  const m = /^(?:summary|totals): (\d+)/m.exec(text);
  if (!m) throw new Error(`no callgrind totals in ${out}`);
  return { ir: Number(m[1]), busyMs };
}

const audio = Buffer.from(Uint8Array.from({ length: 960 }, (_, i) => (i * 37) & 0xff)).toString('base64');
interface Client {
  ws: WebSocket;
  seq: number;
  goal: number;
  done: () => void;
  sentAt: number;
}
/** The next append: at once in lock step, or PACE_MS after the previous one went. */
const next = (c: Client) => {
  const wait = c.sentAt + PACE_MS - performance.now();
  if (wait > 0) setTimeout(() => send(c), wait);
  else send(c);
};
const send = (c: Client) => {
  c.sentAt = performance.now();
  sendNow(c);
};
const sendNow = (c: Client) => c.ws.send(`{"type":"input_audio_buffer.append","event_id":"t:${1_000_000_000_000 + c.seq}:${c.seq}","audio":"${audio}"}`);
const connect = (relayUrl: string): Promise<Client[]> =>
  Promise.all(
    Array.from(
      { length: SESSIONS },
      () =>
        new Promise<Client>((resolve, reject) => {
          const ws = new WebSocket(`${relayUrl}/v1/realtime?model=gpt-realtime`, { headers, perMessageDeflate: false });
          const c: Client = { ws, seq: 0, goal: 0, done: () => undefined, sentAt: 0 };
          ws.on('message', (data: Buffer) => {
            if (data.indexOf('output_audio.delta') < 0) return;
            if (++c.seq < c.goal) next(c);
            else c.done();
          });
          ws.once('open', () => setTimeout(() => resolve(c), 200));
          ws.once('error', reject);
        }),
    ),
  );

/** Every client runs `pairs` more pairs in lock step. */
const run = (clients: Client[], pairs: number) =>
  Promise.all(
    clients.map(
      (c) =>
        new Promise<void>((resolve) => {
          c.goal = c.seq + pairs;
          c.done = resolve;
          send(c);
        }),
    ),
  );

/** INSTR_TOOL=cpu|strace|perf: one native relay, measured over PAIRS pairs a session after the warm-up. */
async function measureNative(): Promise<void> {
  const [cmd, ...args] = argv;
  const relay = spawn(cmd!, args, { cwd: REPO_ROOT, env: { PATH: process.env.PATH ?? '', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(relay);
  const relayUrl = (await started(relay, RELAY)).replace(/^http/, 'ws');
  const clients = await connect(relayUrl);
  await run(clients, WARMUP);
  const pid = relay.pid!;
  const pairs = PAIRS * SESSIONS;
  if (TOOL === 'cpu') {
    const read = (path: string) => readFileSync(path, 'utf8');
    const a = procStats(pid, read);
    const t0 = Date.now();
    await run(clients, PAIRS);
    const busyMs = Date.now() - t0;
    const b = procStats(pid, read);
    const perPair = (seconds: number) => Math.round(((seconds * 1e6) / pairs) * 100) / 100;
    console.log(JSON.stringify({ tool: 'cpu', relay: RELAY, sessions: SESSIONS, pairs, busyMs, userUsPerPair: perPair(b.userSeconds - a.userSeconds), systemUsPerPair: perPair(b.systemSeconds - a.systemSeconds) }));
  } else if (TOOL === 'perf') {
    const out = `${OUT}.perf`;
    const hz = Number(process.env.INSTR_PERF_HZ ?? 1999);
    const perf = spawn('perf', ['record', '-e', 'cpu-clock', '-F', String(hz), '-p', String(pid), '-o', out], { stdio: ['ignore', 'ignore', 'pipe'] });
    children.push(perf);
    // perf says nothing when it attached; it has by the time it has opened its output file.
    await new Promise((r) => setTimeout(r, 500));
    const t0 = Date.now();
    await run(clients, PAIRS);
    const busyMs = Date.now() - t0;
    const exited = new Promise((r) => perf.once('exit', r));
    perf.kill('SIGINT');
    await exited;
    const text = execFileSync('perf', ['report', '-i', out, '--stdio', '--no-children', '--sort', 'dso,sym', '-n', '-q'], { encoding: 'utf8', maxBuffer: 256 << 20, stdio: ['ignore', 'pipe', 'ignore'] });
    if (!process.env.INSTR_KEEP) rmSync(out);
    const rows = parsePerfReport(text);
    // One sample is 1/hz s of one thread's CPU; per pair in µs.
    const us = (samples: number) => Math.round(((samples * 1e6) / hz / pairs) * 100) / 100;
    const total = rows.reduce((x, r) => x + r.samples, 0);
    console.log(JSON.stringify({ tool: 'perf', relay: RELAY, sessions: SESSIONS, pairs, busyMs, hz, samples: total, usPerPair: us(total), parts: Object.fromEntries(perfParts(rows).map(([p, n]) => [p, us(n)])) }));
    const top = Number(process.env.INSTR_PERF_TOP ?? 40);
    for (const r of rows.slice(0, top)) console.log(`${us(r.samples).toFixed(2).padStart(6)} µs  ${perfPart(r).padEnd(24)} ${r.sym.slice(0, 140)}`);
  } else {
    const out = `${OUT}.strace`;
    // -f on the process attaches every thread ("Process N attached with M threads", on stderr) and any new one.
    const strace = spawn('strace', ['-c', '-f', '-o', out, '-p', String(pid)], { stdio: ['ignore', 'ignore', 'pipe'] });
    children.push(strace);
    await new Promise<void>((resolve) => {
      strace.stderr!.on('data', (c: Buffer) => {
        if (c.toString().includes('attached')) resolve();
      });
    });
    await run(clients, PAIRS);
    const exited = new Promise((r) => strace.once('exit', r));
    strace.kill('SIGINT');
    await exited;
    const calls = parseStraceSummary(readFileSync(out, 'utf8'));
    if (!process.env.INSTR_KEEP) rmSync(out);
    const perPair = Object.fromEntries([...calls].sort((x, y) => y[1] - x[1]).map(([name, n]) => [name, Math.round((n / pairs) * 1000) / 1000]));
    const total = [...calls.values()].reduce((x, y) => x + y, 0);
    console.log(JSON.stringify({ tool: 'strace', relay: RELAY, sessions: SESSIONS, pairs, syscallsPerPair: Math.round((total / pairs) * 1000) / 1000, perPair }));
  }
  for (const c of clients) c.ws.close();
  relay.kill('SIGTERM');
}

if (TOOL === 'callgrind') {
  const short = await measure(PAIRS);
  const long = await measure(3 * PAIRS);
  const pairs = 2 * PAIRS * SESSIONS;
  console.log(JSON.stringify({ relay: RELAY, sessions: SESSIONS, extraPairs: pairs, endMs: END_MS, busyMs: [short.busyMs, long.busyMs], irPerPair: Math.round((long.ir - short.ir) / pairs) }));
} else await measureNative();
sim.kill('SIGKILL');
process.exit(0);
