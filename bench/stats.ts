// Small statistics helpers for the benchmarks.
export function percentile(sorted: ArrayLike<number>, p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank]!;
}

export function summarize(values: Float64Array | number[]): { n: number; p50: number; p99: number; max: number; mean: number } {
  const sorted = Float64Array.from(values).sort();
  let sum = 0;
  for (const v of sorted) sum += v;
  return { n: sorted.length, p50: percentile(sorted, 50), p99: percentile(sorted, 99), max: sorted.length ? sorted[sorted.length - 1]! : Number.NaN, mean: sorted.length ? sum / sorted.length : Number.NaN };
}

/** `t:<send time in ns>:<seq>` — the event_id a load generator frame carries. */
export function parseStamp(eventId: string): { sentNs: bigint; seq: number } | null {
  const m = /^t:(\d+):(\d+)$/.exec(eventId);
  return m ? { sentNs: BigInt(m[1]!), seq: Number(m[2]) } : null;
}

/** Pulls `"event_id":"…"` out of a JSON frame without parsing the (large) rest. */
export function eventIdOf(frame: string): string | null {
  const at = frame.indexOf('"event_id":"');
  if (at < 0) return null;
  const start = at + 12;
  const end = frame.indexOf('"', start);
  return end < 0 ? null : frame.slice(start, end);
}

/** CPU seconds (user + system) and RSS bytes of a process, from /proc. */
export function procStats(pid: number, readFile: (p: string) => string): { cpuSeconds: number; userSeconds: number; systemSeconds: number; rssBytes: number } {
  const stat = readFile(`/proc/${pid}/stat`);
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const user = Number(fields[11]); // utime, stime: fields 14 and 15 of the whole line, in 1/100 s
  const system = Number(fields[12]);
  const status = readFile(`/proc/${pid}/status`);
  const rssKb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
  return { cpuSeconds: (user + system) / 100, userSeconds: user / 100, systemSeconds: system / 100, rssBytes: rssKb * 1024 };
}
