// Background threads of the relay (the SQLite writer) run below the event loop's scheduling priority. Why (issue
// 17, `npm run bench:stalls`): under `taskset` the writer shares the relay's core, and each 500 ms usage batch
// (~6 ms of commit CPU at 300 sessions) woke it at the event loop's priority, so the scheduler let it preempt the
// loop for milliseconds at once, and every frame of every session waited behind it. At a lower priority it gets
// the core when the loop is idle or in short slices, and a commit is due only by the next tick (500 ms), not
// within a frame's 20 ms.
//
// Linux only: a thread is a task there, and setpriority(PRIO_PROCESS, tid) renices just that thread; its id is
// /proc/thread-self's last path component. Elsewhere (or with /proc missing) this does nothing: the thread keeps
// the process's priority, as before.
import { readlinkSync } from 'node:fs';
import { setPriority } from 'node:os';

/** Nice value for relay background threads: weight ~1/10 of the loop's (nice 0) when both want the core. */
export const BACKGROUND_THREAD_NICE = 10;

export interface ThreadPriorityDeps {
  readlink: (path: string) => string;
  setPriority: (pid: number, priority: number) => void;
}

/** Renices the calling thread only. Returns the thread id reniced, or null when the platform cannot. Never throws. */
export function lowerThisThreadPriority(nice = BACKGROUND_THREAD_NICE, deps: ThreadPriorityDeps = { readlink: readlinkSync, setPriority }): number | null {
  if (process.platform !== 'linux') return null;
  try {
    const tid = Number(deps.readlink('/proc/thread-self').split('/').pop());
    // pid 0 would renice the whole process (the event loop with it): never.
    if (!Number.isInteger(tid) || tid <= 0) return null;
    deps.setPriority(tid, nice);
    return tid;
  } catch {
    return null;
  }
}
