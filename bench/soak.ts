// `npm run soak`: hundreds of sessions connect to a relay process, talk (real-time appends of spoken audio, so
// the simulator's VAD answers), and leave, in waves. The relay's RSS and open file descriptors are sampled at
// baseline, at peak and after everyone left; they must come back near baseline.
// SOAK_SECONDS (default 180) and SOAK_SESSIONS (default 300) bound it.
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { RealtimeTestClient, speechPcm16 } from '../relay/src/testing/realtime-client.ts';
import { REPO_ROOT, spawnRelayProcess, tempDataDir } from '../relay/src/testing/start-relay.ts';
import { procStats } from './stats.ts';

export interface SoakReport {
  sessions: number;
  completedTurns: number;
  failures: number;
  rssMb: { baseline: number; peak: number; after: number };
  fds: { baseline: number; peak: number; after: number };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function fdCount(pid: number): number {
  return readdirSync(`/proc/${pid}/fd`).length;
}

export async function runSoak(options: { seconds: number; sessions: number; log?: (line: string) => void }): Promise<SoakReport> {
  const log = options.log ?? (() => undefined);
  const dataDir = tempDataDir('earshot-soak-');
  const cli = (...args: string[]) => execFileSync(process.execPath, ['--import', 'tsx', join(REPO_ROOT, 'relay/src/cli', ...args.slice(0, 1)), ...args.slice(1)], { cwd: REPO_ROOT, env: { ...process.env, EARSHOT_DATA_DIR: dataDir }, encoding: 'utf8' });
  cli('users.ts', 'add', 'soak', '--max-sessions', '1000');
  const token = (JSON.parse(cli('token.ts', 'create', '--user', 'soak', '--json')) as { token: string }).token;
  const relay = await spawnRelayProcess({ EARSHOT_DATA_DIR: dataDir, LOG_LEVEL: 'info', STATIC_DIR: join(dataDir, 'none') });
  const pid = relay.child.pid!;
  const speech = speechPcm16('soak test, are you still there', 0.3);
  await sleep(1000);
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
      await c.waitFor('session.updated');
      for (let i = 0; i < speech.length; i += 960) {
        c.send({ type: 'input_audio_buffer.append', audio: speech.subarray(i, i + 960).toString('base64') });
        if ((i / 960) % 5 === 4) await sleep(100); // 5 frames per 100 ms: real time
      }
      await c.waitFor('response.done', { timeoutMs: 20_000 });
      completed++;
      await c.close();
    } catch (err) {
      failures++;
      const closed = c ? await Promise.race([c.closed, sleep(100).then(() => null)]) : null;
      log(`session failed: ${(err as Error).message.slice(0, 200)} ${closed ? `(closed ${closed.code} ${closed.reason})` : ''}`);
    }
  };
  const started = Date.now();
  const running: Array<Promise<void>> = [];
  // Spread the sessions evenly over the first 70 % of the run so everyone has time to finish.
  const spacing = (options.seconds * 700) / options.sessions;
  for (let i = 0; i < options.sessions; i++) {
    running.push(talk());
    await sleep(spacing);
  }
  await Promise.all(running);
  log(`all ${options.sessions} sessions done after ${((Date.now() - started) / 1000).toFixed(1)} s`);
  await sleep(5000);
  clearInterval(sampler);
  const after = procStats(pid, (p) => readFileSync(p, 'utf8'));
  const afterFds = fdCount(pid);
  for (const line of relay.lines) if (/"level":(40|50|60)/.test(line)) log(`relay: ${line.slice(0, 300)}`);
  await relay.stop();
  const mb = (b: number) => Math.round((b / 1024 / 1024) * 10) / 10;
  return {
    sessions: options.sessions,
    completedTurns: completed,
    failures,
    rssMb: { baseline: mb(base.rssBytes), peak: mb(peakRss), after: mb(after.rssBytes) },
    fds: { baseline: baseFds, peak: peakFds, after: afterFds },
  };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const report = await runSoak({ seconds: Number(process.env.SOAK_SECONDS ?? 180), sessions: Number(process.env.SOAK_SESSIONS ?? 300), log: (l) => console.error(l) });
  console.log('| sessions | turns completed | failures | RSS MB baseline / peak / after | fds baseline / peak / after |');
  console.log('|---|---|---|---|---|');
  console.log(`| ${report.sessions} | ${report.completedTurns} | ${report.failures} | ${report.rssMb.baseline} / ${report.rssMb.peak} / ${report.rssMb.after} | ${report.fds.baseline} / ${report.fds.peak} / ${report.fds.after} |`);
  const ok = report.failures === 0 && report.rssMb.after <= report.rssMb.baseline + 60 && report.fds.after <= report.fds.baseline + 10;
  process.exit(ok ? 0 : 1);
}
