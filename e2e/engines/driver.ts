// One engine-neutral way to drive the app in a real browser, so the same flow runs in Chromium (playwright-core),
// Firefox ESR (puppeteer-core over WebDriver BiDi) and WebKitGTK (selenium-webdriver + WebKitWebDriver).
//
// Elements are found the way a person names them (a role and an accessible name, a field by its label), never
// by CSS class, so the app's markup can change under the tests. The lookup runs in the page (`pick` below) and
// marks the element; the click or the typing is then the engine's own native input, a trusted user gesture
// (the audio paths under test care: a synthetic `element.click()` unlocks no AudioContext).
import type { PrivatePulse } from './pulse.ts';

export type EngineName = 'chromium' | 'firefox' | 'webkit';
export const ENGINES: readonly EngineName[] = ['chromium', 'firefox', 'webkit'];

/** The ARIA roles the flows look for. */
export type Role = 'button' | 'status' | 'alert' | 'dialog' | 'checkbox' | 'radio' | 'textbox' | 'region' | 'note';

export interface LaunchEngineOptions {
  /** The private PulseAudio server the browser plays to and records from (Firefox and WebKitGTK need one). */
  pulse?: PrivatePulse;
  /** Chromium only: a WAV looped as its fake microphone (it does not read PulseAudio in headless mode here). */
  fakeMicWav?: string;
  /** Audio may start only from a user gesture, as on iOS (Chromium: document-user-activation-required; WebKitGTK: --autoplay-policy=deny; Firefox: media.autoplay.default=5). */
  gestureGated?: boolean;
}

export interface Engine {
  readonly name: EngineName;
  /** A new page (a fresh browser profile per engine launch) at 390×844 CSS pixels. */
  newPage(): Promise<EnginePage>;
  /**
   * Crashes of the engine's page (web content) process since launch, with what the browser said. WebKitGTK's
   * MiniBrowser prints "WebProcess CRASHED" (its driver then only says the session is gone); the other drivers
   * report none here.
   */
  crashes(): readonly string[];
  close(): Promise<void>;
}

export interface EnginePage {
  goto(url: string): Promise<void>;
  reload(): Promise<void>;
  url(): Promise<string>;
  /** Clicks the element with `role` whose accessible name matches `name` (exact string or pattern), natively. */
  click(role: Role, name: string | RegExp): Promise<void>;
  /** Types into the field labelled `label`, natively, after clearing it. */
  type(label: string | RegExp, text: string): Promise<void>;
  /** The visible text of every element with `role` (and matching name, if given), in document order. */
  texts(role: Role, name?: string | RegExp): Promise<string[]>;
  /**
   * Runs `fn(arg)` in the page; `fn` must not close over anything (it is serialised), `arg` and the result must be
   * JSON. It is NOT a user gesture in any engine (only `click` and `type` are), as a script on a phone would not be.
   */
  evaluate<R, A = undefined>(fn: (arg: A) => R | Promise<R>, arg?: A): Promise<Awaited<R>>;
  /** Polls `check` until it returns a value other than undefined/false; the error says `what` and the last error (see pollFor). */
  waitFor<T>(what: string, check: () => Promise<T | undefined | false>, timeoutMs?: number): Promise<T>;
  /** The viewport as a PNG. */
  screenshot(path: string): Promise<void>;
  /**
   * The page's console errors and warnings and its uncaught errors, as the engine's driver reported them since the
   * page opened (Chromium and Firefox; WebKitWebDriver reports none: page-report.ts hooks the page's console there).
   */
  consoleLines(): readonly string[];
  /** Chromium only: a raw DevTools Protocol command on this page (lifecycle, input the page cannot fake). */
  cdp?(method: string, params?: Record<string, unknown>): Promise<unknown>;
  close(): Promise<void>;
}

/** What `pick` receives and returns: serialisable, since it crosses into the page. */
export type NamePattern = { exact: string } | { source: string; flags: string };
export const toPattern = (name: string | RegExp): NamePattern => (typeof name === 'string' ? { exact: name } : { source: name.source, flags: name.flags });

/**
 * Runs in the page: finds visible elements by role and accessible name (aria-label, aria-labelledby, an associated
 * <label>, then text content; enough for this app's markup), marks the `index`-th match with `data-engine-pick` and
 * returns the mark, or null. Also returns the visible texts when `mode` is 'texts'.
 */
export interface PickQuery {
  mode: 'mark' | 'texts';
  role: string;
  name: NamePattern | null;
  /** Find a form field by its label instead of an element by role. */
  label: boolean;
}

