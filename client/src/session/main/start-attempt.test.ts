// The Start sequence as a state machine, on a fake clock: no browser promise can hang Start or Stop.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { resumeOrWaitForTap, StartAborted, StartAttempt, STEP_TIMEOUT_MS } from './start-attempt.ts';

const clock = { setTimeout: (fn: () => void, ms: number) => setTimeout(fn, ms), clearTimeout: (h: unknown) => clearTimeout(h as ReturnType<typeof setTimeout>) };
const never = <T>() => new Promise<T>(() => undefined);

beforeEach(() => vi.useFakeTimers());
afterEach(() => vi.useRealTimers());

async function settle<T>(p: Promise<T>): Promise<{ ok: true; value: T } | { ok: false; err: unknown }> {
  return p.then(
    (value) => ({ ok: true as const, value }),
    (err: unknown) => ({ ok: false as const, err }),
  );
}

describe('StartAttempt', () => {
  it('passes a step that finishes in time through unchanged', async () => {
    const attempt = new StartAttempt(clock);
    await expect(attempt.step('worklet', Promise.resolve(7))).resolves.toBe(7);
  });

  it('fails a worklet load that never settles at its deadline, naming the step', async () => {
    const attempt = new StartAttempt(clock);
    const result = settle(attempt.step('worklet', never()));
    await vi.advanceTimersByTimeAsync(STEP_TIMEOUT_MS.worklet - 1);
    expect(vi.getTimerCount()).toBe(1);
    await vi.advanceTimersByTimeAsync(1);
    const r = await result;
    expect(r.ok).toBe(false);
    expect((r as { err: StartAborted }).err.abort).toEqual({ kind: 'timeout', step: 'worklet', ms: STEP_TIMEOUT_MS.worklet });
  });

  it('gives getUserMedia (a permission prompt a person reads) a long deadline', async () => {
    const attempt = new StartAttempt(clock);
    const result = settle(attempt.step('microphone', never()));
    await vi.advanceTimersByTimeAsync(STEP_TIMEOUT_MS.microphone);
    expect(((await result) as { err: StartAborted }).err.abort).toMatchObject({ kind: 'timeout', step: 'microphone' });
  });

  it('cancel ends every pending step at once (Stop while Start waits on the browser)', async () => {
    const attempt = new StartAttempt(clock);
    const a = settle(attempt.step('microphone', never()));
    const b = settle(attempt.untilCancelled(never()));
    attempt.cancel();
    const [ra, rb] = await Promise.all([a, b]);
    expect((ra as { err: StartAborted }).err.abort).toEqual({ kind: 'cancelled' });
    expect((rb as { err: StartAborted }).err.abort).toEqual({ kind: 'cancelled' });
    expect(vi.getTimerCount()).toBe(0);
  });

  it('cancel aborts the attempt’s signal, so work that can be ended (the echo loopback) is closed, not only abandoned', async () => {
    const attempt = new StartAttempt(clock);
    const aborted = vi.fn();
    attempt.signal.addEventListener('abort', aborted);
    attempt.cancel();
    attempt.cancel();
    expect(aborted).toHaveBeenCalledTimes(1);
    expect((attempt.signal.reason as StartAborted).abort).toEqual({ kind: 'cancelled' });
  });

  it('gives the echo loopback set-up a deadline of its own', async () => {
    const attempt = new StartAttempt(clock);
    const result = settle(attempt.step('loopback', never()));
    await vi.advanceTimersByTimeAsync(STEP_TIMEOUT_MS.loopback);
    expect(((await result) as { err: StartAborted }).err.abort).toEqual({ kind: 'timeout', step: 'loopback', ms: STEP_TIMEOUT_MS.loopback });
  });

  it('refuses any step after a cancel without waiting for it', async () => {
    const attempt = new StartAttempt(clock);
    attempt.cancel();
    await expect(attempt.step('session', never())).rejects.toBeInstanceOf(StartAborted);
  });

  it('passes a step’s own error through (a denied microphone is not a timeout)', async () => {
    const attempt = new StartAttempt(clock);
    const denied = new Error('NotAllowedError');
    await expect(attempt.step('microphone', Promise.reject(denied))).rejects.toBe(denied);
    expect(vi.getTimerCount()).toBe(0);
  });
});

