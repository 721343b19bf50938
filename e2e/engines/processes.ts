// Child processes the engine drivers start (PulseAudio, Xvfb, WebKitWebDriver), each ended by its own pid on
// teardown so a run leaves no orphans. Every child gets its own process group: killing the group also ends
// what it spawned (WebKitWebDriver starts MiniBrowser and its web processes).
import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';

export interface OwnedProcess {
  child: ChildProcess;
  /** What it printed on stderr so far (for error messages). */
  stderr(): string;
  exited: Promise<number | null>;
  /** SIGTERM to its process group, SIGKILL after `graceMs`; resolves when it has exited. */
  stop(graceMs?: number): Promise<void>;
}

/** Every group still running, ended synchronously if this process exits without tearing down (a crash). */
const live = new Set<number>();
let exitHookInstalled = false;
function endAllOnExit(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once('exit', () => {
    for (const pid of live) {
      try {
        process.kill(-pid, 'SIGKILL');
      } catch {
        // gone already
      }
    }
  });
}

export function startOwned(command: string, args: string[], options: SpawnOptions = {}): OwnedProcess {
  const child = spawn(command, args, { stdio: ['ignore', 'ignore', 'pipe'], detached: true, ...options });
  let err = '';
  if (child.pid !== undefined) {
    endAllOnExit();
    live.add(child.pid);
    const pid = child.pid;
    child.once('exit', () => live.delete(pid));
  }
  child.stderr?.on('data', (chunk: Buffer) => (err = (err + chunk.toString()).slice(-4000)));
  const exited = new Promise<number | null>((resolve) => {
    child.once('exit', (code) => resolve(code));
    child.once('error', (e) => {
      err += String(e);
      resolve(null);
    });
  });
  const signalGroup = (signal: NodeJS.Signals) => {
    if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
    try {
      process.kill(-child.pid, signal);
    } catch {
      // the group is gone already
    }
  };
  return {
    child,
    stderr: () => err,
    exited,
    async stop(graceMs = 3000) {
      signalGroup('SIGTERM');
      const timer = setTimeout(() => signalGroup('SIGKILL'), graceMs);
      await exited;
      clearTimeout(timer);
      // Children of the group that outlive the leader (web processes) get the same end.
      if (child.pid !== undefined) {
        try {
          process.kill(-child.pid, 'SIGKILL');
        } catch {
          // none left
        }
      }
    },
  };
}

/** Polls `check` until it returns a value (not undefined) or `timeoutMs` passes; the error names `what`. */
export async function pollUntil<T>(what: string, check: () => Promise<T | undefined> | T | undefined, timeoutMs = 20_000, everyMs = 100): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value !== undefined) return value;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline) throw new Error(`${what}: not ready after ${timeoutMs} ms${last ? ` (${String(last)})` : ''}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
