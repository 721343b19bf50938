// `npm run bench:latency`: Chromium with a fake microphone, through the real relay and the simulator, 10 turns:
// time from speech_stopped reaching the client to the first assistant sample played by the playback worklet, and
// capture-to-wire for a frame (frame length + codec worker handling). Needs the production build (dist/client).
import { launchChromium } from '../e2e/browser.ts';
import { speechWav } from '../e2e/audio-fixtures.ts';
import { ensurePwaBuilt } from '../relay/src/testing/build-pwa.ts';
import { startTestRelay } from '../relay/src/testing/start-relay.ts';
import { percentile } from './stats.ts';

export interface LatencyReport {
  turns: number[];
  median: number;
  p95: number;
  frameMs: number;
  codecMsPerFrame: number;
  silenceWindowMs: number;
}

export async function runLatencyBench(turns = 10): Promise<LatencyReport> {
  ensurePwaBuilt();
  const relay = await startTestRelay();
  const token = await relay.mint('latency', { user: { maxSessions: 5 } });
  // Short utterance, long enough pauses that each loop of the fake mic is one clean turn.
  const browser = await launchChromium({ fakeMicWav: speechWav('One, two, three.', { rate: 48_000, padSeconds: 1.6, name: 'bench-latency' }) });
  try {
    const page = await browser.newPage();
    await page.goto(`${relay.url}/audio-lab.html`);
    await page.waitForSelector('body[data-ready="true"]');
    await page.evaluate(
      ([relayUrl, t]) =>
        window.lab.startEngine({ relayUrl, token: t, settings: { mode: 'hands-free', echoCancellation: true, noiseSuppression: true, autoGainControl: true, farField: false } }),
      [relay.url, token] as const,
    );
    await page.waitForFunction((n) => window.lab.events.filter((e) => e.kind === 'turn-latency').length >= n, turns, { timeout: 150_000, polling: 500 });
    const events = await page.evaluate(() => window.lab.events);
    const stats = await page.evaluate(() => window.lab.engine()!.debugStats());
    await page.evaluate(() => window.lab.stopEngine());
    const values = events.filter((e): e is { kind: 'turn-latency'; ms: number } => e.kind === 'turn-latency').map((e) => e.ms).slice(0, turns);
    const sorted = [...values].sort((a, b) => a - b);
    return {
      turns: values,
      median: percentile(sorted, 50),
      p95: percentile(sorted, 95),
      frameMs: 20,
      codecMsPerFrame: stats.session?.meanFrameHandlingMs ?? Number.NaN,
      silenceWindowMs: relay.config.policy.turnDetection?.type === 'server_vad' ? relay.config.policy.turnDetection.silence_duration_ms : Number.NaN,
    };
  } finally {
    await browser.close();
    await relay.stop();
  }
}

export function latencyTable(r: LatencyReport): string {
  return [
    '| measure | median | p95 |',
    '|---|---|---|',
    `| speech_stopped → first assistant sample played (ms, ${r.turns.length} turns) | ${r.median.toFixed(0)} | ${r.p95.toFixed(0)} |`,
    `| capture → wire for one frame (ms: ${r.frameMs} ms frame + codec worker) | ${(r.frameMs + r.codecMsPerFrame).toFixed(2)} | — |`,
    `(the provider's VAD waits ${r.silenceWindowMs} ms of silence before speech_stopped; the figures above are what client and relay add)`,
  ].join('\n');
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const r = await runLatencyBench(Number(process.env.LATENCY_TURNS ?? 10));
  console.log(latencyTable(r));
  console.log(`turns: ${r.turns.join(', ')}`);
}
