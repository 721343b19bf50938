// One more run for an engine test whose browser crashed under it. WebKitGTK's page process dies now and then while
// a conversation plays (glibc: "malloc_consolidate(): unaligned fastbin chunk detected", then MiniBrowser's
// "WebProcess CRASHED": the engine corrupted its own heap; seen in about one of five full WebKit runs on a loaded
// machine, always around reply playback). The page is gone, so the test can only time out on NoSuchSessionError,
// which says nothing about the app. Only a crash the engine itself reported during that test earns the rerun, on
// fresh pages, once, and it is printed; any other failure, and a second crash, fail the test as before.
import type { Engine } from './driver.ts';

export interface CrashRetryDeps {
  engine(): Engine;
  /** Closes the test's pages (the crashed one included) before the rerun opens its own. */
  closePages(): Promise<void>;
  /** Where the rerun is announced (the CI log). */
  warn(line: string): void;
  /**
   * How long a failure waits for the engine's crash report (default 1000 ms): the browser's stderr and the
   * driver's "session gone" answer come on different pipes, in no fixed order.
   */
  reportWithinMs?: number;
}

export function rerunAfterEngineCrash(deps: CrashRetryDeps, name: string, body: () => Promise<void>): () => Promise<void> {
  return async () => {
    const before = deps.engine().crashes().length;
    try {
      await body();
    } catch (err) {
      const deadline = Date.now() + (deps.reportWithinMs ?? 1000);
      while (deps.engine().crashes().length === before && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      const crashes = deps.engine().crashes().slice(before);
      if (crashes.length === 0) throw err;
      deps.warn(
        `[${deps.engine().name}] the browser crashed during "${name}" (${String(err).slice(0, 200)}); what it printed:\n` +
          `${crashes.join('\n---\n')}\nrunning the test once more on a fresh page`,
      );
      await deps.closePages();
      await body();
    }
  };
}
