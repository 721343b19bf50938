// The whole engine on the earshot.v2 link in real Chromium with the production build: fake-mic speech -> capture
// worklet -> session worker (Opus, WebCodecs or the WASM build) -> v2 stand-in (protocol side of the relay, native
// libopus) -> the real relay and its simulator -> back as Opus -> playback worklet. Both Opus engines are driven,
// the WASM one forced with the engine's `opus: 'wasm'` setting.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser } from 'playwright-core';
import { launchChromium } from './browser.ts';
import { speechWav } from './audio-fixtures.ts';
import { speechSpans, wavSeconds } from './netem/conversation-wav.ts';
import { micStarted, pageEvents, startEngineOnPage } from './netem/phone-link.ts';
import { startV2Standin, type V2Standin } from './v2-standin.ts';
import { startTestRelay, type TestRelay } from '../relay/src/testing/start-relay.ts';
import type { EngineSettings } from '../client/src/session/engine-api.ts';

let relay: TestRelay;
let standin: V2Standin;
let browser: Browser;
let wav: string;

beforeAll(async () => {
  wav = speechWav('Hello there, can you hear me?', { rate: 48_000, padSeconds: 3, name: 'audio-relay-v2-turn' });
  relay = await startTestRelay();
  standin = await startV2Standin(relay.url);
  browser = await launchChromium({ fakeMicWav: wav });
});

afterAll(async () => {
  await browser?.close();
  await standin?.close();
  await relay?.stop();
});

const base: EngineSettings = { mode: 'hands-free', echoCancellation: true, noiseSuppression: true, autoGainControl: true, farField: false };

async function turn(opus: 'auto' | 'wasm', user: string, target: 'standin' | 'relay' = 'standin') {
  const url = target === 'relay' ? relay.url : standin.url;
  const token = await relay.mint(user);
  const page = await browser.newPage();
  page.on('pageerror', (err) => console.error('[page error]', err));
  await page.goto(`${url}/audio-lab.html`);
  await page.waitForSelector('body[data-ready="true"]');
  const before = { ...standin.stats };
  await page.evaluate(([relayUrl, t, s]) => window.lab.startEngine({ relayUrl, token: t, settings: s }), [url, token, { ...base, opus }] as const);
  await page.waitForFunction(
    () => {
      const kinds = window.lab.events.filter((e) => e.kind === 'state').map((e) => (e as { state: { kind: string } }).state.kind);
      const spoke = kinds.indexOf('speaking');
      return spoke > 0 && kinds.indexOf('listening', spoke) > spoke && window.lab.events.some((e) => e.kind === 'link');
    },
    null,
    { timeout: 40_000 },
  );
  const events = await page.evaluate(() => window.lab.events);
  const stats = await page.evaluate(() => window.lab.engine()!.debugStats());
  await page.evaluate(() => window.lab.stopEngine());
  await page.close();
  const after = standin.stats;
  return { events, stats, up: after.bytesFromApp - before.bytesFromApp, down: after.bytesToApp - before.bytesToApp };
}

const kindsOf = (events: Array<{ kind: string }>) => events.filter((e) => e.kind === 'state').map((e) => (e as unknown as { state: { kind: string } }).state.kind);

describe('engine on earshot.v2 (stand-in relay side, real relay and simulator behind it)', () => {
  for (const [opus, engine] of [['auto', 'webcodecs'], ['wasm', 'wasm']] as const) {
    it(`holds a hands-free turn with Opus both ways through ${engine}`, async () => {
      const { events, stats, up, down } = await turn(opus, `v2-${engine}`);
      const kinds = kindsOf(events);
      const latency = events.find((e) => e.kind === 'turn-latency') as { ms: number } | undefined;
      const health = events.filter((e) => e.kind === 'link').at(-1) as { health: { rttMs: number | null; quality: string } } | undefined;
      const assistant = events.filter((e) => e.kind === 'transcript' && e.role === 'assistant').at(-1) as { text?: string } | undefined;
      const s = stats.session!;
      console.log(
        `v2 ${engine}: states ${kinds.join(' > ')}; turn latency ${latency?.ms} ms (from the phone's end of speech); rtt ${health?.health.rttMs} ms, ${health?.health.quality}; ` +
          `assistant ${JSON.stringify(assistant?.text)}; up ${up} B in ${s.appendsSent} frames (of ${s.upBlocks} blocks encoded, ${s.upPackets} packets back from the encoder, ${s.upUnmatched} unmatched stamps, ${s.dtxSkipped} DTX packets not sent), down ${down} B; loopback energy ${stats.loopback?.inbound.totalAudioEnergy.toFixed(3)}`,
      );
      expect(s.link).toBe('v2');
      expect(s.opus).toBe(engine);
      expect(kinds).toEqual(expect.arrayContaining(['listening', 'hearing', 'thinking', 'speaking']));
      expect(latency?.ms).toBeGreaterThan(0);
      expect(assistant?.text).toMatch(/^Echo: /);
      expect(health?.health.rttMs).not.toBeNull();
      // Silence costs almost nothing: clearly fewer packets went out than 40 ms blocks were captured and encoded.
      expect(s.appendsSent).toBeLessThan(s.upBlocks * 0.8);
      // …and that is the uplink's decision, not the encoder's: every block came back as a packet with its own stamp
      // (Chromium's AudioEncoder with DTX dropped blocks and re-stamped the rest; e2e/opus-stamps.e2e.test.ts).
      expect(s.upPackets).toBeGreaterThanOrEqual(s.upBlocks - 2);
      expect(s.upUnmatched).toBe(0);
      expect(stats.loopback!.inbound.totalAudioEnergy).toBeGreaterThan(0);
      expect(events.filter((e) => e.kind === 'notice')).toEqual([]);
      // Opus at ~24 kbit/s with DTX against ~530 kbit/s of base64 pcm16: well under a tenth of v1's bytes.
      expect(up).toBeLessThan(s.appendsSent * 200 + 20_000);
    });
  }
});

