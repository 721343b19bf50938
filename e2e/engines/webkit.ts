// WebKitGTK's MiniBrowser through WebKitWebDriver (Debian package webkit2gtk-driver) and selenium-webdriver.
// MiniBrowser has no headless mode: each launch gets its own Xvfb display. Its microphone is PulseAudio's default
// source (pulse.ts remaps the `mic` sink's monitor, since WebKitGTK ignores monitor sources).
// WebKitWebDriver is started here on a free port and selenium only connects to it, so selenium-manager never runs
// (it would try to download drivers).
import { writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { Builder, By, type WebDriver } from 'selenium-webdriver';
import { closeOnce, markElement, settlePaint, PHONE_VIEWPORT, pollFor, textsOf, type Engine, type EnginePage, type LaunchEngineOptions } from './driver.ts';
import { startOwned } from './processes.ts';
import { startXvfb } from './xvfb.ts';

export const MINIBROWSER_PATH = process.env.MINIBROWSER_PATH ?? '/usr/lib/x86_64-linux-gnu/webkit2gtk-4.1/MiniBrowser';

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

export async function launchWebKitEngine(options: LaunchEngineOptions = {}): Promise<Engine> {
  const xvfb = await startXvfb();
  const port = await freePort();
  const driverProcess = startOwned('WebKitWebDriver', [`--port=${port}`, '--host=127.0.0.1'], {
    env: { ...process.env, ...(options.pulse?.env ?? {}), DISPLAY: xvfb.display },
  });
  const base = `http://127.0.0.1:${port}`;
  const drivers = new Set<WebDriver>();
  const stopAll = async () => {
    for (const d of drivers) await d.quit().catch(() => undefined);
    drivers.clear();
    await driverProcess.stop();
    await xvfb.stop();
  };
  try {
    await pollFor('WebKitWebDriver', async () => {
      if (driverProcess.child.exitCode !== null) throw new Error(`WebKitWebDriver exited: ${driverProcess.stderr()}`);
      return (await fetch(`${base}/status`)).ok;
    });
  } catch (e) {
    await stopAll();
    throw e;
  }
  const args = ['--automation', '--enable-media-stream=true', `--autoplay-policy=${options.gestureGated ? 'deny' : 'allow'}`];
  // Without a PulseAudio server there is no microphone: WebKit's mock capture devices stand in.
  if (options.pulse === undefined) args.push('--enable-mock-capture-devices=true');
  return {
    name: 'webkit',
    async newPage() {
      // A browser session per page: its own (ephemeral) website data, as a fresh profile would have.
      const driver = await new Builder()
        .usingServer(base)
        .withCapabilities({ browserName: 'MiniBrowser', 'webkitgtk:browserOptions': { binary: MINIBROWSER_PATH, args } })
        .build();
      drivers.add(driver);
      await fitViewport(driver);
      return wrapSeleniumDriver(driver, async () => {
        drivers.delete(driver);
        await driver.quit();
      });
    },
    close: stopAll,
  };
}

/** Sizes the window so the page's viewport is 390×844 CSS pixels (the window adds its own chrome). */
async function fitViewport(driver: WebDriver): Promise<void> {
  const win = driver.manage().window();
  await win.setRect({ x: 0, y: 0, width: PHONE_VIEWPORT.width, height: PHONE_VIEWPORT.height });
  const inner = (await driver.executeScript('return [innerWidth, innerHeight]')) as [number, number];
  const rect = await win.getRect();
  await win.setRect({ width: rect.width + PHONE_VIEWPORT.width - inner[0], height: rect.height + PHONE_VIEWPORT.height - inner[1] });
}

function wrapSeleniumDriver(driver: WebDriver, close: () => Promise<void>): EnginePage {
  const self: EnginePage = {
    goto: (url) => driver.get(url),
    reload: () => driver.navigate().refresh(),
    url: () => driver.getCurrentUrl(),
    async click(role, name) {
      await driver.findElement(By.css(await markElement(self, role, name))).click();
    },
    async type(label, text) {
      const el = await driver.findElement(By.css(await markElement(self, null, label)));
      await el.clear();
      await el.sendKeys(text);
    },
    texts: (role, name) => textsOf(self, role, name),
    // W3C execute-script awaits a returned promise.
    evaluate: (fn, arg) => driver.executeScript(`return (${fn.toString()})(arguments[0])`, arg) as never,
    waitFor: pollFor,
    async screenshot(path) {
      await self.evaluate(settlePaint);
      writeFileSync(path, Buffer.from(await driver.takeScreenshot(), 'base64'));
    },
    close: closeOnce(close),
  };
  return self;
}
