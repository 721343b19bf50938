// The installed app as a person uses it: production build, real relay, real simulator, Chromium with a fake
// microphone. Phone-size screenshots go to artifacts/ (not committed).
import { execFileSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import sharp from 'sharp';
import { launchChromium } from './browser.ts';
import { speechWav } from './audio-fixtures.ts';
import { REPO_ROOT, spawnRelayProcess, startTestRelay, tempDataDir, type TestRelay } from '../relay/src/testing/start-relay.ts';
import { createSimulatorUpstreamFactory } from '../relay/src/simulator/in-process.ts';
import type { UpstreamFactory } from '../relay/src/upstream/upstream.ts';

const ARTIFACTS = join(REPO_ROOT, 'artifacts');
// Reduced motion: the pulsing Stop button is then still (and the app's reduced-motion path is exercised).
const PHONE = { viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true, reducedMotion: 'reduce' as const };

let relay: TestRelay;
let browser: Browser;
/**
 * Every Content-Security-Policy violation Chromium reported in any page, worker or the service worker since the
 * last test: the relay's CSP (relay/src/http/security-headers.ts) must let the production build do all it does.
 */
const cspViolations: string[] = [];
const isCspReport = (text: string) => /Content Security Policy|CSP violation/i.test(text);

/** Every client event type the simulator received, with its body for truncates. */
const seen: Array<{ type: string; body: Record<string, unknown> }> = [];

beforeAll(async () => {
  mkdirSync(ARTIFACTS, { recursive: true });
  const sim = createSimulatorUpstreamFactory();
  const recording: UpstreamFactory = (o, h) => {
    const up = sim(o, h);
    return {
      ...up,
      send(frame) {
        const text = typeof frame === 'string' ? frame : Buffer.from(frame).toString();
        const body = JSON.parse(text) as Record<string, unknown>;
        if (body.type !== 'input_audio_buffer.append') seen.push({ type: String(body.type), body });
        up.send(frame);
      },
    };
  };
  relay = await startTestRelay({}, { upstreamFactory: recording });
  // Short pauses around the speech: the looping fake mic talks again while the echo is still playing (barge-in).
  browser = await launchChromium({ fakeMicWav: speechWav('Hello Earshot, this is a test of the whole app.', { rate: 48_000, padSeconds: 0.8, name: 'app-turn' }) });
});

afterAll(async () => {
  await browser?.close();
  await relay?.stop();
});

async function phone(): Promise<{ context: BrowserContext; page: Page }> {
  const context = await browser.newContext(PHONE);
  // Chromium logs each violation to the console of the page or worker it happened in; the event catches the rest.
  const record = (text: string) => isCspReport(text) && cspViolations.push(text.slice(0, 300));
  context.on('console', (m) => record(m.text()));
  context.on('serviceworker', (w) => w.on('console', (m) => record(m.text())));
  await context.addInitScript(() => document.addEventListener('securitypolicyviolation', (e) => console.error(`CSP violation: ${e.violatedDirective} ${e.blockedURI}`)));
  const page = await context.newPage();
  page.on('worker', (w) => w.on('console', (m) => record(m.text())));
  page.on('pageerror', (err) => console.error('[page error]', err.message));
  return { context, page };
}

afterEach(() => {
  expect(cspViolations.splice(0), 'Content-Security-Policy violations').toEqual([]);
});

const stateLine = (page: Page) => page.getByTestId('state-line');

describe('the Earshot app in Chromium', () => {
  it('onboards from the operator link, removes the token from the address bar, and holds a hands-free turn', async () => {
    const token = await relay.mint('phone-user');
    const { context, page } = await phone();
    await page.goto(`${relay.url}/#token=${token}`);
    await page.getByRole('button', { name: 'Start conversation' }).waitFor();
    expect(page.url()).toBe(`${relay.url}/`);
    expect(await page.evaluate(() => localStorage.getItem('earshot.token'))).toBe(token);
    await page.screenshot({ path: join(ARTIFACTS, 'app-ready.png') });
    await page.getByRole('button', { name: 'Start conversation' }).click();
    await page.locator('.line.assistant').first().waitFor({ timeout: 30_000 });
    await expect.poll(() => page.locator('.line.assistant').first().innerText(), { timeout: 10_000 }).toMatch(/Echo: \d+\.\d s of speech heard/);
    await expect.poll(() => page.getByLabel('Latency of the last turn').innerText()).toMatch(/\d+ ms/);
    await page.screenshot({ path: join(ARTIFACTS, 'app-turn.png') });
    // The looping microphone speaks again while the echo plays: playback is cut and the heard part truncated.
    await expect.poll(() => seen.filter((s) => s.type === 'conversation.item.truncate').length, { timeout: 30_000 }).toBeGreaterThan(0);
    const truncate = seen.find((s) => s.type === 'conversation.item.truncate')!.body;
    expect(truncate.audio_end_ms).toBeGreaterThan(0);
    await page.getByRole('button', { name: 'Stop conversation' }).click();
    await expect.poll(() => stateLine(page).innerText()).toMatch(/Ready/);
    await context.close();
  });

  it('is served with a CSP that forbids framing, inline script and other origins (and the turn above ran under it)', async () => {
    const res = await fetch(`${relay.url}/`);
    const csp = res.headers.get('content-security-policy') ?? '';
    for (const directive of ["frame-ancestors 'none'", "script-src 'self'", "connect-src 'self'", "worker-src 'self'", "object-src 'none'"]) expect(csp).toContain(directive);
    expect(csp).not.toMatch(/unsafe|blob:|data:|\*/);
    expect(res.headers.get('referrer-policy')).toBe('no-referrer');
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    // The detector works: a page that breaks the policy is reported.
    const { context, page } = await phone();
    await page.goto(relay.url);
    await page.evaluate(() => document.head.append(Object.assign(document.createElement('script'), { textContent: 'void 0' })));
    // Both reports of it (Chromium's console line, then the event) arrive before the check that none are left.
    await expect.poll(() => cspViolations.some((v) => v.startsWith('CSP violation')) && cspViolations.some((v) => /Content Security Policy/.test(v))).toBe(true);
    cspViolations.splice(0);
    await context.close();
  });

  it('sends a text turn and shows the reply', async () => {
    const token = await relay.mint('texter');
    const { context, page } = await phone();
    await page.goto(`${relay.url}/#token=${token}`);
    await page.getByRole('button', { name: 'Settings' }).click();
    await page.getByLabel(/Hold to talk/).check();
    await page.getByRole('button', { name: 'Close settings' }).click();
    await page.getByRole('button', { name: 'Start conversation' }).click();
    await expect.poll(() => stateLine(page).innerText(), { timeout: 15_000 }).toBe('Listening');
    await page.getByLabel('Type a message').fill('What time is it?');
    await page.getByRole('button', { name: 'Send' }).click();
    await expect.poll(() => page.locator('.line.assistant').last().innerText(), { timeout: 15_000 }).toContain('Echo: you wrote "What time is it?"');
    await page.screenshot({ path: join(ARTIFACTS, 'app-text-turn.png') });
    await page.getByRole('button', { name: 'Stop conversation' }).click();
    await context.close();
  });

  it('shows a clear screen for a bad token', async () => {
    const { context, page } = await phone();
    await page.goto(`${relay.url}/#token=not-a-real-token`);
    const alert = page.getByRole('alert');
    await alert.waitFor();
    expect(await alert.innerText()).toMatch(/not valid.*new one/);
    expect(await page.evaluate(() => localStorage.getItem('earshot.token'))).toBeNull();
    await page.screenshot({ path: join(ARTIFACTS, 'app-bad-token.png') });
    await context.close();
  });

  it('is installable: manifest, icons of the right sizes, a service worker that controls the page', async () => {
    const manifest = (await (await fetch(`${relay.url}/manifest.webmanifest`)).json()) as {
      name: string;
      short_name: string;
      display: string;
      start_url: string;
      scope: string;
      theme_color: string;
      background_color: string;
      icons: Array<{ src: string; sizes: string; purpose?: string }>;
    };
    expect(manifest).toMatchObject({ name: 'Earshot', short_name: 'Earshot', display: 'standalone', start_url: '/', scope: '/' });
    expect(manifest.theme_color).toMatch(/^#/);
    expect(manifest.background_color).toMatch(/^#/);
    const need = ['192x192', '512x512'];
    for (const size of need) expect(manifest.icons.some((i) => i.sizes === size)).toBe(true);
    expect(manifest.icons.some((i) => i.purpose === 'maskable')).toBe(true);
    for (const icon of [...manifest.icons, { src: 'apple-touch-icon-180x180.png', sizes: '180x180' }]) {
      const res = await fetch(`${relay.url}/${icon.src}`);
      expect(res.headers.get('content-type')).toBe('image/png');
      const meta = await sharp(Buffer.from(await res.arrayBuffer())).metadata();
      expect(`${meta.width}x${meta.height}`).toBe(icon.sizes);
    }
    const { context, page } = await phone();
    await page.goto(relay.url);
    await page.evaluate(() => navigator.serviceWorker.ready.then(() => undefined));
    await page.reload();
    expect(await page.evaluate(() => navigator.serviceWorker.controller !== null)).toBe(true);
    const html = await page.content();
    expect(html).toContain('apple-mobile-web-app-capable');
    expect(html).toContain('rel="manifest"');
    await context.close();
  });

  it('opens offline from the service worker and says the relay is unreachable; never caches the live endpoints', async () => {
    const token = await relay.mint('offline-user');
    const { context, page } = await phone();
    await page.goto(`${relay.url}/#token=${token}`);
    await page.evaluate(() => navigator.serviceWorker.ready.then(() => undefined));
    await page.reload();
    await page.getByRole('button', { name: 'Start conversation' }).waitFor();
    const cached = await page.evaluate(async () => {
      const urls: string[] = [];
      for (const name of await caches.keys()) for (const req of await (await caches.open(name)).keys()) urls.push(new URL(req.url).pathname);
      return urls;
    });
    expect(cached).toContain('/index.html');
    expect(cached.some((u) => /^\/(v1|api|metrics|healthz)/.test(u))).toBe(false);
    await context.setOffline(true);
    await page.reload();
    await expect.poll(() => page.getByRole('status').innerText(), { timeout: 10_000 }).toMatch(/cannot be reached/);
    await page.screenshot({ path: join(ARTIFACTS, 'app-offline.png') });
    await context.close();
  });

  it('reconnects with a visible countdown after the relay process restarts, and resumes listening', { timeout: 200_000 }, async () => {
    const dataDir = tempDataDir();
    const token = (JSON.parse(
      execFileSync(process.execPath, ['--import', 'tsx', join(REPO_ROOT, 'relay/src/cli/token.ts'), 'create', '--user', 'roamer', '--json'], {
        cwd: REPO_ROOT,
        env: { ...process.env, EARSHOT_DATA_DIR: dataDir },
        encoding: 'utf8',
      }),
    ) as { token: string }).token;
    const env = { EARSHOT_DATA_DIR: dataDir, STATIC_DIR: join(REPO_ROOT, 'dist/client'), LOG_LEVEL: 'warn' };
    const first = await spawnRelayProcess({ ...env, LOG_LEVEL: 'info' });
    const { context, page } = await phone();
    await page.goto(`${first.url}/#token=${token}`);
    await page.getByRole('button', { name: 'Start conversation' }).click();
    await expect.poll(() => stateLine(page).innerText(), { timeout: 15_000 }).toMatch(/Listening|Hearing|Thinking|Speaking/);
    expect(await first.stop('SIGTERM')).toBe(0);
    await expect.poll(() => stateLine(page).innerText(), { timeout: 15_000 }).toMatch(/reconnecting in \d+ s/);
    await page.screenshot({ path: join(ARTIFACTS, 'app-reconnecting.png') });
    // The new process may wait for the old one's TIME_WAIT connections to clear the port (up to 60 s).
    const second = await spawnRelayProcess({ ...env, LOG_LEVEL: 'info', PORT: String(first.port) }, { timeoutMs: 90_000 });
    await expect.poll(() => stateLine(page).innerText(), { timeout: 60_000 }).toMatch(/Listening|Hearing|Thinking|Speaking/);
    await page.getByRole('button', { name: 'Stop conversation' }).click();
    await context.close();
    await second.stop();
  });
});
