// Waiting for a bench child (a relay, the simulator or the upstream stand-in) to say where it listens. Every one of
// them prints one JSON line, {"msg":"listening"|"simulator listening","url":…}, once its socket is bound; the benches
// connect only after it, and a child that exits or stays silent for 30 s fails the bench with what it said.
import type { ChildProcess } from 'node:child_process';

export interface ListeningOptions {
  /** Every whole stdout line after the listening line, with the time it arrived (e.g. GC trace lines). */
  onLineAfter?: (text: string, at: number) => void;
  /** What the exit error should show of the child's stderr, if the caller collects it. */
  stderr?: () => string;
  /** How long to wait for the line (30 s; a relay under valgrind needs minutes). */
  timeoutMs?: number;
}

/** Resolves with the URL the child prints; rejects if it exits first or prints nothing for `timeoutMs`. */
export function listeningUrl(child: ChildProcess, script: string, opts: ListeningOptions = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    let buf = '';
    let url: string | null = null;
    const timer = setTimeout(() => reject(new Error(`${script} did not start`)), opts.timeoutMs ?? 30_000);
    child.stdout!.on('data', (c: Buffer) => {
      buf += c.toString();
      const lines = buf.split('\n');
      buf = lines.pop()!;
      for (const text of lines) {
        if (url !== null) {
          opts.onLineAfter?.(text, Date.now());
          continue;
        }
        try {
          const j = JSON.parse(text) as { msg?: string; url?: string };
          if ((j.msg === 'listening' || j.msg === 'simulator listening') && j.url) {
            url = j.url;
            clearTimeout(timer);
            if (!opts.onLineAfter) {
              // Nobody reads the rest: keep the pipe drained so the child never blocks on a full stdout.
              child.stdout!.removeAllListeners('data');
              child.stdout!.resume();
            }
            resolve(url);
            if (!opts.onLineAfter) return;
          }
        } catch {
          // a log line that is not JSON (a GC trace line before listening)
        }
      }
    });
    // 'close', not 'exit': it comes after the child's pipes are drained, so the error has everything it said.
    child.once('close', (code) => {
      clearTimeout(timer);
      const said = opts.stderr?.().slice(0, 2000);
      reject(new Error(`${script} exited with ${code}${said ? `: ${said}` : ''}`));
    });
  });
}
