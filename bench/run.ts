// `npm run bench`: relay, frame path, codec and latency benchmarks in one run; prints every table, then ONE
// summary of issue 17's targets (value today, pass/fail). Results also go to bench/results/ (not committed).
// BENCH_SIZES, BENCH_REPEATS, BENCH_WINDOW_MS, LATENCY_TURNS tune it.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from '../relay/src/testing/start-relay.ts';
import { codecTable, runCodecBench, runCodecBenchChromium } from './codec.ts';
import { latencyTable, runLatencyBench } from './latency.ts';
import { framePathTable, runFramePathBench } from './frame-path.ts';
import { calibrationTable, capacityTable, relayTable, relayTargets, runRelayBench, targetsTable } from './relay.ts';

const started = Date.now();
// The codec runs in the browser's worker in production, so Chromium's table is the one that matters; Node's is
// printed beside it because it is the runtime the unit tests check quality in.
const codec = runCodecBench();
const codecChromium = await runCodecBenchChromium();
console.log('## Audio path (bench:codec)\n');
console.log(`### ${codecChromium.browser}, dedicated worker (base64: ${codecChromium.base64})\n`);
console.log(codecTable(codecChromium.rows));
for (const q of codecChromium.quality) console.log(`- ${q}`);
console.log(`\n### Node ${process.version} (base64: ${codec.base64})\n`);
console.log(codecTable(codec.rows));
for (const q of codec.quality) console.log(`- ${q}`);
const latency = await runLatencyBench(Number(process.env.LATENCY_TURNS ?? 10));
console.log('\n## Latency (bench:latency)\n');
console.log(latencyTable(latency));
const framePath = runFramePathBench();
console.log('\n## Relay frame path, in process (bench:frame-path)\n');
console.log(framePathTable(framePath));
const relay = await runRelayBench();
console.log(`\n## Relay (bench:relay; ${relay.pinned ? 'relay on core 0, load + upstream on core 1' : 'not pinned'}; median of ${relay.repeats})\n`);
console.log('### Load side alone (calibration: load generator straight to the upstream)\n');
console.log(calibrationTable(relay));
console.log('\n### Relays\n');
console.log(relayTable(relay));
console.log('\n### Capacity search (sessions per core)\n');
console.log(capacityTable(relay));
const all = framePath.find((r) => r.feature === 'all')!;
const targets = [
  ...relayTargets(relay),
  { target: "relay's own work per frame pair (in process; table above prices each step)", value: `${(all.nsPerPair / 1000).toFixed(2)} µs`, pass: null },
];
console.log('\n## Summary (issue 17 targets)\n');
console.log(targetsTable(targets));
console.log(`\n(total ${((Date.now() - started) / 60_000).toFixed(1)} min)`);
mkdirSync(join(REPO_ROOT, 'bench/results'), { recursive: true });
writeFileSync(join(REPO_ROOT, 'bench/results/all.json'), JSON.stringify({ codec, codecChromium, latency, framePath, relay, targets }, null, 2));
