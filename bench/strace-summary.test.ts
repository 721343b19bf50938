import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseStraceSummary } from './strace-summary.ts';

// Recorded on this project's machines: `strace -c -f -o bench/testdata/strace-c.txt sh -c 'printf a >&2; printf b
// >&2; printf c >&2; cat /nonexistent-earshot 2>/dev/null; true'` (CI does not install strace, so the table is kept).
const table = readFileSync(join(import.meta.dirname, 'testdata/strace-c.txt'), 'utf8');

describe('parseStraceSummary', () => {
  it('reads the calls per syscall from a real `strace -c` table, rows with and without errors, without the total', () => {
    const calls = parseStraceSummary(table);
    expect(calls.get('write')).toBe(7);
    expect(calls.get('openat')).toBe(37); // "37        17 openat": 17 of them failed
    expect(calls.get('futex')).toBe(1); // the last row
    expect(calls.has('total')).toBe(false);
    expect([...calls.values()].reduce((a, b) => a + b, 0)).toBe(210); // the table's own total
  });
});
