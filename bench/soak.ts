// `npm run soak`: hundreds of sessions connect to a relay process, talk (real-time appends of spoken audio, so
// the simulator's VAD answers), and leave, in equal waves. The relay's RSS and open file descriptors are sampled
// at baseline, at peak and after each wave has left, and so is its live memory (JS heap + Buffers still held after
// a forced full GC, read through the inspector). V8 keeps the heap it grew, so RSS never returns to the cold
// baseline and moves with GC timing; a leak shows as live memory that keeps growing from wave to wave.
// SOAK_SECONDS (default 180), SOAK_SESSIONS (default 300) and SOAK_WAVES (default 3) bound it.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { RealtimeTestClient, speechPcm16 } from '../relay/src/testing/realtime-client.ts';
import { InspectorSession, type LiveMemory } from '../relay/src/testing/live-memory.ts';
import { mintTokens } from '../relay/src/testing/mint-tokens.ts';
import { spawnRelayProcess, tempDataDir } from '../relay/src/testing/start-relay.ts';
import { procStats } from './stats.ts';

export interface SoakReport {
  sessions: number;
  completedTurns: number;
  failures: number;
  waves: number;
  /** `afterWaves[i]`: once wave i has left and the relay has settled; `after` is the last of them. */
  rssMb: { baseline: number; peak: number; afterWaves: number[]; after: number };
  /** Heap used + external after a full GC: at baseline and once each wave has left. */
  liveMb: { baseline: number; afterWaves: number[] };
  fds: { baseline: number; peak: number; afterWaves: number[]; after: number };
}

/**
 * Growth of live memory from the first settled wave to the last that still counts as no leak (MB). The first
 * wave is warm-up (code compiled, pools and metric children created); after it, sessions that have left must
 * leave nothing behind. Measured flat to within ~0.3 MB; a 512 KB-per-session leak adds ~15 MB per wave of 30.
 */
export const LIVE_GROWTH_LIMIT_MB = 3;

