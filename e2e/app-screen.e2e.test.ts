// The conversation screen as a phone shows it (issue 14): the fixed header and the scrolling transcript of a
// long talk, history that survives a reload, and the gesture-gated audio path. Production build, real relay,
// real simulator, Chromium at 390×844. Screenshots of each screen go to artifacts/ (not committed).
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { launchChromium } from './browser.ts';
import { REPO_ROOT, startTestRelay, type TestRelay } from '../relay/src/testing/start-relay.ts';

const ARTIFACTS = join(REPO_ROOT, 'artifacts');
const PHONE = { viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true };

let relay: TestRelay;
let browser: Browser;

beforeAll(async () => {
  mkdirSync(ARTIFACTS, { recursive: true });
  relay = await startTestRelay({});
  // Chromium's own fake microphone (a quiet beep): these tests talk in text, with hold-to-talk, so no VAD turn.
  browser = await launchChromium({ grantMic: true });
});

afterAll(async () => {
  await browser?.close();
  await relay?.stop();
});

const stateLine = (page: Page) => page.getByRole('status');

async function holdToTalk(page: Page): Promise<void> {
  await page.getByRole('button', { name: 'Settings' }).click();
  await page.getByLabel(/Hold to talk/).check();
  await page.getByRole('button', { name: 'Close settings' }).click();
}

async function sendText(page: Page, text: string): Promise<void> {
  const replies = await page.locator('.line.assistant').count();
  await page.getByLabel('Type a message').fill(text);
  await page.getByRole('button', { name: 'Send' }).click();
  await expect.poll(() => page.locator('.line.assistant').count(), { timeout: 20_000 }).toBeGreaterThan(replies);
  await expect.poll(() => page.locator('.line.assistant').last().innerText(), { timeout: 20_000 }).toContain(`you wrote "${text}"`);
}

/** Is the element wholly inside the box of `container` (and the viewport)? */
async function fullyInside(page: Page, selector: string, container: string): Promise<boolean> {
  return page.evaluate(
    ([sel, box]) => {
      const el = document.querySelector(sel!)?.getBoundingClientRect();
      const c = document.querySelector(box!)?.getBoundingClientRect();
      if (!el || !c) return false;
      return el.top >= c.top - 1 && el.bottom <= c.bottom + 1 && el.bottom <= window.innerHeight + 1;
    },
    [selector, container],
  );
}

