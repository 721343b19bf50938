// WebKitGTK's MiniBrowser through WebKitWebDriver (Debian package webkit2gtk-driver) and selenium-webdriver.
// MiniBrowser has no headless mode: each launch gets its own Xvfb display. Its microphone is PulseAudio's default
// source (pulse.ts remaps the `mic` sink's monitor, since WebKitGTK ignores monitor sources).
// WebKitWebDriver is started here on a free port and selenium only connects to it, so selenium-manager never runs
// (it would try to download drivers).
import { writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import type { Readable } from 'node:stream';
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
  const crashes = countCrashes(driverProcess.child.stderr);
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
    crashes: () => crashes,
    async newPage() {
      // A browser session per page: its own (ephemeral) website data, as a fresh profile would have.
      const driver = await new Builder()
        .usingServer(base)
        .withCapabilities({ browserName: 'MiniBrowser', 'webkitgtk:browserOptions': { binary: MINIBROWSER_PATH, args } })
        .build();
      drivers.add(driver);
      await fitViewport(driver);
      return wrapSeleniumDriver(
        driver,
        async () => {
          drivers.delete(driver);
          await driver.quit();
        },
        () => driverProcess.stderr(),
      );
    },
    close: stopAll,
  };
}

/**
 * MiniBrowser says "WebProcess CRASHED" on stderr when its page process dies (WebKitWebDriver then only answers
 * NoSuchSessionError). Each crash is kept with the lines before it (e.g. glibc's "malloc_consolidate(): unaligned
 * fastbin chunk detected": WebKitGTK corrupted its own heap).
 */
function countCrashes(stderr: Readable | null): string[] {
  const crashes: string[] = [];
  let recent = '';
  stderr?.on('data', (chunk: Buffer) => {
    const text = recent + chunk.toString();
    let from = 0;
    for (let at = text.indexOf(CRASH_MARK); at >= 0; at = text.indexOf(CRASH_MARK, from)) {
      // `recent` is cut just after each crash line, so no crash is counted twice across chunks.
      crashes.push(text.slice(Math.max(0, at - 600), at + CRASH_MARK.length).trim());
      from = at + CRASH_MARK.length;
    }
    recent = text.slice(Math.max(from, text.length - 600));
  });
  return crashes;
}
const CRASH_MARK = 'WebProcess CRASHED';

/** Sizes the window so the page's viewport is 390×844 CSS pixels (the window adds its own chrome). */
async function fitViewport(driver: WebDriver): Promise<void> {
  const win = driver.manage().window();
  await win.setRect({ x: 0, y: 0, width: PHONE_VIEWPORT.width, height: PHONE_VIEWPORT.height });
  const inner = (await driver.executeScript('return [innerWidth, innerHeight]')) as [number, number];
  const rect = await win.getRect();
  await win.setRect({ width: rect.width + PHONE_VIEWPORT.width - inner[0], height: rect.height + PHONE_VIEWPORT.height - inner[1] });
}

/**
 * A lost session means MiniBrowser (or its web process) is gone: the error carries what WebKitWebDriver and the
 * browser it started last printed (a crash's message, a GStreamer or PulseAudio complaint).
 */
function explainLostSession(driverStderr: () => string): <T>(call: Promise<T>) => Promise<T> {
  return (call) =>
    call.catch((err: unknown) => {
      if (!(err instanceof Error) || err.name !== 'NoSuchSessionError') throw err;
      err.message = `${err.message} (the browser is gone; WebKitWebDriver's stderr ends: ${JSON.stringify(driverStderr().slice(-1500))})`;
      throw err;
    });
}

function wrapSeleniumDriver(driver: WebDriver, close: () => Promise<void>, driverStderr: () => string): EnginePage {
  const lost = explainLostSession(driverStderr);
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
    // W3C execute-script awaits a returned promise. `__name`: under tsx (the benches, not vitest) esbuild's keepNames
    // wraps a function's inner named functions in __name(fn, "name"), a helper the page lacks (see
    // gesturelessExpression); here it is the identity.
    evaluate: (fn, arg) => lost(driver.executeScript(`const __name = (f) => f; return (${fn.toString()})(arguments[0])`, arg)) as never,
    waitFor: pollFor,
    async screenshot(path) {
      await self.evaluate(settlePaint);
      writeFileSync(path, Buffer.from(await driver.takeScreenshot(), 'base64'));
    },
    // WebKitWebDriver has no log endpoint: page-report.ts hooks the page's own console instead.
    consoleLines: () => [],
    close: closeOnce(close),
  };
  return self;
}
