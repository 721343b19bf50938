// The table `strace -c` writes when it detaches: calls per system call name (bench/instr-pair.ts, INSTR_TOOL=strace).

/** Calls per syscall name; the "total" row is left out. */
export function parseStraceSummary(text: string): Map<string, number> {
  const calls = new Map<string, number>();
  for (const line of text.split('\n')) {
    // "% time     seconds  usecs/call     calls    errors syscall": the errors column is blank when there were none.
    const m = /^\s*[\d.]+\s+[\d.]+\s+\d+\s+(\d+)\s+(?:\d+\s+)?([a-z_0-9]+)\s*$/.exec(line);
    if (m && m[2] !== 'total') calls.set(m[2]!, Number(m[1]));
  }
  return calls;
}
