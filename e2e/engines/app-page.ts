// What the engine tests read off the app's page, and the pages each test opens. app-engines and hands-free-engines
// both drive the real app in a driven engine; these are the parts of that they share.
import { it } from 'vitest';
import { pollUntil, type Engine, type EnginePage } from './driver.ts';
import { rerunAfterEngineCrash } from './crash-retry.ts';

/** The app's status line (the `role=status` element) as the person reads it. */
export const statusLine = async (page: EnginePage): Promise<string> => (await page.texts('status'))[0] ?? '';

/** Waits for the status line to match; a timeout says the line it last showed. */
export const untilStatus = (page: EnginePage, what: string, line: RegExp, timeoutMs: number): Promise<string> =>
  pollUntil(what, () => statusLine(page), (s) => line.test(s), timeoutMs);

/** The transcript's text, every turn in it. */
export const transcript = (page: EnginePage): Promise<string> =>
  page.evaluate(() => document.querySelector('[aria-label=Transcript]')?.textContent ?? '');

/**
 * Keeps a handle on the AudioContexts the app makes, in `window.__contexts` (the app is unchanged; only the
 * constructor is observed): a test suspends them as a phone's system does.
 */
export function observeAudioContexts(page: EnginePage): Promise<void> {
  return page.evaluate(() => {
    const w = window as unknown as { AudioContext: typeof AudioContext; __contexts: AudioContext[] };
    const Base = w.AudioContext;
    w.__contexts = [];
    w.AudioContext = class extends Base {
      constructor(options?: AudioContextOptions) {
        super(options);
        w.__contexts.push(this);
      }
    };
  });
}

export interface TestPages {
  /** The pages the running test opened (its afterEach reports and closes them). */
  readonly pages: Set<EnginePage>;
  /** Closes every page the running test opened. */
  closePages(): Promise<void>;
  /** `it`, with one rerun on fresh pages if the browser itself crashed during the test (crash-retry.ts). */
  test(name: string, body: () => Promise<void>, timeout?: number): void;
}

/**
 * The pages of each test in a file driving `engine` (a getter: the engine is launched in beforeAll). WebKitWebDriver
 * drives one session at a time, so every page a test opens must be closed after it, passed or not.
 */
export function testPages(engine: () => Engine): TestPages {
  const pages = new Set<EnginePage>();
  async function closePages(): Promise<void> {
    for (const page of pages) await page.close().catch(() => undefined);
    pages.clear();
  }
  const test = (name: string, body: () => Promise<void>, timeout?: number): void => {
    it(name, rerunAfterEngineCrash({ engine, closePages, warn: (line) => console.warn(line) }, name, body), timeout);
  };
  return { pages, closePages, test };
}
