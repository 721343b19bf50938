// `npm run bench:codec`: the client's audio path per second of audio, Earshot's DSP against the naive way, in the
// same run (the steps live in bench/codec-core.ts). Measured twice: in Node, and in a dedicated worker in headless
// Chromium — the client's real runtime, where the codec worker runs and where native base64 exists.
// Numbers only; nothing asserts.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { launchChromium } from '../e2e/browser.ts';
import { runCodecSteps, type CodecResult, type CodecRow } from './codec-core.ts';

export type { CodecRow } from './codec-core.ts';

export function runCodecBench(): CodecResult {
  return runCodecSteps(() => performance.now());
}

/**
 * Bundles codec-core for the browser (esbuild: declared, the same copy tsx runs on) and runs it in a dedicated
 * worker, like the codec worker, on a localhost page. The page is cross-origin isolated so
 * performance.now() has 5 µs rather than 100 µs resolution (the rounds are long enough either way).
 */
export async function runCodecBenchChromium(): Promise<CodecResult & { browser: string }> {
  const bundle = await build({
    stdin: {
      contents: `import { runCodecSteps } from './codec-core.ts'; postMessage(runCodecSteps(() => performance.now()));`,
      resolveDir: fileURLToPath(new URL('.', import.meta.url)),
      loader: 'ts',
    },
    bundle: true,
    format: 'iife',
    platform: 'browser',
    target: 'chrome120',
    write: false,
  });
  const script = bundle.outputFiles[0]!.text;
  const server = createServer((req, res) => {
    const headers = { 'Cross-Origin-Opener-Policy': 'same-origin', 'Cross-Origin-Embedder-Policy': 'require-corp', 'Cache-Control': 'no-store' };
    if (req.url === '/bench.js') res.writeHead(200, { ...headers, 'Content-Type': 'text/javascript' }).end(script);
    else res.writeHead(200, { ...headers, 'Content-Type': 'text/html' }).end('<!doctype html><title>codec bench</title>');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const browser = await launchChromium();
  try {
    const page = await browser.newPage();
    await page.goto(`http://127.0.0.1:${(server.address() as AddressInfo).port}/`);
    const result = await page.evaluate(
      () =>
        new Promise<CodecResult>((resolve, reject) => {
          const worker = new Worker('/bench.js');
          worker.onmessage = (e: MessageEvent<CodecResult>) => resolve(e.data);
          worker.onerror = (e) => reject(new Error(e.message));
        }),
    );
    return { ...result, browser: `Chromium ${browser.version()}` };
  } finally {
    await browser.close();
    server.close();
  }
}

export function codecTable(rows: CodecRow[]): string {
  return ['| path | Earshot µs per audio second | naive µs per audio second | speed-up |', '|---|---|---|---|', ...rows.map((r) => `| ${r.path} | ${r.earshotUs.toFixed(0)} | ${r.naiveUs.toFixed(0)} | ${r.speedup.toFixed(2)}× |`)].join('\n');
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const node = runCodecBench();
  console.log(`### Node ${process.version} (base64: ${node.base64})\n`);
  console.log(codecTable(node.rows));
  for (const q of node.quality) console.log(`- ${q}`);
  const chromium = await runCodecBenchChromium();
  console.log(`\n### ${chromium.browser}, dedicated worker (base64: ${chromium.base64})\n`);
  console.log(codecTable(chromium.rows));
  for (const q of chromium.quality) console.log(`- ${q}`);
}
