// Start and Stop as the screen sees them, with the browser work faked and a fake clock: whatever step the Start is
// at, and whatever the stopped session worker still sends, Stop ends on idle ("Ready") and stays there.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { EngineEvent, EngineState } from '../engine-api.ts';
import { makeEngineLifecycle, type EngineLifecycleDeps } from './engine-lifecycle.ts';
import { StartAborted, StartAttempt, STEP_TIMEOUT_MS } from './start-attempt.ts';

const clock = { setTimeout: (fn: () => void, ms: number) => setTimeout(fn, ms), clearTimeout: (h: unknown) => clearTimeout(h as ReturnType<typeof setTimeout>) };
const never = <T>() => new Promise<T>(() => undefined);

beforeEach(() => vi.useFakeTimers());
afterEach(() => vi.useRealTimers());

/** A built graph as the fake knows it: the session's way to reach the UI, and whether it was torn down. */
interface FakeGraph {
  id: number;
  sessionEmit: (event: EngineEvent) => void;
  tornDown: boolean;
}

/** The lifecycle over fakes; `events` is everything the UI received, in order. */
function setUp(overrides: Partial<EngineLifecycleDeps<undefined, FakeGraph>> = {}) {
  const events: EngineEvent[] = [];
  const graphs: FakeGraph[] = [];
  const deps: EngineLifecycleDeps<undefined, FakeGraph> = {
    newAttempt: () => new StartAttempt(clock),
    build: async (_o, _attempt, sessionEmit) => {
      const g = { id: graphs.length + 1, sessionEmit, tornDown: false };
      graphs.push(g);
      return g;
    },
    startSession: async () => undefined,
    teardown: async (g) => void (g.tornDown = true),
    startError: (err) => ({ reason: 'audio_failed', message: String((err as Error).message), fatal: true }),
    emit: (event) => events.push(event),
    ...overrides,
  };
  const lifecycle = makeEngineLifecycle(deps);
  const states = () => events.flatMap((e) => (e.kind === 'state' ? [e.state.kind] : []));
  return { lifecycle, events, graphs, states, lastState: () => states().at(-1) };
}

const listening: EngineEvent = { kind: 'state', state: { kind: 'listening' } satisfies EngineState };

describe('Stop', () => {
  it('stays on idle when the stopped session’s Listening arrives after it (the worker’s events are not ordered against its replies)', async () => {
    const { lifecycle, graphs, states } = setUp();
    await lifecycle.start(undefined);
    const session = graphs[0]!;
    session.sessionEmit(listening);
    await lifecycle.stop();
    // Sent by the worker just before it handled dispose; delivered on its own port after the teardown finished.
    session.sessionEmit(listening);
    session.sessionEmit({ kind: 'level', input: 0.5, output: 0 });
    expect(states()).toEqual(['connecting', 'listening', 'idle']);
    expect(session.tornDown).toBe(true);
  });

  it('drops what the session sends while it is being torn down, then says idle', async () => {
    let finishTeardown: () => void = () => undefined;
    const { lifecycle, graphs, states } = setUp({ teardown: (g) => new Promise<void>((r) => (finishTeardown = () => r(void (g.tornDown = true)))) });
    await lifecycle.start(undefined);
    const stopped = lifecycle.stop();
    graphs[0]!.sessionEmit({ kind: 'state', state: { kind: 'thinking' } });
    finishTeardown();
    await stopped;
    expect(states()).toEqual(['connecting', 'idle']);
  });

  it('ends a Start that waits on the echo loopback set-up at once, in idle, and closes the half-made loopback', async () => {
    const closed = vi.fn();
    const { lifecycle, states } = setUp({
      build: async (_o, attempt) => {
        await attempt.step('microphone', Promise.resolve());
        // The loopback's offer/answer/play() may never settle on a loaded machine: only the attempt can end it.
        attempt.signal.addEventListener('abort', closed);
        await attempt.step('loopback', never());
        throw new Error('unreachable');
      },
    });
    const started = lifecycle.start(undefined);
    await vi.advanceTimersByTimeAsync(100);
    await lifecycle.stop();
    await started;
    expect(states()).toEqual(['connecting', 'idle']);
    expect(closed).toHaveBeenCalledTimes(1);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('ends a Start whose session is still connecting, tears its graph down, and ignores the Listening it sends later', async () => {
    const { lifecycle, graphs, states } = setUp({ startSession: (_g, _o, attempt) => attempt.step('session', never()) });
    const started = lifecycle.start(undefined);
    await vi.advanceTimersByTimeAsync(0);
    expect(lifecycle.graph).toBe(graphs[0]);
    await lifecycle.stop();
    await started;
    graphs[0]!.sessionEmit(listening);
    expect(states()).toEqual(['connecting', 'idle']);
    expect(graphs[0]!.tornDown).toBe(true);
    expect(lifecycle.graph).toBeNull();
  });

  it('ends in idle even when the teardown fails', async () => {
    const errors = vi.spyOn(console, 'error').mockImplementation(() => undefined);
    const { lifecycle, lastState } = setUp({ teardown: async () => Promise.reject(new Error('port closed')) });
    await lifecycle.start(undefined);
    await lifecycle.stop();
    expect(lastState()).toBe('idle');
    expect(errors).toHaveBeenCalled();
    errors.mockRestore();
  });

  it('says nothing when nothing was started', async () => {
    const { lifecycle, events } = setUp();
    await lifecycle.stop();
    expect(events).toEqual([]);
  });
});

describe('Start', () => {
  it('says why when the session does not start in time, and tears down what it built', async () => {
    const { lifecycle, graphs, events, lastState } = setUp({ startSession: (_g, _o, attempt) => attempt.step('session', never()) });
    const started = lifecycle.start(undefined);
    await vi.advanceTimersByTimeAsync(STEP_TIMEOUT_MS.session);
    await started;
    expect(lastState()).toBe('error');
    const error = events.flatMap((e) => (e.kind === 'state' && e.state.kind === 'error' ? [e.state.error] : []))[0];
    expect(error?.message).toBe(new StartAborted({ kind: 'timeout', step: 'session', ms: STEP_TIMEOUT_MS.session }).message);
    expect(graphs[0]!.tornDown).toBe(true);
    expect(lifecycle.graph).toBeNull();
  });

  it('stops the running conversation first, and only the new session speaks afterwards', async () => {
    const { lifecycle, graphs, states } = setUp();
    await lifecycle.start(undefined);
    await lifecycle.start(undefined);
    graphs[0]!.sessionEmit(listening);
    expect(states()).toEqual(['connecting', 'idle', 'connecting']);
    graphs[1]!.sessionEmit(listening);
    expect(states()).toEqual(['connecting', 'idle', 'connecting', 'listening']);
    expect(lifecycle.graph).toBe(graphs[1]);
  });
});