describe('engine on earshot.v2 against the real relay (its app link, Opus pool and the simulator)', () => {
  for (const [opus, engine] of [['auto', 'webcodecs'], ['wasm', 'wasm']] as const) {
    it(`holds a hands-free turn with Opus both ways through ${engine}`, async () => {
      const { events, stats } = await turn(opus, `real-v2-${engine}`, 'relay');
      const kinds = kindsOf(events);
      const latency = events.find((e) => e.kind === 'turn-latency') as { ms: number } | undefined;
      const health = events.filter((e) => e.kind === 'link').at(-1) as { health: { rttMs: number | null; quality: string } } | undefined;
      const s = stats.session!;
      console.log(`real relay v2 ${engine}: states ${kinds.join(' > ')}; turn latency ${latency?.ms} ms; rtt ${health?.health.rttMs} ms; up ${s.bytesSent} B in ${s.appendsSent} frames of ${s.upBlocks} blocks; down ${s.bytesReceived} B`);
      expect(s.link).toBe('v2');
      expect(s.opus).toBe(engine);
      expect(kinds).toEqual(expect.arrayContaining(['listening', 'hearing', 'thinking', 'speaking']));
      expect(latency?.ms).toBeGreaterThan(0);
      expect(health?.health.rttMs).not.toBeNull();
      expect(s.appendsSent).toBeLessThan(s.upBlocks * 0.8);
      expect(stats.loopback!.inbound.totalAudioEnergy).toBeGreaterThan(0);
      expect(events.filter((e) => e.kind === 'notice')).toEqual([]);
    });
  }
});

describe('the turn-latency read-out on earshot.v2, turn after turn (real relay and simulator)', () => {
  it('matches end of speech → first sample as the test measures it from the microphone file, for every reply', async () => {
    // The fake microphone plays the file from when getUserMedia opens it and loops it, so on the page's clock the
    // end of each spoken utterance is known from the file itself; the engine's turn-latency event marks the first
    // sample of the reply played. Before the fix the read-out left out the provider's silence window (~500 ms too
    // low); with capture stamps that drift it grew by seconds per reply.
    const page = await browser.newPage();
    await startEngineOnPage(page, { url: relay.url, token: await relay.mint('v2-readout'), reports: [] });
    const REPLIES = 3;
    await page.waitForFunction((n) => window.lab.events.filter((e) => e.kind === 'turn-latency').length >= n, REPLIES, { timeout: 90_000, polling: 200 });
    const events = await pageEvents(page);
    const mic = await micStarted(page);
    await page.evaluate(() => window.lab.stopEngine());
    await page.close();
    const loopMs = wavSeconds(wav) * 1000;
    const endMs = speechSpans(wav).at(-1)!.end * 1000;
    const replies = events.flatMap((e) => (e.kind === 'turn-latency' ? [{ readOut: e.ms, sinceMic: e.t - mic!.t }] : [])).slice(0, REPLIES);
    const measured = replies.map((r) => r.sinceMic - (Math.floor((r.sinceMic - endMs) / loopMs) * loopMs + endMs));
    console.log(`turn-latency read-out ${replies.map((r) => r.readOut).join(', ')} ms; measured from the mic file ${measured.map(Math.round).join(', ')} ms`);
    expect(replies).toHaveLength(REPLIES);
    // Generous: the fake device's clock is not the page's (±30 ms), and the VAD's end of speech is not the file's
    // -40 dBFS edge after echo cancelling and gain control; a missing silence window or a drifting clock is ≥ 500 ms.
    for (const [i, r] of replies.entries()) {
      expect(r.readOut).toBeGreaterThan(measured[i]! - 250);
      expect(r.readOut).toBeLessThan(measured[i]! + 250);
    }
  });
});
