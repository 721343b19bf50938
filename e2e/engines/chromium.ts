// Chromium through playwright-core (Debian's /usr/bin/chromium), the engine the rest of e2e/ uses. Given a
// PulseAudio server it uses it for both directions, like the other engines: real capture from the server's
// default source (the permission prompt auto-accepted) and audible playback (playwright's --mute-audio dropped).
import { chromium, type Browser, type Page } from 'playwright-core';
import { CHROMIUM_PATH, launchChromium } from '../browser.ts';
import { closeOnce, markElement, settlePaint, PHONE_VIEWPORT, pollFor, textsOf, type Engine, type EnginePage, type LaunchEngineOptions } from './driver.ts';

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
  return {
    name: 'chromium',
    async newPage() {
      const context = await browser.newContext({ viewport: PHONE_VIEWPORT, deviceScaleFactor: 1, isMobile: true, hasTouch: true, reducedMotion: 'reduce' });
      const page = await context.newPage();
      page.on('pageerror', (err) => console.error('[chromium page error]', err.message));
      return wrapPlaywrightPage(page, () => context.close());
    },
    close: () => browser.close(),
  };
}

function wrapPlaywrightPage(page: Page, close: () => Promise<void>): EnginePage {
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
    evaluate: (fn, arg) => page.evaluate(fn, arg as never) as never,
    waitFor: pollFor,
    async screenshot(path) {
      await self.evaluate(settlePaint);
      await page.screenshot({ path });
    },
    close: closeOnce(close),
  };
  return self;
}
