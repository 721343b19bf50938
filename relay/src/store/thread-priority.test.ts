// lowerThisThreadPriority with its system calls passed in: which id it renices, and what it refuses to touch.
// (The real writer thread's nice value is checked in sqlite-writer.test.ts.)
import { describe, expect, it } from 'vitest';
import { lowerThisThreadPriority } from './thread-priority.ts';

const calls: Array<[number, number]> = [];
const deps = (link: string | (() => string)) => ({
  readlink: () => (typeof link === 'string' ? link : link()),
  setPriority: (pid: number, nice: number) => void calls.push([pid, nice]),
});

describe.runIf(process.platform === 'linux')('lowerThisThreadPriority', () => {
  it('renices the thread named by /proc/thread-self, not the process', () => {
    calls.length = 0;
    expect(lowerThisThreadPriority(10, deps('4242/task/4250'))).toBe(4250);
    expect(calls).toEqual([[4250, 10]]);
  });

  it('does NOT call setpriority with pid 0 (the whole process, event loop included) or a garbled id', () => {
    calls.length = 0;
    expect(lowerThisThreadPriority(10, deps('4242/task/0'))).toBeNull();
    expect(lowerThisThreadPriority(10, deps('self'))).toBeNull();
    expect(calls).toEqual([]);
  });

  it('never throws: without /proc the thread keeps its priority', () => {
    expect(
      lowerThisThreadPriority(10, deps(() => {
        throw new Error('ENOENT');
      })),
    ).toBeNull();
  });
});