export function pickInPage({ mode, role, name, label }: PickQuery): string | string[] | null {
  const implicit: Record<string, string> = {
    button: 'button, input[type=button], input[type=submit], [role=button]',
    textbox: 'input:not([type]), input[type=text], input[type=search], input[type=password], textarea, [role=textbox]',
    checkbox: 'input[type=checkbox], [role=checkbox]',
    radio: 'input[type=radio], [role=radio]',
    dialog: 'dialog, [role=dialog]',
    region: 'section[aria-label], [role=region]',
  };
  const selector = label ? 'input, textarea, select' : (implicit[role] ?? `[role=${role}]`);
  const clean = (s: string | null | undefined) => (s ?? '').replace(/\s+/g, ' ').trim();
  const labelOf = (el: Element): string => {
    const aria = el.getAttribute('aria-label');
    if (aria) return clean(aria);
    const by = el.getAttribute('aria-labelledby');
    if (by) return clean(by.split(/\s+/).map((id) => document.getElementById(id)?.textContent ?? '').join(' '));
    if (el instanceof HTMLInputElement || el instanceof HTMLTextAreaElement || el instanceof HTMLSelectElement) {
      const labels = el.labels ? Array.from(el.labels).map((l) => l.textContent ?? '').join(' ') : '';
      if (clean(labels)) return clean(labels);
      return clean(el.getAttribute('placeholder') ?? el.getAttribute('title'));
    }
    return clean((el as HTMLElement).innerText ?? el.textContent);
  };
  const matches = (text: string) => name === null || ('exact' in name ? text === name.exact : new RegExp(name.source, name.flags).test(text));
  const visible = (el: Element) => {
    const r = el.getBoundingClientRect();
    return r.width > 0 && r.height > 0 && getComputedStyle(el).visibility !== 'hidden';
  };
  const found = Array.from(document.querySelectorAll(selector)).filter((el) => (mode === 'texts' || visible(el)) && matches(labelOf(el)));
  if (mode === 'texts') return found.map((el) => clean((el as HTMLElement).innerText ?? el.textContent));
  const el = found[0];
  if (!el) return null;
  const mark = String(Math.random()).slice(2);
  document.querySelectorAll('[data-engine-pick]').forEach((e) => e.removeAttribute('data-engine-pick'));
  el.setAttribute('data-engine-pick', mark);
  el.scrollIntoView({ block: 'center' });
  return `[data-engine-pick="${mark}"]`;
}

/**
 * Polls `check` every 200 ms until it returns a value other than undefined/false. The timeout error names `what`
 * and the last error the check threw; a check that answers only "not yet" (false) has no value to show, so waits
 * on something the page shows use pollUntil, whose error carries the last value read.
 */
export function pollFor<T>(what: string, check: () => Promise<T | undefined | false>, timeoutMs = 20_000): Promise<T> {
  return pollUntil(what, check, (value): value is T => value !== undefined && value !== false, timeoutMs);
}

/**
 * Reads `read()` every 200 ms until `ok` accepts the value, and returns it. The timeout error says `what`, the last
 * value read (unless it was only undefined/false) and the last error, so a CI log says where the page was.
 */
export async function pollUntil<V, T extends V = V>(what: string, read: () => Promise<V>, ok: ((value: V) => value is T) | ((value: V) => boolean), timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  let last: { value: V } | null = null;
  for (;;) {
    try {
      const value = await read();
      if (ok(value)) return value as T;
      if (value !== undefined && value !== false) last = { value };
    } catch (e) {
      // WebDriver's word for a browser that is gone (WebKitGTK's page process crashed): no later poll can succeed.
      if (e instanceof Error && e.name === 'NoSuchSessionError') throw new Error(`the browser is gone while waiting for ${what}: ${e.message}`, { cause: e });
      lastError = e;
    }
    if (Date.now() > deadline) {
      const seen = last ? `; last value seen: ${JSON.stringify(last.value)}` : '';
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${seen}${lastError ? `; last error: ${String(lastError)}` : ''}`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
}

/**
 * `fn(arg)` as one expression whose value is the JSON of `{ v: result }`, for engines whose drivers evaluate with a
 * user activation: Playwright's `page.evaluate` (CDP `userGesture: true`) and puppeteer's over BiDi
 * (`userActivation: true`) both count as a tap, and a page once activated lets every later AudioContext run, so
 * the gesture-gated paths could never be reached. Chromium and Firefox send this with the activation off instead.
 */
export function gesturelessExpression(fn: (arg: never) => unknown, arg: unknown): string {
  // `__name`: run under tsx (the benches, not vitest), esbuild's keepNames wraps a function's inner named functions
  // in __name(fn, "name"), a helper the page does not have; here it is the identity.
  return `(async () => { const __name = (f) => f; return JSON.stringify({ v: await (${fn.toString()})(${arg === undefined ? 'undefined' : JSON.stringify(arg)}) }); })()`;
}
export const parseGestureless = (json: string): never => (JSON.parse(json) as { v: never }).v;

/** Resolves after the page has painted twice, so a screenshot shows the DOM as it is now, not a frame behind. */
export const settlePaint = (): Promise<void> => new Promise((resolve) => requestAnimationFrame(() => requestAnimationFrame(() => resolve())));

/** Finds and marks an element, waiting for it to appear; returns the CSS selector of the mark. */
export function markElement(page: Pick<EnginePage, 'evaluate'>, role: Role | null, name: string | RegExp, timeoutMs = 20_000): Promise<string> {
  const what = role === null ? `a field labelled ${String(name)}` : `a ${role} named ${String(name)}`;
  return pollFor(what, async () => ((await page.evaluate(pickInPage, { mode: 'mark', role: role ?? '', name: toPattern(name), label: role === null })) as string | null) ?? undefined, timeoutMs);
}

export async function textsOf(page: Pick<EnginePage, 'evaluate'>, role: Role, name?: string | RegExp): Promise<string[]> {
  return (await page.evaluate(pickInPage, { mode: 'texts', role, name: name === undefined ? null : toPattern(name), label: false })) as string[];
}

/** The console line kept for a failure report: warnings and errors only (the app logs little else). */
export const keptConsole = (type: string, text: string): string | null => (type === 'error' || type === 'warn' || type === 'warning' ? `${type}: ${text}` : null);

/** Wraps a close function so that a second call (a test's own, then the teardown's) does nothing. */
export function closeOnce(close: () => Promise<void>): () => Promise<void> {
  let closing: Promise<void> | null = null;
  return () => (closing ??= close());
}

export const PHONE_VIEWPORT = { width: 390, height: 844 } as const;
