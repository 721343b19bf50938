// When an engine test earns its one rerun: only for a crash the browser reported during that test.
// (Plain objects stand in for the engine: what is under test is the rule, not a browser.)
import { describe, expect, it, vi } from 'vitest';
import type { Engine } from './driver.ts';
import { rerunAfterEngineCrash } from './crash-retry.ts';

function fixture() {
  const crashes: string[] = [];
  const engine = { name: 'webkit', crashes: () => crashes, newPage: () => Promise.reject(new Error('unused')), close: async () => undefined } satisfies Engine;
  const log = { warned: [] as string[], closed: 0, runs: 0 };
  const deps = { engine: () => engine, closePages: async () => void log.closed++, warn: (line: string) => void log.warned.push(line), reportWithinMs: 0 };
  return { crashes, log, deps };
}

describe('rerunAfterEngineCrash', () => {
  it('runs a passing test once', async () => {
    const { log, deps } = fixture();
    await rerunAfterEngineCrash(deps, 't', async () => void log.runs++)();
    expect(log).toEqual({ warned: [], closed: 0, runs: 1 });
  });

  it('fails a test that failed with no crash, without a rerun', async () => {
    const { log, deps } = fixture();
    const run = rerunAfterEngineCrash(deps, 't', async () => {
      log.runs++;
      throw new Error('the app is broken');
    });
    await expect(run()).rejects.toThrow('the app is broken');
    expect(log.runs).toBe(1);
  });

  it('reruns once, on fresh pages and saying so, when the browser crashed during the test', async () => {
    const { crashes, log, deps } = fixture();
    await rerunAfterEngineCrash(deps, 'a turn', async () => {
      if (++log.runs === 1) {
        crashes.push('malloc_consolidate(): unaligned fastbin chunk detected\n** WebProcess CRASHED');
        throw new Error('NoSuchSessionError');
      }
    })();
    expect(log.runs).toBe(2);
    expect(log.closed).toBe(1);
    expect(log.warned.join('')).toMatch(/crashed during "a turn".*NoSuchSessionError[\s\S]*malloc_consolidate[\s\S]*once more/);
  });

  it('fails when the rerun fails too, crash or not', async () => {
    const { crashes, log, deps } = fixture();
    const run = rerunAfterEngineCrash(deps, 't', async () => {
      log.runs++;
      crashes.push('WebProcess CRASHED');
      throw new Error(`crash ${log.runs}`);
    });
    await expect(run()).rejects.toThrow('crash 2');
    expect(log.runs).toBe(2);
  });

  it('waits for a crash report that comes after the failure (stderr and the driver answer on different pipes)', async () => {
    vi.useFakeTimers();
    try {
      const { crashes, log, deps } = fixture();
      const run = rerunAfterEngineCrash({ ...deps, reportWithinMs: 2000 }, 't', async () => {
        if (++log.runs === 1) {
          setTimeout(() => crashes.push('WebProcess CRASHED'), 300);
          throw new Error('NoSuchSessionError');
        }
      })();
      await vi.advanceTimersByTimeAsync(400);
      await run;
      expect(log.runs).toBe(2);
    } finally {
      vi.useRealTimers();
    }
  });

  it('does not count a crash from before the test', async () => {
    const { crashes, log, deps } = fixture();
    crashes.push('WebProcess CRASHED');
    const run = rerunAfterEngineCrash(deps, 't', async () => {
      log.runs++;
      throw new Error('the app is broken');
    });
    await expect(run()).rejects.toThrow('the app is broken');
    expect(log.runs).toBe(1);
  });
});