describe('the conversation screen on a 390×844 phone', () => {
  it('keeps the header fixed and the newest line in view through a long talk; scrolling up offers "Jump to latest"; a reload shows the transcript again', { timeout: 240_000 }, async () => {
    const token = await relay.mint('long-talker');
    const context = await browser.newContext(PHONE);
    const page = await context.newPage();
    await page.goto(`${relay.url}/#token=${token}`);
    await page.getByRole('button', { name: 'Start conversation' }).waitFor();
    await page.screenshot({ path: join(ARTIFACTS, 'screen-idle.png') });
    await holdToTalk(page);
    await page.getByRole('button', { name: 'Start conversation' }).click();
    await expect.poll(() => stateLine(page).innerText(), { timeout: 20_000 }).toBe('Listening');
    await page.screenshot({ path: join(ARTIFACTS, 'screen-listening.png') });

    for (let i = 1; i <= 18; i++) await sendText(page, `Line number ${i} of a long conversation about nothing in particular`);
    expect(await page.locator('.line').count()).toBeGreaterThanOrEqual(36);

    // The page itself never grows: it is exactly the viewport, and only the transcript scrolls.
    const size = await page.evaluate(() => ({ doc: document.documentElement.scrollHeight, body: document.body.scrollHeight, inner: window.innerHeight, scrollY: window.scrollY }));
    expect(size).toEqual({ doc: 844, body: 844, inner: 844, scrollY: 0 });
    const transcript = await page.evaluate(() => {
      const t = document.querySelector('[role=log][aria-label=Transcript]')!;
      return { scrollHeight: t.scrollHeight, clientHeight: t.clientHeight };
    });
    expect(transcript.scrollHeight).toBeGreaterThan(transcript.clientHeight);
    // The newest line, the header's controls and the text box are all on screen.
    expect(await fullyInside(page, '.transcript .line:last-of-type', '.transcript')).toBe(true);
    for (const name of ['Stop conversation', 'Mute', 'Interrupt', 'Send']) expect(await page.getByRole('button', { name, exact: true }).first().isVisible()).toBe(true);
    expect(await fullyInside(page, '#text-turn', 'body')).toBe(true);
    await expect.poll(() => page.getByRole('button', { name: /Jump to latest/ }).count()).toBe(0);
    await page.screenshot({ path: join(ARTIFACTS, 'screen-long-transcript.png') });

    // Scrolled up while a message goes out and its reply streams in: the scroll is kept (not pulled back down by a
    // line that lands before the scroll event is dispatched), "Jump to latest" appears, and the view stays put
    // while the reply arrives (the person's own message does not pull the view down either).
    const replies = await page.locator('.line.assistant').count();
    await page.getByLabel('Type a message').fill('One more while scrolled up');
    await page.getByRole('button', { name: 'Send' }).click();
    await page.locator('.transcript').evaluate((t) => (t.scrollTop = 0));
    const jump = page.getByRole('button', { name: /Jump to latest/ });
    await jump.waitFor();
    await expect.poll(() => page.locator('.line.assistant').count(), { timeout: 20_000 }).toBeGreaterThan(replies);
    await expect.poll(() => page.locator('.line.assistant').last().innerText(), { timeout: 20_000 }).toContain('you wrote "One more while scrolled up"');
    expect(await page.locator('.transcript').evaluate((t) => t.scrollTop)).toBeLessThan(50);
    expect(await fullyInside(page, '.transcript .line:last-of-type', '.transcript')).toBe(false);
    await page.screenshot({ path: join(ARTIFACTS, 'screen-scrolled-up.png') });
    await jump.click();
    await expect.poll(() => fullyInside(page, '.transcript .line:last-of-type', '.transcript')).toBe(true);
    await expect.poll(() => jump.count()).toBe(0);

    // Focusing the text box (the keyboard on a phone) keeps the state line and Stop on screen.
    await page.getByLabel('Type a message').focus();
    expect(await page.evaluate(() => window.scrollY)).toBe(0);
    expect(await stateLine(page).isVisible()).toBe(true);

    const lines = await page.locator('.transcript .line').count();
    await page.getByRole('button', { name: 'Stop conversation' }).click();
    await expect.poll(() => stateLine(page).innerText()).toMatch(/Ready/);
    // Stopped: no empty waveform box is left on screen.
    expect(await page.locator('.wave-box').isVisible()).toBe(false);

    // A reload shows the same conversation again, from this device's IndexedDB.
    await page.reload();
    await page.getByRole('button', { name: 'Start conversation' }).waitFor();
    await expect.poll(() => page.locator('.transcript .line').count(), { timeout: 10_000 }).toBe(lines);
    expect(await page.locator('.transcript .line').last().innerText()).toContain('you wrote "One more while scrolled up"');
    await page.screenshot({ path: join(ARTIFACTS, 'screen-after-reload.png') });
    await context.close();
  });

  it('lists past conversations with date and length; each opens and deletes, and "Delete all" empties the list', { timeout: 180_000 }, async () => {
    const token = await relay.mint('historian');
    const context = await browser.newContext(PHONE);
    const page = await context.newPage();
    await page.goto(`${relay.url}/#token=${token}`);
    await page.getByRole('button', { name: 'Start conversation' }).waitFor();
    await holdToTalk(page);
    for (const words of ['First talk', 'Second talk']) {
      await page.getByRole('button', { name: 'Start conversation' }).click();
      await expect.poll(() => stateLine(page).innerText(), { timeout: 20_000 }).toBe('Listening');
      await sendText(page, words);
      await page.getByRole('button', { name: 'Stop conversation' }).click();
      await expect.poll(() => stateLine(page).innerText()).toMatch(/Ready/);
    }
    // Nothing of it went to the server: the relay has no history endpoint, and the page made no such request.
    await page.getByRole('button', { name: 'History' }).click();
    const list = page.getByRole('list', { name: 'Past conversations' });
    await expect.poll(() => list.getByRole('listitem').count()).toBe(2);
    expect(await list.getByRole('listitem').first().innerText()).toMatch(/2 messages · under a minute/);
    await page.screenshot({ path: join(ARTIFACTS, 'screen-history.png') });

    // Open the older one: its transcript.
    await list.getByRole('button', { name: /^Open conversation/ }).last().click();
    await expect.poll(() => page.getByRole('log', { name: 'Past conversation' }).innerText()).toContain('First talk');
    await page.screenshot({ path: join(ARTIFACTS, 'screen-history-open.png') });
    await page.getByRole('button', { name: 'Delete this conversation' }).click();
    await expect.poll(() => list.getByRole('listitem').count()).toBe(1);
    await page.getByRole('button', { name: 'Delete all conversations' }).click();
    await page.getByRole('button', { name: 'Tap again to delete every conversation' }).click();
    await expect.poll(() => list.count()).toBe(0);
    await page.getByText('No conversations yet.').waitFor();
    await page.getByRole('button', { name: 'Close history' }).click();
    // The conversation on screen was among them: it is gone, and a reload brings nothing back.
    await expect.poll(() => page.locator('.transcript .line').count()).toBe(0);
    await page.reload();
    await page.getByRole('button', { name: 'Start conversation' }).waitFor();
    expect(await page.locator('.transcript .line').count()).toBe(0);
    await context.close();
  });
});

/**
 * Test instrumentation only (the app's code is unchanged): reports every AudioContext's state on the console,
 * lets the test suspend them as the browser would (an iOS call, the autoplay policy), and makes the first
 * getUserMedia never answer (Firefox without an audio device, a permission prompt left open).
 */
