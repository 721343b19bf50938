// The production build's playback worklet in real Chromium, driven directly from the lab page (standing in for the
// session worker) with a tap worklet recording its output sample for sample.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { launchChromium } from './browser.ts';
import { startLabServer, type LabServer } from './audio-lab-server.ts';

let server: LabServer;
let browser: Browser;

beforeAll(async () => {
  server = await startLabServer();
  browser = await launchChromium();
});

afterAll(async () => {
  await browser?.close();
  await server?.close();
});

async function openLab(): Promise<Page> {
  const page = await browser.newPage();
  page.on('pageerror', (err) => console.error('[page error]', err));
  await page.goto(`${server.url}/audio-lab.html`);
  await page.waitForSelector('body[data-ready="true"]');
  return page;
}

/** Deterministic pcm16-exact pseudo-random samples (every value k/32768), so the output can be matched exactly. */
function known(n: number, seed = 1): number[] {
  let x = seed;
  return Array.from({ length: n }, () => {
    x = (x * 1103515245 + 12345) % 2147483648;
    return ((x >> 8) % 16000 - 8000) / 32768;
  });
}

function findStart(out: number[], ref: number[], from = 64): number {
  // The first FADE_SAMPLES are faded in; match on the samples after that.
  for (let i = 0; i + from + 8 < out.length; i++) {
    let ok = true;
    for (let k = from; k < from + 8; k++) if (out[i + k] !== ref[k]) ok = false;
    if (ok) return i;
  }
  return -1;
}

describe('playback worklet (production build)', () => {
  it('plays a chunked stream back to back with no gaps or overlaps and reports the exact played count', async () => {
    const page = await openLab();
    const rate = await page.evaluate(async () => {
      window.lab.rig = await window.lab.playbackRig();
      return window.lab.rig.sampleRate;
    });
    const total = Math.round(rate * 1.5);
    const ref = known(total);
    // Send in 441-sample chunks (odd, not a multiple of 128), paced faster than real time, like the session worker.
    await page.evaluate(async (samples) => {
      const rig = window.lab.rig!;
      for (let i = 0; i < samples.length; i += 441) {
        rig.send({ kind: 'chunk', itemId: 'item_a', samples: Float32Array.from(samples.slice(i, i + 441)) });
        if (i % (441 * 20) === 0) await new Promise((r) => setTimeout(r, 50));
      }
      rig.send({ kind: 'end', itemId: 'item_a' });
    }, ref);
    await page.waitForFunction(() => window.lab.rig!.reports.some((r) => r.kind === 'drained'), null, { timeout: 10_000 });
    await page.waitForTimeout(200);
    const { samples, reports } = await page.evaluate(() => ({ samples: window.lab.rig!.recorded().samples, reports: window.lab.rig!.reports }));
    const start = findStart(samples, ref);
    expect(start).toBeGreaterThanOrEqual(0);
    let mismatches = 0;
    for (let k = 32; k < total; k++) if (samples[start + k] !== ref[k]) mismatches++;
    // After the item: a 32-sample fade of the last sample (click guard), then silence — no repeated or stray samples.
    const last = ref[total - 1]!;
    const fade = samples.slice(start + total, start + total + 32);
    const after = samples.slice(start + total + 32, start + total + 1024);
    expect(fade.every((v) => Math.abs(v) <= Math.abs(last) + 1e-9)).toBe(true);
    const started = reports.find((r) => r.kind === 'started');
    const drained = reports.find((r) => r.kind === 'drained') as { taken: number };
    const underruns = reports.filter((r) => r.kind === 'underrun').length;
    console.log(`playback @${rate} Hz: ${total} samples, ${mismatches} mismatches after the fade-in, underruns ${underruns}, drained.taken ${drained.taken}`);
    expect(mismatches).toBe(0);
    expect(underruns).toBe(0);
    expect(after.every((v) => v === 0)).toBe(true);
    expect(started).toMatchObject({ kind: 'started', itemId: 'item_a' });
    expect(drained.taken).toBe(total);
    await page.evaluate(() => window.lab.rig!.close());
    await page.close();
  });

  it('waits for the jitter target before starting, then plays what it got', async () => {
    const page = await openLab();
    const rate = await page.evaluate(async () => {
      window.lab.rig = await window.lab.playbackRig();
      return window.lab.rig.sampleRate;
    });
    const small = known(Math.round(rate * 0.03)); // 30 ms: below the 70 ms jitter target
    await page.evaluate((s) => window.lab.rig!.send({ kind: 'chunk', itemId: 'j', samples: Float32Array.from(s) }), small);
    await page.waitForTimeout(300);
    const early = await page.evaluate(() => window.lab.rig!.reports.filter((r) => r.kind === 'started').length);
    expect(early).toBe(0);
    await page.evaluate(() => window.lab.rig!.send({ kind: 'end', itemId: 'j' }));
    await page.waitForFunction(() => window.lab.rig!.reports.some((r) => r.kind === 'drained'), null, { timeout: 5_000 });
    await page.evaluate(() => window.lab.rig!.close());
    await page.close();
  });

  it('flushes to silence within one render quantum and reports exactly how much of the item was played', async () => {
    const page = await openLab();
    const rate = await page.evaluate(async () => {
      window.lab.rig = await window.lab.playbackRig();
      return window.lab.rig.sampleRate;
    });
    const ref = known(rate * 3, 7);
    await page.evaluate((s) => window.lab.rig!.send({ kind: 'chunk', itemId: 'item_b', samples: Float32Array.from(s) }), ref);
    await page.waitForFunction(() => window.lab.rig!.reports.some((r) => r.kind === 'started'), null, { timeout: 5_000 });
    await page.waitForTimeout(400);
    await page.evaluate(() => window.lab.rig!.send({ kind: 'flush' }));
    await page.waitForFunction(() => window.lab.rig!.reports.some((r) => r.kind === 'flushed'), null, { timeout: 5_000 });
    await page.waitForTimeout(300);
    const { recorded, flushed } = await page.evaluate(() => ({
      recorded: window.lab.rig!.recorded(),
      flushed: window.lab.rig!.reports.find((r) => r.kind === 'flushed') as { frame: number; items: Array<{ itemId: string; played: number }> },
    }));
    const out = recorded.samples;
    const start = findStart(out, ref);
    expect(start).toBeGreaterThanOrEqual(0);
    // Exact samples of the item in the output (the fade-out after the flush scales samples, so they stop matching).
    let played = 32;
    while (played < ref.length && out[start + played] === ref[played]) played++;
    // Everything after the item's last exact sample: the flush's fade (at most FADE_SAMPLES = 32), then silence.
    const tail = out.findLastIndex((v) => v !== 0) + 1 - (start + played);
    const silentAfter = out.length - (start + played + 32);
    console.log(`flush @${rate} Hz: ${tail} non-zero samples after the last played sample (fade), then ${silentAfter} silent samples; reported played ${flushed.items[0]?.played}, matched in output ${played}`);
    expect(flushed.items).toEqual([{ itemId: 'item_b', played }]);
    expect(tail).toBeLessThanOrEqual(32); // well inside one 128-sample render quantum
    expect(silentAfter).toBeGreaterThan(rate * 0.2);
    await page.evaluate(() => window.lab.rig!.close());
    await page.close();
  });
});
