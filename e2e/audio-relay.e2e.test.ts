// The whole engine against the real relay and its built-in simulator: fake-mic speech -> capture worklet ->
// session worker -> relay -> simulator VAD and reply -> session worker -> playback worklet -> echo-cancel loopback.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser } from 'playwright-core';
import { launchChromium } from './browser.ts';
import { speechWav } from './audio-fixtures.ts';
import { startTestRelay, type TestRelay } from '../relay/src/testing/start-relay.ts';
import { createSimulatorUpstreamFactory } from '../relay/src/simulator/in-process.ts';
import type { EngineSettings } from '../client/src/session/engine-api.ts';
import { APP_UP_FRAME_MS } from '../protocol/app-link.ts';
import { FRAME_MS } from '../protocol/constants.ts';

let relay: TestRelay;
let shortRelay: TestRelay;
let browser: Browser;

beforeAll(async () => {
  // Long trailing silence so the reply plays out before the looping fake mic speaks again.
  const wav = speechWav('Hello there, can you hear me?', { rate: 48_000, padSeconds: 3, name: 'audio-relay-turn' });
  relay = await startTestRelay();
  // A provider whose sessions expire after 4 s, like the real one does after 60 minutes.
  shortRelay = await startTestRelay({}, { upstreamFactory: createSimulatorUpstreamFactory({ maxSessionMs: 4000 }) });
  browser = await launchChromium({ fakeMicWav: wav });
});

afterAll(async () => {
  await browser?.close();
  await relay?.stop();
  await shortRelay?.stop();
});

const stateKinds = (events: Array<{ kind: string }>) => events.filter((e) => e.kind === 'state').map((e) => (e as unknown as { state: { kind: string } }).state.kind);

