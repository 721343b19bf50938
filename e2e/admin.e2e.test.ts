// The operator console in Chromium against the real relay (production build, in-process simulator, the real
// accounting writing the usage log): sign in with a one-time link, each page, and what it does to real
// sessions — a phone context onboarded from the QR code decoded off the screen, limits and revocation closing
// live sessions, charts drawn from the usage of a conversation spoken through the simulator.
// Screenshots of every page at desktop and phone size go to artifacts/ (not committed).
import { mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import jsQR from 'jsqr';
import pino from 'pino';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { PNG } from 'pngjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAccounting, type Accounting } from '../relay/src/accounts/accounting.ts';
import { AdminState } from '../relay/src/admin/admin-state.ts';
import { RealtimeTestClient } from '../relay/src/testing/realtime-client.ts';
import { REPO_ROOT, startTestRelay, tempDataDir, type TestRelay } from '../relay/src/testing/start-relay.ts';
import { until } from '../relay/src/testing/until.ts';
import { speechWav } from './audio-fixtures.ts';
import { launchChromium } from './browser.ts';

const ARTIFACTS = join(REPO_ROOT, 'artifacts');
const DESKTOP = { viewport: { width: 1280, height: 860 } };
const PHONE = { viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true, reducedMotion: 'reduce' as const };
const silent = pino({ level: 'silent' });

let relay: TestRelay;
let accounting: Accounting;
let browser: Browser;
let desktop: BrowserContext;
let consolePage: Page;
const pageErrors: string[] = [];

beforeAll(async () => {
  mkdirSync(ARTIFACTS, { recursive: true });
  const dataDir = tempDataDir('earshot-admin-e2e-');
  accounting = await createAccounting({ log: silent, flushIntervalMs: 200 });
  relay = await startTestRelay({ dataDir }, { hooksFactory: accounting.hooksFactory, quotaExceeded: (u, user) => accounting.quotaExceeded(u, user) });
  accounting.attach({ store: relay.store, metrics: relay.metrics });
  await relay.store.upsertUser({ id: 'owner' });
  browser = await launchChromium({ fakeMicWav: speechWav('Hello operator, this is a phone talking to Earshot.', { rate: 48_000, padSeconds: 0.8, name: 'admin-turn' }) });
  desktop = await browser.newContext(DESKTOP);
  consolePage = await desktop.newPage();
  consolePage.on('pageerror', (err) => pageErrors.push(err.message));
  consolePage.on('console', (m) => m.type() === 'error' && /Content Security Policy/i.test(m.text()) && pageErrors.push(m.text()));
});

afterAll(async () => {
  await browser?.close();
  await relay?.stop();
  await accounting?.close();
});

const goto = async (page: Page, section: string) => {
  await page.getByRole('navigation', { name: 'Console sections' }).getByRole('link', { name: section, exact: true }).click();
  await page.getByRole('heading', { level: 1, name: section }).waitFor();
};

/** Every page at desktop and phone size (the phone context shares the sign-in: its own one-time link). */
async function screenshots(page: Page, name: string): Promise<void> {
  await page.screenshot({ path: join(ARTIFACTS, `admin-${name}-desktop.png`), fullPage: true });
}

describe('the operator console in Chromium', () => {
  it('signs in with a one-time link, takes the link out of the address bar, and the link is spent', async () => {
    const { secret } = new AdminState(relay.config.dataDir).mintLink('owner');
    await consolePage.goto(`${relay.url}/admin/#signin=${secret}`);
    await consolePage.getByRole('heading', { level: 1, name: 'People' }).waitFor();
    expect(consolePage.url()).toBe(`${relay.url}/admin/#people`);
    const cookies = await desktop.cookies(relay.url + '/admin');
    expect(cookies.find((c) => c.name === 'earshot_admin')).toMatchObject({ httpOnly: true, secure: true, sameSite: 'Strict', path: '/admin' });
    // The same link in a second browser is refused.
    const other = await browser.newContext(DESKTOP);
    const second = await other.newPage();
    await second.goto(`${relay.url}/admin/#signin=${secret}`);
    await expect.poll(() => second.getByRole('alert').innerText()).toMatch(/already used or expired/);
    await second.screenshot({ path: join(ARTIFACTS, 'admin-signin-refused-desktop.png') });
    await other.close();
  });

  it('adds a person with limits from the People page (as the store the relay enforces from records it)', async () => {
    await consolePage.getByText('Add a person').click();
    const form = consolePage.getByRole('form', { name: 'Add a person' });
    await form.getByLabel('Name').fill('gina');
    await form.getByLabel('Conversations at once').fill('2');
    await form.getByLabel('Minutes per day').fill('30');
    await form.getByLabel('Tokens per month').fill('500000');
    await form.getByLabel('Voice').selectOption('cedar');
    await form.getByLabel('Instructions').fill('Answer in one sentence.');
    await form.getByRole('button', { name: 'Add person' }).click();
    await consolePage.locator('tr[data-person="gina"]').waitFor();
    expect(await relay.store.getUser('gina')).toMatchObject({ maxSessions: 2, dailyMinutes: 30, monthlyMinutes: null, monthlyTokens: 500000, voice: 'cedar', instructions: 'Answer in one sentence.' });
    await screenshots(consolePage, 'people');
  });

  let phoneLink = '';
  it('shows a QR code that decodes (off a screenshot) to a link that onboards a phone', async () => {
    await goto(consolePage, 'Links');
    await consolePage.getByLabel('Person').selectOption('gina');
    await consolePage.getByRole('button', { name: 'Make link' }).click();
    const qr = consolePage.getByTestId('link-qr');
    await qr.waitFor();
    await screenshots(consolePage, 'links');
    const png = PNG.sync.read(await qr.screenshot());
    const decoded = jsQR(new Uint8ClampedArray(png.data.buffer, png.data.byteOffset, png.data.byteLength), png.width, png.height);
    expect(decoded?.data).toMatch(new RegExp(`^${relay.url}/#token=`));
    phoneLink = decoded!.data;
    expect(await consolePage.getByLabel('Or send this link (it is shown only now):').inputValue()).toBe(phoneLink);
    await consolePage.getByRole('button', { name: 'Done' }).click();

    const phone = await browser.newContext(PHONE);
    const page = await phone.newPage();
    await page.goto(phoneLink);
    await page.getByRole('button', { name: 'Start conversation' }).waitFor();
    expect(await page.evaluate(() => localStorage.getItem('earshot.token'))).toBe(phoneLink.split('#token=')[1]);
    await phone.close();
  });

  it('lists the phone talking on the Now page and ends it with "End this session"; the charts then draw its usage', async () => {
    const phone = await browser.newContext(PHONE);
    const page = await phone.newPage();
    await page.goto(phoneLink);
    await page.getByRole('button', { name: 'Start conversation' }).click();
    // A whole spoken turn through the simulator: the echo's transcript is on screen.
    await expect.poll(() => page.locator('.line.assistant').first().innerText().catch(() => ''), { timeout: 60_000 }).toMatch(/Echo/);
    await goto(consolePage, 'Now');
    const row = consolePage.locator('tr', { has: consolePage.getByRole('rowheader', { name: 'gina' }) });
    await row.waitFor({ timeout: 10_000 });
    await screenshots(consolePage, 'now');
    await row.getByRole('button', { name: "End gina's session" }).click();
    await until('the session ended', () => ![...relay.sessions().values()].some((s) => s.info.userId === 'gina'), 15_000);
    // The phone says so and keeps its link: the start button is back, not the onboarding screen.
    await expect.poll(() => page.locator('body').innerText(), { timeout: 15_000 }).toMatch(/ended this conversation/);
    await page.getByRole('button', { name: 'Start conversation' }).waitFor();
    await page.screenshot({ path: join(ARTIFACTS, 'admin-ended-phone.png') });
    await phone.close();

    await accounting.flush();
    await goto(consolePage, 'Usage');
    const table = consolePage.getByTestId('usage-table');
    const gina = table.locator('tr', { has: consolePage.getByRole('rowheader', { name: 'gina' }) });
    await gina.waitFor();
    const cells = await gina.locator('td').allInnerTexts();
    expect(Number(cells[2])).toBeGreaterThan(0); // spoken minutes of the turn (the phone's audio, metered as it arrived)
    // The chart really drew the series: pixels of the first series' colour (#0072b2) on its canvas.
    const chart = PNG.sync.read(await consolePage.getByTestId('chart-minutes').screenshot());
    let blue = 0;
    for (let i = 0; i < chart.data.length; i += 4) if (Math.abs(chart.data[i]! - 0x00) < 40 && Math.abs(chart.data[i + 1]! - 0x72) < 40 && Math.abs(chart.data[i + 2]! - 0xb2) < 40) blue++;
    expect(blue).toBeGreaterThan(20);
    await screenshots(consolePage, 'usage');
    const [download] = await Promise.all([consolePage.waitForEvent('download'), consolePage.getByRole('button', { name: 'Export CSV' }).click()]);
    const csv = readFileSync((await download.path())!, 'utf8');
    expect(csv.split('\r\n')[0]).toBe('day,person,sessions,spoken_minutes,tokens,estimated_cost_USD');
    expect(csv).toMatch(/\d{4}-\d{2}-\d{2},gina,1,/);
  });

  it('applies lowered limits to a live session: "Conversations at once" 0 closes it (4010)', async () => {
    const token = await relay.mint('hank');
    const client = await RealtimeTestClient.connect(relay.wsUrl, { headers: { authorization: `Bearer ${token}` } });
    await client.waitFor('session.created');
    await goto(consolePage, 'People');
    await consolePage.getByRole('button', { name: 'Edit hank' }).click();
    const form = consolePage.getByRole('form', { name: 'Limits of hank' });
    await form.getByLabel('Conversations at once').fill('0');
    await form.getByRole('button', { name: 'Save hank' }).click();
    expect((await client.closed).code).toBe(4010);
    expect((await relay.store.getUser('hank'))?.maxSessions).toBe(0);
  });

  it('revokes a link from the Links page: its live session closes (4001)', async () => {
    const client = await RealtimeTestClient.connect(relay.wsUrl, { headers: { authorization: `Bearer ${phoneLink.split('#token=')[1]}` } });
    await client.waitFor('session.created');
    await goto(consolePage, 'Links');
    await consolePage.getByRole('button', { name: /^Revoke gina's link/ }).first().click();
    expect((await client.closed).code).toBe(4001);
    expect(client.of('error').at(-1)?.error.code).toBe('token_revoked');
    await consolePage.getByRole('status').filter({ hasText: 'Revoked' }).waitFor();
  });

  it('shows health and the audit log of everything above', async () => {
    await goto(consolePage, 'Health');
    await expect.poll(() => consolePage.getByTestId('health-backend').innerText()).toMatch(/Simulator/);
    await screenshots(consolePage, 'health');
    await goto(consolePage, 'Audit');
    for (const what of ['signed in', 'added a person', 'made a link', 'ended a session', 'changed limits', 'revoked a link']) {
      await consolePage.getByRole('cell', { name: what }).first().waitFor();
    }
    await screenshots(consolePage, 'audit');
  });

  it('fits a phone screen: every page at 390 px wide, no sideways scroll of the page itself', async () => {
    const phone = await browser.newContext(PHONE);
    const page = await phone.newPage();
    await page.goto(`${relay.url}/admin/#signin=${new AdminState(relay.config.dataDir).mintLink('owner').secret}`);
    await page.getByRole('heading', { level: 1, name: 'People' }).waitFor();
    for (const section of ['People', 'Links', 'Usage', 'Now', 'Health', 'Audit']) {
      await goto(page, section);
      if (section === 'Usage') await page.getByTestId('chart-minutes').locator('canvas').first().waitFor();
      await page.screenshot({ path: join(ARTIFACTS, `admin-${section.toLowerCase()}-phone.png`), fullPage: true });
      expect(await page.evaluate(() => document.documentElement.scrollWidth), section).toBeLessThanOrEqual(390);
    }
    await phone.close();
    expect(pageErrors).toEqual([]);
  });

  it('is its own page of the build: not in the phone app bundle nor its service worker precache', () => {
    const dist = join(REPO_ROOT, 'dist/client');
    const sw = readFileSync(join(dist, 'sw.js'), 'utf8');
    const precached = [...sw.matchAll(/"?url"?:\s*"([^"]+)"/g)].map((m) => m[1]);
    expect(precached).toContain('index.html');
    expect(precached.filter((u) => /admin/.test(u!))).toEqual([]);
    // …and the app's navigation fallback leaves /admin to the relay.
    expect(sw).toContain('/^\\/admin/');
    for (const file of readdirSync(join(dist, 'assets')).filter((f) => f.endsWith('.js') && !f.startsWith('admin'))) {
      expect(readFileSync(join(dist, 'assets', file), 'utf8'), file).not.toMatch(/Earshot console|uplot/i);
    }
  });
});
