// Chromium through playwright-core (Debian's /usr/bin/chromium), the engine the rest of e2e/ uses. Given a
// PulseAudio server it uses it for both directions, like the other engines: real capture from the server's
// default source (the permission prompt auto-accepted) and audible playback (playwright's --mute-audio dropped).
import { chromium, type Browser, type CDPSession, type Page } from 'playwright-core';
import { CHROMIUM_PATH, launchChromium } from '../browser.ts';
import { closeOnce, gesturelessExpression, keptConsole, markElement, parseGestureless, settlePaint, PHONE_VIEWPORT, pollFor, textsOf, type Engine, type EnginePage, type LaunchEngineOptions } from './driver.ts';

export async function launchChromiumEngine(options: LaunchEngineOptions = {}): Promise<Engine> {
  const autoplay = options.gestureGated ? '--autoplay-policy=document-user-activation-required' : '--autoplay-policy=no-user-gesture-required';
  const browser: Browser =
    options.pulse === undefined
      ? await launchChromium({ fakeMicWav: options.fakeMicWav, grantMic: true, extraArgs: [autoplay] })
      : await chromium.launch({
          executablePath: CHROMIUM_PATH,
          headless: true,
          env: { ...process.env, ...options.pulse.env },
          ignoreDefaultArgs: ['--mute-audio'],
          args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--disable-quic', '--no-first-run', '--use-fake-ui-for-media-stream', autoplay],
        });
  const crashes: string[] = [];
  return {
    name: 'chromium',
    crashes: () => crashes,
    async newPage() {
      const context = await browser.newContext({ viewport: PHONE_VIEWPORT, deviceScaleFactor: 1, isMobile: true, hasTouch: true, reducedMotion: 'reduce' });
      const page = await context.newPage();
      const lines: string[] = [];
      page.on('crash', () => crashes.push(`renderer crashed at ${page.url()}`));
      page.on('pageerror', (err) => {
        console.error('[chromium page error]', err.message);
        lines.push(`pageerror: ${err.message}`);
      });
      page.on('console', (msg) => {
        const line = keptConsole(msg.type(), msg.text());
        if (line) lines.push(line);
      });
      const cdp = await context.newCDPSession(page);
      return wrapPlaywrightPage(page, cdp, lines, () => context.close());
    },
    close: () => browser.close(),
  };
}

function wrapPlaywrightPage(page: Page, cdp: CDPSession, lines: readonly string[], close: () => Promise<void>): EnginePage {
  const self: EnginePage = {
    goto: async (url) => void (await page.goto(url)),
    reload: async () => void (await page.reload()),
    url: async () => page.url(),
    async click(role, name) {
      await page.locator(await markElement(self, role, name)).click();
    },
    async type(label, text) {
      await page.locator(await markElement(self, null, label)).fill(text);
    },
    texts: (role, name) => textsOf(self, role, name),
    // CDP directly, without Playwright's `userGesture: true` (see gesturelessExpression).
    async evaluate(fn, arg) {
      const { result, exceptionDetails } = await cdp.send('Runtime.evaluate', { expression: gesturelessExpression(fn, arg), awaitPromise: true, returnByValue: true, userGesture: false });
      if (exceptionDetails) throw new Error(`evaluate failed: ${exceptionDetails.exception?.description ?? exceptionDetails.text}`);
      return parseGestureless(String(result.value));
    },
    waitFor: pollFor,
    async screenshot(path) {
      await self.evaluate(settlePaint);
      await page.screenshot({ path });
    },
    consoleLines: () => lines,
    cdp: (method, params) => cdp.send(method as 'Runtime.evaluate', params as never),
    close: closeOnce(close),
  };
  return self;
}