describe('engine against the real relay and simulator', () => {
  it('holds a hands-free turn: hearing, thinking, speaking through the loopback, back to listening', async () => {
    const token = await relay.mint('lab-user');
    const page = await browser.newPage();
    page.on('pageerror', (err) => console.error('[page error]', err));
    await page.goto(`${relay.url}/audio-lab.html`);
    await page.waitForSelector('body[data-ready="true"]');
    await page.evaluate(
      ([relayUrl, t]) =>
        window.lab.startEngine({
          relayUrl,
          token: t,
          settings: { mode: 'hands-free', echoCancellation: true, noiseSuppression: true, autoGainControl: true, farField: true },
          withCanvas: true,
        }),
      [relay.url, token] as const,
    );
    await page.waitForFunction(
      () => {
        const kinds = window.lab.events.filter((e) => e.kind === 'state').map((e) => (e as { state: { kind: string } }).state.kind);
        const spoke = kinds.indexOf('speaking');
        return spoke > 0 && kinds.indexOf('listening', spoke) > spoke;
      },
      null,
      { timeout: 30_000 },
    );
    const events = await page.evaluate(() => window.lab.events);
    const kinds = events.filter((e) => e.kind === 'state').map((e) => (e as { state: { kind: string } }).state.kind);
    const latency = events.find((e) => e.kind === 'turn-latency') as { ms: number } | undefined;
    const assistant = events.filter((e) => e.kind === 'transcript' && e.role === 'assistant').at(-1);
    const stats = await page.evaluate(() => window.lab.engine()!.debugStats());
    console.log(`relay turn: states ${kinds.join(' > ')}; turn latency ${latency?.ms} ms; assistant said ${JSON.stringify((assistant as { text?: string })?.text)}; loopback inbound energy ${stats.loopback?.inbound.totalAudioEnergy.toFixed(4)}; appends ${stats.session?.appendsSent}`);
    expect(kinds.slice(0, 2)).toEqual(['connecting', 'listening']);
    expect(kinds).toContain('hearing');
    expect(kinds).toContain('thinking');
    expect(latency?.ms).toBeGreaterThan(0);
    expect(events.some((e) => e.kind === 'session')).toBe(true);
    expect(stats.output).toBe('webrtc-loopback');
    expect(stats.loopback!.inbound.totalAudioEnergy).toBeGreaterThan(0);
    expect(events.filter((e) => e.kind === 'notice')).toEqual([]);
    await page.evaluate(() => window.lab.stopEngine());
    await page.close();
  });

  it('in hold-to-talk sends audio only while held, then commits and gets an answer on release', async () => {
    const token = await relay.mint('lab-user-2');
    const page = await browser.newPage();
    await page.goto(`${relay.url}/audio-lab.html`);
    await page.waitForSelector('body[data-ready="true"]');
    const settings: EngineSettings = { mode: 'hold-to-talk', echoCancellation: true, noiseSuppression: true, autoGainControl: true, farField: false };
    await page.evaluate(([relayUrl, t, s]) => window.lab.startEngine({ relayUrl, token: t, settings: s }), [relay.url, token, settings] as const);
    await page.waitForFunction(() => window.lab.events.some((e) => e.kind === 'state' && e.state.kind === 'listening'), null, { timeout: 10_000 });
    await page.waitForTimeout(1000);
    const idleAppends = (await page.evaluate(() => window.lab.engine()!.debugStats())).session!.appendsSent;
    await page.evaluate(() => window.lab.engine()!.setTalking(true));
    await page.waitForTimeout(2500);
    await page.evaluate(() => window.lab.engine()!.setTalking(false));
    await page.waitForFunction(() => window.lab.events.some((e) => e.kind === 'turn-latency'), null, { timeout: 20_000 });
    const events = await page.evaluate(() => window.lab.events);
    const session = (await page.evaluate(() => window.lab.engine()!.debugStats())).session!;
    const heldAppends = session.appendsSent;
    // What went out, in ms of audio: 20 ms appends on earshot.v1, 40 ms Opus packets on earshot.v2 (the default;
    // silent packets are not sent there), so the hold is judged by duration, not by message count.
    const heldMs = heldAppends * (session.link === 'v2' ? APP_UP_FRAME_MS : FRAME_MS);
    console.log(`hold-to-talk (${session.link}): appends while idle ${idleAppends}, after a 2.5 s hold ${heldAppends} (${heldMs} ms of audio); states ${stateKinds(events).join(' > ')}`);
    expect(idleAppends).toBe(0);
    expect(heldMs).toBeGreaterThan(1500);
    expect(stateKinds(events)).toEqual(expect.arrayContaining(['hearing', 'thinking', 'speaking']));
    expect(events.filter((e) => e.kind === 'notice')).toEqual([]);
    await page.evaluate(() => window.lab.stopEngine());
    await page.close();
  });

  it('starts a fresh session by itself when the provider session expires, without an error', async () => {
    const token = await shortRelay.mint('lab-user-3');
    const page = await browser.newPage();
    await page.goto(`${shortRelay.url}/audio-lab.html`);
    await page.waitForSelector('body[data-ready="true"]');
    const settings: EngineSettings = { mode: 'hands-free', echoCancellation: true, noiseSuppression: true, autoGainControl: true, farField: false };
    await page.evaluate(([relayUrl, t, s]) => window.lab.startEngine({ relayUrl, token: t, settings: s }), [shortRelay.url, token, settings] as const);
    // (waitForFunction would treat the predicate's Promise as truthy, so poll from here.)
    const deadline = Date.now() + 20_000;
    let sessions = 0;
    while (sessions < 2 && Date.now() < deadline) {
      await page.waitForTimeout(250);
      sessions = (await page.evaluate(() => window.lab.engine()!.debugStats())).session?.sessions ?? 0;
    }
    expect(sessions).toBeGreaterThanOrEqual(2);
    const events = await page.evaluate(() => window.lab.events);
    console.log(`expiry: states ${stateKinds(events).join(" > ")}; sessions ${(await page.evaluate(() => window.lab.engine()!.debugStats())).session?.sessions}`);
    expect(stateKinds(events)).not.toContain('error');
    expect(stateKinds(events).at(-1)).not.toBe('idle');
    await page.evaluate(() => window.lab.stopEngine());
    await page.close();
  });
});
