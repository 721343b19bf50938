// The soak in a short form for CI: sessions come, talk and go in waves; descriptors return to baseline and memory
// stops growing once the first wave has warmed the relay up.
import { describe, expect, it } from 'vitest';
import { runSoak, soakProblems } from './soak.ts';

describe('soak (short form)', () => {
  it('serves 90 talking sessions in 3 waves; descriptors come back and live memory stops growing after the first wave', { timeout: 420_000 }, async () => {
    const report = await runSoak({ seconds: 30, sessions: 90, waves: 3, log: (l) => console.log(l) });
    console.log(`soak: ${JSON.stringify(report)}`);
    expect(report.fds.peak).toBeGreaterThan(report.fds.baseline);
    expect(soakProblems(report)).toEqual([]);
  });
});