/** What `npm run soak` and its CI form require: every turn answered, descriptors back, no growth across waves. */
export function soakProblems(r: SoakReport): string[] {
  const problems: string[] = [];
  if (r.failures > 0 || r.completedTurns !== r.sessions) problems.push(`${r.failures} failed sessions, ${r.completedTurns}/${r.sessions} turns`);
  if (r.fds.after > r.fds.baseline + 10) problems.push(`file descriptors ${r.fds.baseline} -> ${r.fds.after}`);
  const growth = r.liveMb.afterWaves.at(-1)! - r.liveMb.afterWaves[0]!;
  if (growth > LIVE_GROWTH_LIMIT_MB) problems.push(`live memory grew ${growth.toFixed(1)} MB from the first wave to the last`);
  return problems;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const liveMb = (m: LiveMemory) => Math.round(((m.heapUsedBytes + m.externalBytes) / 1048576) * 10) / 10;

function fdCount(pid: number): number {
  return readdirSync(`/proc/${pid}/fd`).length;
}

export async function runSoak(options: { seconds: number; sessions: number; waves?: number; log?: (line: string) => void }): Promise<SoakReport> {
  const waves = Math.max(2, options.waves ?? 3);
  const log = options.log ?? (() => undefined);
  const dataDir = tempDataDir('earshot-soak-');
  const { soak: token } = await mintTokens(dataDir, [{ id: 'soak', maxSessions: 1000 }]);
  const relay = await spawnRelayProcess({ EARSHOT_DATA_DIR: dataDir, LOG_LEVEL: 'info', STATIC_DIR: join(dataDir, 'none') }, { nodeArgs: ['--inspect=127.0.0.1:0'] });
  const pid = relay.child.pid!;
  const inspector = await InspectorSession.connect(relay.inspectorUrl!);
  const live = async () => liveMb(await inspector.measure());
  const speech = speechPcm16('soak test, are you still there', 0.3);
  await sleep(1000);
  const liveBaseline = await live();
  const base = procStats(pid, (p) => readFileSync(p, 'utf8'));
  const baseFds = fdCount(pid);
  let peakRss = base.rssBytes;
  let peakFds = baseFds;
  const sampler = setInterval(() => {
    try {
      peakRss = Math.max(peakRss, procStats(pid, (p) => readFileSync(p, 'utf8')).rssBytes);
      peakFds = Math.max(peakFds, fdCount(pid));
    } catch {
      // process gone: reported below
    }
  }, 250);
  let completed = 0;
  let failures = 0;
  const url = `ws://127.0.0.1:${relay.port}/v1/realtime`;
  const talk = async (): Promise<void> => {
    let c: RealtimeTestClient | undefined;
    try {
      c = await RealtimeTestClient.connect(url, { headers: { authorization: `Bearer ${token}` } });
      // Deadlines generous for a loaded machine (they bound a hung session, not speed): a drop fails at once.
      await c.waitFor('session.updated', { timeoutMs: 60_000 });
      for (let i = 0; i < speech.length; i += 960) {
        c.send({ type: 'input_audio_buffer.append', audio: speech.subarray(i, i + 960).toString('base64') });
        if ((i / 960) % 5 === 4) await sleep(100); // 5 frames per 100 ms: real time
      }
      await c.waitFor('response.done', { timeoutMs: 90_000 });
      completed++;
      await c.close();
    } catch (err) {
      failures++;
      const closed = c ? await Promise.race([c.closed, sleep(100).then(() => null)]) : null;
      log(`session failed: ${(err as Error).message.slice(0, 200)} ${closed ? `(closed ${closed.code} ${closed.reason})` : ''}`);
    }
  };
  const started = Date.now();
  const settleMs = 3000;
  // Each wave's sessions are spread over its share of the run, minus the settling pause after it.
  const waveMs = Math.max(1000, (options.seconds * 1000) / waves - settleMs);
  const rssAfterWaves: number[] = [];
  const fdsAfterWaves: number[] = [];
  const liveAfterWaves: number[] = [];
  for (let w = 0; w < waves; w++) {
    const count = Math.floor(options.sessions / waves) + (w < options.sessions % waves ? 1 : 0);
    const running: Array<Promise<void>> = [];
    for (let i = 0; i < count; i++) {
      running.push(talk());
      await sleep((waveMs * 0.7) / count);
    }
    await Promise.all(running);
    await sleep(settleMs);
    rssAfterWaves.push(procStats(pid, (p) => readFileSync(p, 'utf8')).rssBytes);
    fdsAfterWaves.push(fdCount(pid));
    liveAfterWaves.push(await live());
    log(
      `wave ${w + 1}/${waves}: ${count} sessions done at ${((Date.now() - started) / 1000).toFixed(1)} s; ` +
        `live ${liveAfterWaves.at(-1)} MB, RSS ${(rssAfterWaves.at(-1)! / 1048576).toFixed(1)} MB, fds ${fdsAfterWaves.at(-1)}`,
    );
  }
  clearInterval(sampler);
  inspector.close();
  for (const line of relay.lines) if (/"level":(40|50|60)/.test(line)) log(`relay: ${line.slice(0, 300)}`);
  await relay.stop();
  const mb = (b: number) => Math.round((b / 1024 / 1024) * 10) / 10;
  return {
    sessions: options.sessions,
    completedTurns: completed,
    failures,
    waves,
    rssMb: { baseline: mb(base.rssBytes), peak: mb(peakRss), afterWaves: rssAfterWaves.map(mb), after: mb(rssAfterWaves.at(-1)!) },
    liveMb: { baseline: liveBaseline, afterWaves: liveAfterWaves },
    fds: { baseline: baseFds, peak: peakFds, afterWaves: fdsAfterWaves, after: fdsAfterWaves.at(-1)! },
  };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const report = await runSoak({
    seconds: Number(process.env.SOAK_SECONDS ?? 180),
    sessions: Number(process.env.SOAK_SESSIONS ?? 300),
    waves: Number(process.env.SOAK_WAVES ?? 3),
    log: (l) => console.error(l),
  });
  console.log('| sessions | waves | turns completed | failures | live MB after GC: baseline / after each wave | RSS MB baseline / peak / after each wave | fds baseline / peak / after each wave |');
  console.log('|---|---|---|---|---|---|---|');
  console.log(
    `| ${report.sessions} | ${report.waves} | ${report.completedTurns} | ${report.failures} | ${report.liveMb.baseline} / ${report.liveMb.afterWaves.join(', ')} | ` +
      `${report.rssMb.baseline} / ${report.rssMb.peak} / ${report.rssMb.afterWaves.join(', ')} | ${report.fds.baseline} / ${report.fds.peak} / ${report.fds.afterWaves.join(', ')} |`,
  );
  const problems = soakProblems(report);
  for (const p of problems) console.error(`soak: ${p}`);
  process.exit(problems.length === 0 ? 0 : 1);
}
