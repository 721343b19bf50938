// The session worker's WebCodecs Opus encoder in real Chromium: every packet must carry the capture time of the
// block it encodes. Chromium's AudioEncoder stamps its output by counting the packets it emits (with `usedtx` it
// emits none for silence, and an input gap is invisible to it), so a wrapper that trusts `chunk.timestamp` lets the
// capture clock fall behind by every silence: the relay then maps the end of speech to too early a time and fills
// DTX gaps in the wrong place, and the app's turn-latency read-out grows each turn.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser } from 'playwright-core';
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

describe('WebCodecs Opus encoder stamps (production build)', () => {
  it('gives every packet the capture time of its own block, across a silent stretch and an input gap', async () => {
    const page = await browser.newPage();
    page.on('pageerror', (err) => console.error('[page error]', err));
    await page.goto(`${server.url}/audio-lab.html`);
    await page.waitForSelector('body[data-ready="true"]');
    // 90 blocks of 40 ms over 0–4600 ms: 1 s of tone, 1 s of digital silence, 1 s of tone, a 1 s input gap (the
    // person held nothing / muted), then 0.6 s of tone.
    const blocks: Array<{ captureMs: number; amplitude: number }> = [];
    for (let t = 0; t < 3000; t += 40) blocks.push({ captureMs: t, amplitude: t >= 1000 && t < 2000 ? 0 : 0.3 });
    for (let t = 4000; t < 4600; t += 40) blocks.push({ captureMs: t, amplitude: 0.3 });
    const packets = await page.evaluate((b) => window.lab.encodeBlocks(b), blocks);
    console.log(`webcodecs: ${blocks.length} blocks in, ${packets.length} packets out, stamps ${packets[0]?.captureMs}…${packets.at(-1)?.captureMs}`);
    // One packet per block, in order, each with its block's stamp (silence is decided by the uplink, not the
    // encoder); the flush at the end may add the encoder's look-ahead tail as one more packet right after the last.
    expect(packets.slice(0, blocks.length).map((p) => p.captureMs)).toEqual(blocks.map((b) => b.captureMs));
    expect(packets.slice(blocks.length).map((p) => p.captureMs)).toEqual(packets.length > blocks.length ? [4600] : []);
    // The tone blocks are real audio, not DTX.
    const toned = packets.slice(0, blocks.length).filter((_, i) => blocks[i]!.amplitude > 0);
    expect(toned.every((p) => p.bytes > 2)).toBe(true);
    await page.close();
  });
});