function instrumentAudio(): void {
  const Native = window.AudioContext;
  const made: AudioContext[] = [];
  const report = () => console.log(`contexts: ${made.map((c) => c.state).join(',')}`);
  (window as unknown as { __suspendAll: () => Promise<void> }).__suspendAll = async () => {
    await Promise.all(made.map((c) => c.suspend()));
  };
  window.AudioContext = class extends Native {
    constructor(options?: AudioContextOptions) {
      super(options);
      made.push(this);
      this.addEventListener('statechange', report);
      report();
    }
  };
  const tracks: MediaStreamTrack[] = [];
  (window as unknown as { __tracks: MediaStreamTrack[] }).__tracks = tracks;
  let calls = 0;
  const gum = navigator.mediaDevices.getUserMedia.bind(navigator.mediaDevices);
  navigator.mediaDevices.getUserMedia = async (c) => {
    if (calls++ === 0 && sessionStorage.getItem('hang-first-mic') === '1') return new Promise<MediaStream>(() => undefined);
    const stream = await gum(c);
    tracks.push(...stream.getTracks());
    return stream;
  };
}

describe('audio that cannot hang (Chromium with --autoplay-policy=document-user-activation-required)', () => {
  let gated: Browser;
  beforeAll(async () => {
    gated = await launchChromium({ grantMic: true, extraArgs: ['--autoplay-policy=document-user-activation-required'] });
  });
  afterAll(async () => {
    await gated?.close();
  });

  async function gatedPage(user: string, hangFirstMic = false): Promise<{ page: Page; contexts: string[]; close(): Promise<void> }> {
    const token = await relay.mint(user);
    const context = await gated.newContext(PHONE);
    if (hangFirstMic) await context.addInitScript(() => sessionStorage.setItem('hang-first-mic', '1'));
    await context.addInitScript(instrumentAudio);
    const page = await context.newPage();
    const contexts: string[] = [];
    page.on('console', (m) => m.text().startsWith('contexts: ') && contexts.push(m.text().slice('contexts: '.length)));
    await page.goto(`${relay.url}/#token=${token}`);
    await page.getByRole('button', { name: 'Start conversation' }).waitFor();
    return { page, contexts, close: () => context.close() };
  }

  it('a context the browser suspends mid-conversation shows "Tap to resume", is not resumed by visibilitychange, and resumes on the tap', { timeout: 120_000 }, async () => {
    const { page, contexts, close } = await gatedPage('gesture-user');
    await page.getByRole('button', { name: 'Start conversation' }).click();
    await expect.poll(() => stateLine(page).innerText(), { timeout: 30_000 }).toMatch(/Listening|Hearing/);
    await page.evaluate(() => (window as unknown as { __suspendAll: () => Promise<void> }).__suspendAll());
    const tap = page.getByRole('button', { name: 'Tap to resume' });
    await tap.waitFor({ timeout: 30_000 });
    expect(await stateLine(page).innerText()).toBe('Audio is paused by the browser. Tap “Tap to resume”.');
    // Coming back to the page is not a gesture: the app must not try to restart audio from it.
    await page.evaluate(() => document.dispatchEvent(new Event('visibilitychange')));
    await page.getByRole('button', { name: 'Stop conversation' }).waitFor();
    expect(contexts.at(-1)).toBe('suspended');
    await page.screenshot({ path: join(ARTIFACTS, 'screen-tap-to-resume.png') });
    await tap.click();
    await expect.poll(() => contexts.at(-1), { timeout: 30_000 }).toBe('running');
    await tap.waitFor({ state: 'detached' });
    await expect.poll(() => stateLine(page).innerText(), { timeout: 30_000 }).toMatch(/Listening|Hearing/);
    await page.getByRole('button', { name: 'Stop conversation' }).click();
    await expect.poll(() => stateLine(page).innerText()).toMatch(/Ready/);
    await close();
  });

  it('Stop ends a Start whose getUserMedia never answers, and the next Start works', { timeout: 120_000 }, async () => {
    const { page, contexts, close } = await gatedPage('gesture-stopper', true);
    await page.getByRole('button', { name: 'Start conversation' }).click();
    await expect.poll(() => stateLine(page).innerText()).toBe('Connecting…');
    await page.getByRole('button', { name: 'Stop conversation' }).click();
    await expect.poll(() => stateLine(page).innerText(), { timeout: 10_000 }).toMatch(/Ready/);
    // The half-built context was closed, not left behind.
    await expect.poll(() => contexts.at(-1)).toBe('closed');
    await page.getByRole('button', { name: 'Start conversation' }).click();
    await expect.poll(() => stateLine(page).innerText(), { timeout: 30_000 }).toMatch(/Listening|Hearing/);
    await page.getByRole('button', { name: 'Stop conversation' }).click();
    await expect.poll(() => stateLine(page).innerText()).toMatch(/Ready/);
    const tracks = await page.evaluate(() => (window as unknown as { __tracks: MediaStreamTrack[] }).__tracks.map((t) => t.readyState));
    expect(tracks.length).toBeGreaterThan(0);
    expect(tracks.every((t) => t === 'ended')).toBe(true);
    await close();
  });
});
