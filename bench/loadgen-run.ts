// Runs load-generator jobs (bench/loadgen-worker.ts), each in its own process on the load core, and merges their
// results: the relay and event-loop benches share this so both measure with exactly the same load side.
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { REPO_ROOT } from '../relay/src/testing/start-relay.ts';
import type { LoadgenJob, LoadgenResult } from './loadgen-worker.ts';

/** `taskset -c core argv…` when pinning, else argv as it is. */
export type Pin = (core: '0' | '1', argv: string[]) => [string, string[]];

/** Splits `sessions` over `workers` jobs as evenly as whole sessions allow. */
export function splitSessions(sessions: number, workers: number): number[] {
  return Array.from({ length: workers }, (_, w) => Math.floor(sessions / workers) + (w < sessions % workers ? 1 : 0));
}

export async function runLoadgenJobs(jobs: LoadgenJob[], pin: Pin): Promise<LoadgenResult> {
  const results = await Promise.all(
    jobs.map((job) => {
      const [cmd, args] = pin('1', [process.execPath, '--import', 'tsx', join(REPO_ROOT, 'bench/loadgen-worker.ts')]);
      const child = spawn(cmd, args, { env: { ...process.env, LOADGEN_JOB: JSON.stringify(job) }, stdio: ['ignore', 'pipe', 'inherit'] });
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
  const sum = (f: (r: LoadgenResult) => number) => results.reduce((n, r) => n + f(r), 0);
  return {
    opened: sum((r) => r.opened),
    failed: sum((r) => r.failed),
    sent: sum((r) => r.sent),
    received: sum((r) => r.received),
    rttMs: rtt,
    cpuSeconds: sum((r) => r.cpuSeconds),
    backlogged: sum((r) => r.backlogged),
  };
}
