// The whole phone set-up for the mobile-profile tests and `npm run bench:mobile`: the link emulator, the real relay
// (with the in-process simulator and a provider-side recorder) in the relay namespace, and Chromium in the browser
// namespace running the production build's audio-lab page (the app's real engine, exposed on `window.lab`).
//
// The browser reaches the relay at http://10.0.0.2:<port>, which is not a secure context; Chromium is told to treat
// exactly that origin as secure (the microphone, WebCodecs and the service worker need one), as a phone gets from
// the relay's HTTPS.
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type { Browser, Page } from 'playwright-core';
import { CHROMIUM_PATH, launchChromium } from '../browser.ts';
import { REPO_ROOT } from '../../relay/src/testing/start-relay.ts';
import type { EngineEvent } from '../../client/src/session/engine-api.ts';
import { startLinkEmulator, type LinkEmulator } from './emulator.ts';
import type { LinkProfile } from './link-model.ts';
import type { ProviderReport } from './relay-in-namespace.ts';

export interface RelayInNamespace {
  url: string;
  token: string;
  /** Everything the provider side reported so far, in order. */
  reports: ProviderReport[];
}

export interface PhoneLink {
  emulator: LinkEmulator;
  relay: RelayInNamespace;
  /** Chromium in the browser namespace with `wav` as its microphone; close it before the next. */
  launchBrowser(wav: string): Promise<Browser>;
  close(): Promise<void>;
}

export async function startPhoneLink(options: { link: LinkProfile; seed?: number }): Promise<PhoneLink> {
  const emulator = await startLinkEmulator({ profile: options.link, seed: options.seed ?? 12 });
  const dir = mkdtempSync(join(tmpdir(), 'earshot-phone-'));
  const browsers = new Set<Browser>();
  try {
    const child = emulator.spawnIn('relay', process.execPath, ['--import', 'tsx', join(import.meta.dirname, 'relay-in-namespace.ts'), emulator.relayAddress], {
      cwd: REPO_ROOT,
      stdio: ['ignore', 'pipe', 'inherit'],
      env: { ...process.env, LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent' },
    });
    const reports: ProviderReport[] = [];
    const ready = await new Promise<{ url: string; token: string }>((resolve, reject) => {
      child.once('exit', (code) => reject(new Error(`relay in the namespace exited with ${code}`)));
      createInterface({ input: child.stdout! }).on('line', (line) => {
        let r: ProviderReport;
        try {
          r = JSON.parse(line) as ProviderReport;
        } catch {
          return; // a stray log line
        }
        if (r.ev === 'ready') resolve({ url: r.url, token: r.token });
        else reports.push(r);
      });
    });
    // playwright needs an executable path: this script puts Chromium into the browser namespace first.
    const launcher = join(dir, 'chromium-in-namespace.sh');
    writeFileSync(launcher, `#!/bin/sh\nexec ip netns exec ${emulator.names.browserNs} ${CHROMIUM_PATH} "$@"\n`);
    chmodSync(launcher, 0o755);
    return {
      emulator,
      relay: { url: ready.url, token: ready.token, reports },
      async launchBrowser(wav) {
        const browser = await launchChromium({ fakeMicWav: wav, executablePath: launcher, extraArgs: [`--unsafely-treat-insecure-origin-as-secure=${ready.url}`] });
        browsers.add(browser);
        browser.once('disconnected', () => browsers.delete(browser));
        return browser;
      },
      async close() {
        await Promise.all([...browsers].map((b) => b.close().catch(() => undefined)));
        await emulator.close();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  } catch (err) {
    await emulator.close();
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
}

/** An engine event as the page saw it, with the page's clock (performance.now(), ms) when it happened. */
export type TimedEngineEvent = EngineEvent & { t: number };

/** Opens the audio lab, starts the engine hands-free against the relay, and timestamps every event on the page. */
export async function startEngineOnPage(page: Page, relay: RelayInNamespace): Promise<void> {
  page.on('pageerror', (err) => console.error('[page error]', err.message));
  // When the fake microphone's file starts playing (it starts with the capture): the bench's phone clock for speech.
  await page.addInitScript(() => {
    const devices = navigator.mediaDevices;
    const open = devices.getUserMedia.bind(devices);
    devices.getUserMedia = async (constraints) => {
      const stream = await open(constraints);
      const w = window as unknown as { micStarted?: { t: number; wall: number } };
      w.micStarted ??= { t: performance.now(), wall: Date.now() };
      return stream;
    };
  });
  await page.goto(`${relay.url}/audio-lab.html`);
  await page.waitForSelector('body[data-ready="true"]');
  await page.evaluate(() => {
    const events = window.lab.events;
    const times: number[] = [];
    (window as unknown as { labTimes: number[] }).labTimes = times;
    const push = events.push.bind(events);
    events.push = (...items) => {
      for (let i = 0; i < items.length; i++) times.push(performance.now());
      return push(...items);
    };
  });
  await page.evaluate(
    ([relayUrl, token]) =>
      window.lab.startEngine({ relayUrl, token, settings: { mode: 'hands-free', echoCancellation: true, noiseSuppression: true, autoGainControl: true, farField: false } }),
    [relay.url, relay.token] as const,
  );
}

export function pageEvents(page: Page): Promise<TimedEngineEvent[]> {
  return page.evaluate(() => {
    const times = (window as unknown as { labTimes: number[] }).labTimes;
    return window.lab.events.map((e, i) => ({ ...e, t: times[i] ?? Number.NaN }));
  });
}

/** Page time and wall clock when the microphone first opened (null before). */
export const micStarted = (page: Page): Promise<{ t: number; wall: number } | null> =>
  page.evaluate(() => (window as unknown as { micStarted?: { t: number; wall: number } }).micStarted ?? null);

export const pageNow = (page: Page): Promise<number> => page.evaluate(() => performance.now());

/** Resolves once the engine's state has been `kind` (at or after page time `since`). */
export async function waitForState(page: Page, kind: string, options: { since?: number; timeoutMs: number }): Promise<number> {
  const handle = await page.waitForFunction(
    ([k, since]) => {
      const times = (window as unknown as { labTimes: number[] }).labTimes;
      const i = window.lab.events.findIndex((e, n) => e.kind === 'state' && e.state.kind === k && (times[n] ?? 0) >= since);
      return i >= 0 ? times[i]! : false;
    },
    [kind, options.since ?? 0] as const,
    { timeout: options.timeoutMs, polling: 50 },
  );
  return (await handle.jsonValue()) as number;
}

export const states = (events: TimedEngineEvent[]) => events.flatMap((e) => (e.kind === 'state' ? [{ kind: e.state.kind, t: e.t }] : []));
