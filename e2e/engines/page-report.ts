// What a page showed, for the log of a failed engine test (runs in the test process; the sampler runs in the
// page). A CI failure such as "timed out waiting for Ready after Stop" says only that the app did not get there;
// this says where it was: the status line now, every state it showed on the way, the page's console warnings and
// errors, and the client events the simulator received. app-engines and hands-free-engines print it from their
// afterEach when a test failed, before the page is closed.
import type { EnginePage } from './driver.ts';

interface PageWindow {
  __states?: string[];
  __console?: string[];
}

/**
 * Samples the status line every 100 ms into `__states` (in order, without repeats) and keeps the page's own
 * console warnings and errors in `__console` (the one console record WebKit gives; the others add the driver's).
 * Call it once the app has loaded: a navigation or reload clears both.
 */
export async function watchPage(page: EnginePage): Promise<void> {
  await page.evaluate(() => {
    const w = window as unknown as PageWindow;
    if (w.__states) return;
    w.__states = [];
    w.__console = [];
    const keep = w.__console;
    for (const level of ['warn', 'error'] as const) {
      const original = console[level].bind(console);
      console[level] = (...args: unknown[]) => {
        keep.push(`${level}: ${args.map((a) => (a instanceof Error ? `${a.name}: ${a.message}` : typeof a === 'string' ? a : JSON.stringify(a))).join(' ')}`);
        original(...args);
      };
    }
    window.addEventListener('error', (e) => keep.push(`uncaught: ${e.message}`));
    window.addEventListener('unhandledrejection', (e) => keep.push(`unhandled rejection: ${String((e.reason as Error)?.message ?? e.reason)}`));
    setInterval(() => {
      const line = document.querySelector('[role=status]')?.textContent?.trim() ?? '';
      if (line && w.__states!.at(-1) !== line) w.__states!.push(line);
    }, 100);
  });
}

/** The states the status line showed since watchPage, in order. */
export const statesSeen = (page: EnginePage): Promise<string[]> => page.evaluate(() => (window as unknown as PageWindow).__states ?? []);

/** Everything a failure log needs from `page`; never throws (a closed or hung page says so in the report). */
export async function pageReport(page: EnginePage, clientEvents: readonly string[]): Promise<string> {
  const within = <T>(what: Promise<T>): Promise<T | string> =>
    Promise.race([what, new Promise<string>((r) => setTimeout(() => r('(the page did not answer within 5 s)'), 5000))]).catch((err: unknown) => `(unreadable: ${String((err as Error)?.message ?? err)})`);
  const shown = await within(
    page.evaluate(() => {
      const w = window as unknown as PageWindow;
      const status = Array.from(document.querySelectorAll('[role=status]')).map((el) => el.textContent?.trim() ?? '');
      const alerts = Array.from(document.querySelectorAll('[role=alert]')).map((el) => el.textContent?.trim() ?? '').filter((t) => t !== '');
      const buttons = Array.from(document.querySelectorAll('button')).map((b) => b.getAttribute('aria-label') || b.textContent?.trim() || '');
      return { status, alerts, buttons, states: w.__states ?? null, console: w.__console ?? [] };
    }),
  );
  const lines = [`url: ${await within(page.url())}`];
  if (typeof shown === 'string') lines.push(`page: ${shown}`);
  else {
    lines.push(`status line: ${JSON.stringify(shown.status)}`);
    if (shown.alerts.length > 0) lines.push(`alerts: ${JSON.stringify(shown.alerts)}`);
    lines.push(`buttons: ${JSON.stringify(shown.buttons)}`);
    lines.push(`states seen: ${shown.states === null ? '(not watched)' : shown.states.join(' → ') || '(none)'}`);
  }
  // The driver's record starts when the page opened, the page's own when it was watched: the first where there is one.
  const native = page.consoleLines();
  const hooked = typeof shown === 'string' ? [] : shown.console;
  if (native.length > 0) lines.push('console (driver):', ...native.map((l) => `  ${l}`));
  else if (hooked.length > 0) lines.push('console (page):', ...hooked.map((l) => `  ${l}`));
  lines.push(`client events at the simulator: ${clientEvents.join(', ') || '(none)'}`);
  return lines.join('\n');
}