describe('resumeOrWaitForTap', () => {
  function fakeContext(resumeWorks: 'now' | 'never' | 'rejects') {
    const ctx = {
      state: 'suspended' as string,
      resume: vi.fn(async () => {
        if (resumeWorks === 'now') ctx.state = 'running';
        else if (resumeWorks === 'rejects') throw new Error('NotAllowedError');
        else await never();
      }),
    };
    return ctx;
  }

  it('does nothing to a context that already runs', async () => {
    const ctx = { state: 'running', resume: vi.fn(async () => undefined) };
    const hooks = { blocked: vi.fn(), waitForTap: vi.fn(never<void>) };
    await resumeOrWaitForTap(new StartAttempt(clock), ctx, hooks);
    expect(ctx.resume).not.toHaveBeenCalled();
    expect(hooks.blocked).not.toHaveBeenCalled();
  });

  it('resumes a suspended context without asking for a tap when the browser allows it', async () => {
    const ctx = fakeContext('now');
    const hooks = { blocked: vi.fn(), waitForTap: vi.fn(never<void>) };
    await resumeOrWaitForTap(new StartAttempt(clock), ctx, hooks);
    expect(hooks.blocked).not.toHaveBeenCalled();
  });

  it('asks for a tap when resume() hangs past its deadline, and goes on once the tap resumed the context', async () => {
    const ctx = fakeContext('never');
    let tapped: () => void = () => undefined;
    const hooks = { blocked: vi.fn(), waitForTap: vi.fn(() => new Promise<void>((r) => (tapped = r))) };
    const done = settle(resumeOrWaitForTap(new StartAttempt(clock), ctx, hooks));
    await vi.advanceTimersByTimeAsync(STEP_TIMEOUT_MS.resume - 1);
    expect(hooks.blocked).not.toHaveBeenCalled();
    await vi.advanceTimersByTimeAsync(1);
    expect(hooks.blocked).toHaveBeenCalledTimes(1);
    // The tap's gesture handler resumes the context, then releases the wait.
    ctx.state = 'running';
    tapped();
    expect(await done).toEqual({ ok: true, value: undefined });
  });

  it('stops asking for a tap when a merely slow resume() gets the context running by itself', async () => {
    // A loaded phone may take longer than the deadline to open its audio device: the context then starts with no
    // tap, and Start must go on instead of waiting for a tap nobody needs to make.
    let finish: () => void = () => undefined;
    const ctx = Object.assign(new EventTarget(), {
      state: 'suspended' as string,
      resume: vi.fn(() => new Promise<void>((r) => (finish = r))),
    });
    const hooks = { blocked: vi.fn(), waitForTap: vi.fn(never<void>) };
    const done = settle(resumeOrWaitForTap(new StartAttempt(clock), ctx, hooks));
    await vi.advanceTimersByTimeAsync(STEP_TIMEOUT_MS.resume);
    expect(hooks.blocked).toHaveBeenCalledTimes(1);
    ctx.state = 'running';
    ctx.dispatchEvent(new Event('statechange'));
    finish();
    expect(await done).toEqual({ ok: true, value: undefined });
    expect(hooks.waitForTap).toHaveBeenCalledTimes(1);
  });

  it('asks again if a tap did not get the context running', async () => {
    const ctx = fakeContext('rejects');
    const taps: Array<() => void> = [];
    const hooks = { blocked: vi.fn(), waitForTap: vi.fn(() => new Promise<void>((r) => taps.push(r))) };
    const done = settle(resumeOrWaitForTap(new StartAttempt(clock), ctx, hooks));
    await vi.advanceTimersByTimeAsync(0);
    expect(hooks.blocked).toHaveBeenCalledTimes(1);
    taps[0]!();
    await vi.advanceTimersByTimeAsync(0);
    expect(hooks.blocked).toHaveBeenCalledTimes(2);
    ctx.state = 'running';
    taps[1]!();
    expect((await done).ok).toBe(true);
  });

  it('Stop while waiting for the tap ends the wait', async () => {
    const ctx = fakeContext('never');
    const attempt = new StartAttempt(clock);
    const hooks = { blocked: vi.fn(), waitForTap: vi.fn(never<void>) };
    const done = settle(resumeOrWaitForTap(attempt, ctx, hooks));
    await vi.advanceTimersByTimeAsync(STEP_TIMEOUT_MS.resume);
    attempt.cancel();
    const r = await done;
    expect((r as { err: StartAborted }).err.abort).toEqual({ kind: 'cancelled' });
  });
});
