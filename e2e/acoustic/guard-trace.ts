// The bench's diagnosis of a false turn, pure: the session worker's per-frame guard trace (`?trace=guard`: each
// capture frame's level, whether the assistant counted as audible, the guard's verdict) read against the times the
// provider's VAD opened a turn. It answers issue 15's question "which frames opened it": echo the guard let
// through while the assistant was audible (a burst of residual echo opened it), or the echo's tail after the app
// stopped counting the assistant as audible, or something else. echo-rig.ts collects the trace; bench/echo.ts
// prints this.
import type { GuardTraceFrame } from '../../client/src/session/engine-api.ts';

export type { GuardTraceFrame };

/** A stretch where the worker counted the assistant as audible (first frame to the last, wall clock). */
export interface AudibleSpan {
  from: number;
  to: number;
}

export function audibleSpans(trace: readonly GuardTraceFrame[]): AudibleSpan[] {
  const spans: AudibleSpan[] = [];
  let open: AudibleSpan | null = null;
  for (const f of trace) {
    if (f.audible) {
      if (open) open.to = f.at;
      else spans.push((open = { from: f.at, to: f.at }));
    } else open = null;
  }
  return spans;
}

/** Where a frame lay against the assistant's audible spans. */
export type Phase =
  /** While the assistant counted as audible: `ms` since its span began. */
  | { kind: 'during'; ms: number }
  /** After a span ended: `ms` since its last audible frame. */
  | { kind: 'after'; ms: number }
  | { kind: 'none' };

export function phaseOf(spans: readonly AudibleSpan[], at: number): Phase {
  let last: AudibleSpan | null = null;
  for (const s of spans) {
    if (s.from > at) break;
    last = s;
  }
  if (!last) return { kind: 'none' };
  return at <= last.to ? { kind: 'during', ms: at - last.from } : { kind: 'after', ms: at - last.to };
}

export interface FalseTurnCause {
  /** When the provider's speech_started reached the relay. */
  speechStartedAt: number;
  /** The first frame of the last run sent (pass/open) at or above the VAD's level before it: what opened the turn. */
  first: (GuardTraceFrame & { phase: Phase }) | null;
  /** Frames in that run, and the loudest of them (dBFS). */
  loudSent: number;
  peakDb: number | null;
}

/**
 * What the provider heard before a false turn: the frames the guard sent (pass or open) at or above `vadDb` in the
 * `windowMs` before the turn opened; the first frame of the last run of them (gaps under 60 ms; the user's own
 * words, further back, are not it) placed against the assistant's audible spans.
 */
export function explainFalseTurn(trace: readonly GuardTraceFrame[], speechStartedAt: number, { windowMs = 1500, vadDb = -40 } = {}): FalseTurnCause {
  const spans = audibleSpans(trace);
  const sent = trace.filter((f) => f.at >= speechStartedAt - windowMs && f.at <= speechStartedAt && (f.verdict === 'pass' || f.verdict === 'open') && f.db >= vadDb);
  let start = sent.length - 1;
  while (start > 0 && sent[start]!.at - sent[start - 1]!.at < 60) start--;
  const run = sent.slice(Math.max(0, start));
  const first = run[0];
  return {
    speechStartedAt,
    first: first ? { ...first, phase: phaseOf(spans, first.at) } : null,
    loudSent: run.length,
    peakDb: run.length > 0 ? Math.max(...run.map((f) => f.db)) : null,
  };
}

/** Where the guard opened while the assistant was audible: ms into the span, and the frame's level. */
export function openings(trace: readonly GuardTraceFrame[]): Array<{ at: number; msIntoSpan: number; db: number }> {
  const spans = audibleSpans(trace);
  return trace
    .filter((f) => f.verdict === 'open')
    .map((f) => {
      const p = phaseOf(spans, f.at);
      return { at: f.at, msIntoSpan: p.kind === 'during' ? p.ms : NaN, db: f.db };
    });
}

/**
 * The echo's tail as the microphone path delivered it: for each span's end, the loudest frame level in each
 * `bucketMs` bucket after it (up to `bucketsAfter` buckets, stopping at the next span or any frame the guard
 * saw while audible). Says how long after the app stops counting the assistant as audible the echo still arrives.
 */
export function tailProfile(trace: readonly GuardTraceFrame[], bucketMs = 100, bucketsAfter = 10): number[][] {
  const spans = audibleSpans(trace);
  return spans.map((s, i) => {
    const next = spans[i + 1]?.from ?? Infinity;
    const peaks: number[] = [];
    for (let b = 0; b < bucketsAfter; b++) {
      const from = s.to + b * bucketMs;
      const to = Math.min(from + bucketMs, next);
      if (from >= next) break;
      const dbs = trace.filter((f) => f.at > from && f.at <= to).map((f) => f.db);
      peaks.push(dbs.length > 0 ? Math.max(...dbs) : NaN);
    }
    return peaks;
  });
}

/** The loudest frame level in each `bucketMs` bucket from a span's start (the canceller's convergence, as heard). */
export function onsetProfile(trace: readonly GuardTraceFrame[], bucketMs = 250, buckets = 8): number[][] {
  return audibleSpans(trace).map((s) => {
    const peaks: number[] = [];
    for (let b = 0; b < buckets; b++) {
      const from = s.from + b * bucketMs;
      if (from > s.to) break;
      const dbs = trace.filter((f) => f.at >= from && f.at < from + bucketMs && f.at <= s.to).map((f) => f.db);
      peaks.push(dbs.length > 0 ? Math.max(...dbs) : NaN);
    }
    return peaks;
  });
}
