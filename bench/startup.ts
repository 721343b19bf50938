// `npm run bench:startup`: how long the relay takes from spawn to "listening", built (dist/relay/earshot.js, what
// a production install runs) against the TypeScript sources through tsx (`npm run serve`), alternating runs so
// machine noise hits both alike. Each run gets a fresh data dir (first-run work included). STARTUP_RUNS tunes it.
import { rmSync } from 'node:fs';
import { buildEarshot } from '../relay/src/testing/built-earshot.ts';
import { spawnRelayProcess, tempDataDir } from '../relay/src/testing/start-relay.ts';
import { percentile } from './stats.ts';

const median = (values: number[]): number => percentile([...values].sort((a, b) => a - b), 50);

const runs = Number(process.env.STARTUP_RUNS ?? 7);
const bin = buildEarshot();
const variants = { built: [bin, 'serve'], tsx: undefined } as const;
const times: Record<keyof typeof variants, number[]> = { built: [], tsx: [] };
for (let i = 0; i < runs; i++) {
  for (const [name, script] of Object.entries(variants) as Array<[keyof typeof variants, string[] | undefined]>) {
    const dataDir = tempDataDir('earshot-startup-');
    const started = performance.now();
    const relay = await spawnRelayProcess({ EARSHOT_DATA_DIR: dataDir }, script ? { script: [...script] } : {});
    times[name].push(performance.now() - started);
    await relay.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}
console.log('| start | median ms | min ms | max ms |\n|---|---|---|---|');
for (const [name, t] of Object.entries(times)) console.log(`| ${name} | ${median(t).toFixed(0)} | ${Math.min(...t).toFixed(0)} | ${Math.max(...t).toFixed(0)} |`);
console.log(`\nbuilt / tsx: ${(median(times.built) / median(times.tsx)).toFixed(2)}× (${runs} runs each)`);
