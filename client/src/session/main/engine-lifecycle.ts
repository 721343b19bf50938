// Start and Stop of one engine (main thread): which Start is in progress, which audio graph runs, and which
// session worker may still speak to the UI. engine.ts supplies the browser work (build, start the session, tear
// down); this module owns the order of things, so it is tested with fakes on a fake clock (engine-lifecycle.test.ts).
//
// State ownership: this module announces `connecting` when Start is called, `error` when the graph cannot be built
// or the session not started, and `idle` once Stop tore everything down; everything in between comes from the
// session worker. A stopped session's events are dropped from the moment its Stop begins: the worker's events
// travel on their own MessagePort, which no browser orders against the worker's replies, so a `listening` sent
// just before the worker handled `dispose` can arrive after `idle` and would otherwise leave the screen on
// Listening with nothing running (the CI flake "stops cleanly while a gestureless start is still pending").
import type { EngineError, EngineEvent } from '../engine-api.ts';
import { StartAborted, type StartAttempt } from './start-attempt.ts';

export interface EngineLifecycleDeps<O, G> {
  /** A new attempt per Start (start-attempt.ts): Stop cancels it. */
  newAttempt(): StartAttempt;
  /**
   * Builds the audio graph and the session worker under `attempt`. `sessionEmit` is what the worker's events go
   * through: it forwards them until this Start is stopped, then drops them.
   */
  build(options: O, attempt: StartAttempt, sessionEmit: (event: EngineEvent) => void): Promise<G>;
  /** Connects the built session (under the attempt's `session` step). */
  startSession(graph: G, options: O, attempt: StartAttempt): Promise<void>;
  teardown(graph: G): Promise<void>;
  /** What a failed Start tells the person. */
  startError(err: unknown): EngineError;
  emit(event: EngineEvent): void;
}

export interface EngineLifecycle<O, G> {
  /** The running graph, or null (none yet, stopped, or still being built). */
  readonly graph: G | null;
  start(options: O): Promise<void>;
  /** Always ends in idle: a pending Start is cancelled at whatever step it is, not waited for. */
  stop(): Promise<void>;
}

/** One Start's hold on the UI: `close` silences its session for good. */
interface Run {
  attempt: StartAttempt;
  done: Promise<void>;
  close(): void;
}

export function makeEngineLifecycle<O, G>(deps: EngineLifecycleDeps<O, G>): EngineLifecycle<O, G> {
  let graph: { graph: G; run: Run } | null = null;
  let current: Run | null = null;

  const lifecycle: EngineLifecycle<O, G> = {
    get graph() {
      return graph?.graph ?? null;
    },
    async start(options) {
      if (graph || current) await lifecycle.stop();
      deps.emit({ kind: 'state', state: { kind: 'connecting' } });
      const attempt = deps.newAttempt();
      let live = true;
      const sessionEmit = (event: EngineEvent) => {
        if (live) deps.emit(event);
      };
      const run: Run = {
        attempt,
        done: Promise.resolve(),
        close: () => {
          live = false;
        },
      };
      run.done = (async () => {
        let built: G | null = null;
        try {
          built = await deps.build(options, attempt, sessionEmit);
          if (attempt.cancelled) throw new StartAborted({ kind: 'cancelled' });
          graph = { graph: built, run };
          deps.emit({ kind: 'audio', blocked: false });
          await deps.startSession(built, options, attempt);
        } catch (err) {
          run.close();
          if (built) await deps.teardown(built).catch(() => undefined);
          if (graph?.run === run) graph = null;
          // Stop pressed: stop() announces idle. Anything else is an error the person can act on.
          if (err instanceof StartAborted && err.abort.kind === 'cancelled') return;
          deps.emit({ kind: 'audio', blocked: false });
          deps.emit({ kind: 'state', state: { kind: 'error', error: deps.startError(err) } });
        }
      })();
      current = run;
      try {
        await run.done;
      } finally {
        if (current === run) current = null;
      }
    },
    async stop() {
      const pending = current;
      current = null;
      if (pending) {
        pending.close();
        pending.attempt.cancel();
        await pending.done.catch(() => undefined);
      }
      const running = graph;
      graph = null;
      if (running) {
        running.run.close();
        // A teardown that fails still ends in idle: the person pressed Stop.
        await deps.teardown(running.graph).catch((err: unknown) => console.error('[engine] teardown failed', err));
      }
      if (running || pending) {
        deps.emit({ kind: 'audio', blocked: false });
        deps.emit({ kind: 'state', state: { kind: 'idle' } });
      }
    },
  };
  return lifecycle;
}
