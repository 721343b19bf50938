// Firefox ESR through puppeteer-core over WebDriver BiDi (Debian ships no geckodriver). Headless Firefox with no
// audio device never resumes an AudioContext, so it must be given a PulseAudio server (pulse.ts): its microphone
// is then the server's default source, i.e. what the test plays into the `mic` sink.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import puppeteer, { type Page } from 'puppeteer-core';
import { closeOnce, gesturelessExpression, keptConsole, markElement, parseGestureless, settlePaint, PHONE_VIEWPORT, pollFor, textsOf, type Engine, type EnginePage, type LaunchEngineOptions } from './driver.ts';

export const FIREFOX_PATH = process.env.FIREFOX_PATH ?? '/usr/bin/firefox-esr';

export async function launchFirefoxEngine(options: LaunchEngineOptions = {}): Promise<Engine> {
  const profile = mkdtempSync(join(tmpdir(), 'earshot-firefox-'));
  const browser = await puppeteer.launch({
    browser: 'firefox',
    protocol: 'webDriverBiDi',
    executablePath: FIREFOX_PATH,
    headless: true,
    userDataDir: profile,
    env: { ...process.env, ...(options.pulse?.env ?? {}) },
    extraPrefsFirefox: {
      // With a PulseAudio server the microphone is real (the test speaks into it); without one, Firefox's fake
      // stream (a tone) stands in.
      'media.navigator.streams.fake': options.pulse === undefined,
      'media.navigator.permission.disabled': true,
      // 0 = allow all; 5 = block audible and inaudible autoplay until a user gesture.
      'media.autoplay.default': options.gestureGated ? 5 : 0,
      'media.autoplay.blocking_policy': options.gestureGated ? 2 : 0,
      // Web Audio is blocked with media elements only when this is set (Firefox for Android sets it).
      'media.autoplay.block-webaudio': options.gestureGated === true,
      'browser.shell.checkDefaultBrowser': false,
      'datareporting.policy.dataSubmissionEnabled': false,
    },
  });
  return {
    name: 'firefox',
    // A content-process crash reaches puppeteer as a closed page or a failed call, reported as it is.
    crashes: () => [],
    async newPage() {
      // A user context per page: its own storage, as a fresh profile would have.
      const context = await browser.createBrowserContext();
      const page = await context.newPage();
      await page.setViewport({ ...PHONE_VIEWPORT, deviceScaleFactor: 1 });
      const lines: string[] = [];
      page.on('pageerror', (err) => {
        console.error('[firefox page error]', String(err));
        lines.push(`pageerror: ${String(err)}`);
      });
      page.on('console', (msg) => {
        const line = keptConsole(msg.type(), msg.text());
        if (line) lines.push(line);
      });
      return wrapPuppeteerPage(page, lines, () => context.close());
    },
    async close() {
      await browser.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

/** The page's main BiDi realm: puppeteer-core's own object, which its public types do not declare (25.16). */
interface BidiRealm {
  evaluate(expression: string, awaitPromise: true, options: { userActivation: false; resultOwnership: 'none' }): Promise<
    { type: 'success'; result: { value?: unknown } } | { type: 'exception'; exceptionDetails: { text: string } }
  >;
}
function bidiRealm(page: Page): BidiRealm {
  const realm = (page.mainFrame() as unknown as { mainRealm?: () => { realm?: BidiRealm } }).mainRealm?.().realm;
  if (!realm) throw new Error('puppeteer-core no longer exposes the frame realm: update firefox.ts');
  return realm;
}

function wrapPuppeteerPage(page: Page, lines: readonly string[], close: () => Promise<void>): EnginePage {
  const self: EnginePage = {
    goto: async (url) => void (await page.goto(url)),
    reload: async () => void (await page.reload()),
    url: async () => page.url(),
    async click(role, name) {
      const el = await page.$(await markElement(self, role, name));
      if (!el) throw new Error(`the ${role} ${String(name)} went away before the click`);
      await el.click();
    },
    async type(label, text) {
      const el = await page.$(await markElement(self, null, label));
      if (!el) throw new Error(`the field ${String(label)} went away before typing`);
      await el.click({ count: 3 });
      await el.type(text);
    },
    texts: (role, name) => textsOf(self, role, name),
    // BiDi script.evaluate directly, without puppeteer's `userActivation: true` (see gesturelessExpression).
    async evaluate(fn, arg) {
      const outcome = await bidiRealm(page).evaluate(gesturelessExpression(fn, arg), true, { userActivation: false, resultOwnership: 'none' });
      if (outcome.type === 'exception') throw new Error(`evaluate failed: ${outcome.exceptionDetails.text}`);
      return parseGestureless(String(outcome.result.value));
    },
    waitFor: pollFor,
    async screenshot(path) {
      await self.evaluate(settlePaint);
      await page.screenshot({ path });
    },
    consoleLines: () => lines,
    close: closeOnce(close),
  };
  return self;
}
