// One Start, as a cancellable sequence of browser steps (main thread). Every await that depends on the browser —
// loading the worklets, getUserMedia, resuming the AudioContext, the echo loopback, the session worker — goes
// through `step`, which
// gives it a deadline and lets Stop end the whole attempt at once: a browser promise that never settles (WebKit
// with a gesture-only autoplay policy, Firefox without an audio device) can then never hang Start or Stop.
// Pure apart from the injected clock, so the state machine is tested with fake timers (start-attempt.test.ts).

export type StartStep = 'worklet' | 'microphone' | 'resume' | 'loopback' | 'session';

/** Why an attempt ended early. `cancelled`: Stop was pressed; `timeout`: a step passed its deadline. */
export type StartAbort = { kind: 'cancelled' } | { kind: 'timeout'; step: StartStep; ms: number };

export class StartAborted extends Error {
  constructor(readonly abort: StartAbort) {
    super(abort.kind === 'cancelled' ? 'start cancelled' : `${abort.step} did not finish within ${abort.ms} ms`);
  }
}

export interface StartClock {
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

/** Deadlines per step. The microphone's is long: a person may be reading a permission prompt. */
export const STEP_TIMEOUT_MS: Readonly<Record<StartStep, number>> = {
  worklet: 10_000,
  microphone: 60_000,
  // How long resume() may take before the app assumes it needs a tap (then it waits for the tap, with no deadline).
  resume: 1_500,
  // The WebRTC echo loopback (offer/answer, ICE on loopback, play()): past this the app plays directly instead.
  loopback: 5_000,
  session: 15_000,
};

export class StartAttempt {
  private aborted: StartAbort | null = null;
  private readonly controller = new AbortController();
  /** Pending steps: each clears its own deadline and rejects. */
  private readonly pending = new Set<(err: StartAborted) => void>();

  constructor(
    private readonly clock: StartClock,
    private readonly timeouts: Readonly<Record<StartStep, number>> = STEP_TIMEOUT_MS,
  ) {}

  get cancelled(): boolean {
    return this.aborted !== null;
  }

  /** Aborted by cancel(): for work that can be ended, not only abandoned (the loopback closes its connections). */
  get signal(): AbortSignal {
    return this.controller.signal;
  }

  /** Ends every pending step now (their promises reject with StartAborted{cancelled}); later steps reject at once. */
  cancel(): void {
    if (this.aborted) return;
    this.aborted = { kind: 'cancelled' };
    const err = new StartAborted(this.aborted);
    this.controller.abort(err);
    for (const abort of [...this.pending]) abort(err);
    this.pending.clear();
  }

  /** Waits for `work` until its step's deadline or a cancel, whichever comes first. */
  step<T>(name: StartStep, work: Promise<T>): Promise<T> {
    return this.race(work, name);
  }

  /** Waits for `work` with no deadline, only until a cancel (the tap to resume: a person decides when). */
  untilCancelled<T>(work: Promise<T>): Promise<T> {
    return this.race(work, null);
  }

  private race<T>(work: Promise<T>, name: StartStep | null): Promise<T> {
    if (this.aborted) {
      work.catch(() => undefined);
      return Promise.reject(new StartAborted(this.aborted));
    }
    return new Promise<T>((resolve, reject) => {
      let timer: unknown = null;
      const done = () => {
        if (timer !== null) this.clock.clearTimeout(timer);
        this.pending.delete(abort);
      };
      const abort = (err: StartAborted) => {
        done();
        reject(err);
      };
      this.pending.add(abort);
      if (name !== null) {
        const ms = this.timeouts[name];
        timer = this.clock.setTimeout(() => {
          done();
          reject(new StartAborted({ kind: 'timeout', step: name, ms }));
        }, ms);
      }
      work.then(
        (value) => {
          done();
          resolve(value);
        },
        (err: unknown) => {
          done();
          reject(err);
        },
      );
    });
  }
}

/** What resumeOrWaitForTap needs of an AudioContext (an EventTarget for `statechange`, where there is one). */
export interface ResumableContext {
  readonly state: string;
  resume(): Promise<void>;
  addEventListener?(type: 'statechange', listener: () => void): void;
  removeEventListener?(type: 'statechange', listener: () => void): void;
}

/**
 * The AudioContext as far as Start is concerned: resumes it, and if it is still not running after the resume
 * deadline, reports that it needs a tap and waits for one (`waitForTap` is released from the tap's own gesture
 * handler) — or for the context to start by itself: a resume that was only slow (a loaded phone opening its audio
 * device) needs no tap.
 */
export async function resumeOrWaitForTap(attempt: StartAttempt, ctx: ResumableContext, hooks: { blocked(): void; waitForTap(): Promise<void> }): Promise<void> {
  if (ctx.state === 'running') return;
  try {
    await attempt.step('resume', ctx.resume());
  } catch (err) {
    if (err instanceof StartAborted && err.abort.kind === 'cancelled') throw err;
    // Timed out (resume() is left pending: browsers settle it when a gesture comes) or refused: ask for a tap.
  }
  while (ctx.state !== 'running') {
    hooks.blocked();
    let unlisten = () => undefined as void;
    const byItself = new Promise<void>((resolve) => {
      const onState = () => ctx.state === 'running' && resolve();
      ctx.addEventListener?.('statechange', onState);
      unlisten = () => ctx.removeEventListener?.('statechange', onState);
    });
    try {
      await attempt.untilCancelled(Promise.race([hooks.waitForTap(), byItself]));
    } finally {
      unlisten();
    }
  }
}
