// An echo path that changes while the assistant talks (issue 15): what makes a real canceller re-diverge — the
// phone picked up or moved, a hand over the speaker. The bench's knob `ECHO_PATH_CHANGE` (bench/echo.ts) names the
// change and when it comes; `makePathChanger` applies it `afterMs` into every reply and puts the cell's path back
// before the user's next utterance, so each reply starts on the path the canceller has converged on.
//
// Grammar: `<change>[,<change>]@<seconds>s`, a change being `gain±N` (dB added to the cell's gain) or `delayN` (a new
// module-loopback target latency, ms). E.g. `gain+10@1.5s`, `delay300@1s`, `gain+6,delay300@1.5s`.
import type { EchoPath, Speakerphone } from './speakerphone.ts';

export interface PathChange {
  /** dB added to the cell's speaker-to-mic gain (0: unchanged). */
  gainStepDb: number;
  /** The new loopback latency (ms), or null: the cell's delay stays. */
  delayMs: number | null;
  /** From the reply's first audio reaching the relay to the change. */
  afterMs: number;
  /** The knob as given, for the bench's header. */
  label: string;
}

export function parsePathChange(knob: string): PathChange {
  const m = /^([^@]+)@(\d+(?:\.\d+)?)s$/.exec(knob.trim());
  if (!m) throw new Error(`ECHO_PATH_CHANGE="${knob}": expected e.g. gain+10@1.5s, delay300@1s or gain+6,delay300@1.5s`);
  let gainStepDb = 0;
  let delayMs: number | null = null;
  for (const part of m[1]!.split(',')) {
    const gain = /^gain([+-]\d+(?:\.\d+)?)$/.exec(part);
    const delay = /^delay(\d+)$/.exec(part);
    if (gain) gainStepDb = Number(gain[1]);
    else if (delay) delayMs = Number(delay[1]);
    else throw new Error(`ECHO_PATH_CHANGE="${knob}": "${part}" is neither gain±dB nor delayMs`);
  }
  if (gainStepDb === 0 && delayMs === null) throw new Error(`ECHO_PATH_CHANGE="${knob}" changes nothing`);
  return { gainStepDb, delayMs, afterMs: Number(m[2]) * 1000, label: knob.trim() };
}

/** The path after the change, from the cell's path. */
export function changedPath(base: EchoPath, change: PathChange): EchoPath {
  return { ...base, gainDb: base.gainDb + change.gainStepDb, delayMs: change.delayMs ?? base.delayMs };
}

/** A provider event the relay logged: replies are found by their audio (echo-rig.ts's Logged, the fields used). */
export interface LoggedEvent {
  at: number;
  dir: 'up' | 'down';
  type: string;
}

/**
 * The first audio delta of each reply (after each response.created) in `log` since `from`: when a reply starts.
 * Pure, so the bench's timing is testable without a browser.
 */
export function replyStarts(log: readonly LoggedEvent[], from: number): number[] {
  const starts: number[] = [];
  let waiting = false;
  for (const l of log) {
    if (l.at < from || l.dir !== 'down') continue;
    if (l.type === 'response.created') waiting = true;
    else if (waiting && l.type === 'response.output_audio.delta') {
      starts.push(l.at);
      waiting = false;
    }
  }
  return starts;
}

export interface PathChanger {
  /** Back to the cell's path (before each utterance), and watch for replies from now on. */
  reset(): Promise<void>;
  /** When each change was applied (wall clock), for the trace's reading. */
  appliedAt(): readonly number[];
  stop(): Promise<void>;
}

/**
 * Watches the rig's log every 20 ms; `afterMs` after each reply starts, routes the speakerphone on the changed path.
 * Every speakerphone call goes through one chain: a reset never overlaps a change.
 */
export function makePathChanger(speakerphone: Speakerphone, log: () => readonly LoggedEvent[], base: EchoPath, change: PathChange, now: () => number = Date.now): PathChanger {
  let chain: Promise<void> = Promise.resolve();
  const serial = (job: () => Promise<void>) => (chain = chain.then(job, job));
  let since = now();
  let handled = 0;
  const applied: number[] = [];
  const timers = new Set<ReturnType<typeof setTimeout>>();
  const watch = setInterval(() => {
    const starts = replyStarts(log(), since);
    for (; handled < starts.length; handled++) {
      const wait = Math.max(0, starts[handled]! + change.afterMs - now());
      const timer = setTimeout(() => {
        timers.delete(timer);
        void serial(async () => {
          applied.push(now());
          await speakerphone.set(changedPath(base, change));
        });
      }, wait);
      timers.add(timer);
    }
  }, 20);
  const cancel = () => {
    for (const t of timers) clearTimeout(t);
    timers.clear();
  };
  return {
    async reset() {
      cancel();
      since = now();
      handled = 0;
      await serial(() => speakerphone.set(base));
    },
    appliedAt: () => applied,
    async stop() {
      clearInterval(watch);
      cancel();
      await chain;
    },
  };
}
