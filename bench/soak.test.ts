// The soak in a short form for CI: sessions come, talk and go; the relay's memory and descriptors return to baseline.
import { describe, expect, it } from 'vitest';
import { runSoak } from './soak.ts';

describe('soak (short form)', () => {
  it('serves 40 talking sessions over ~15 s and returns to its baseline of memory and file descriptors', { timeout: 120_000 }, async () => {
    const report = await runSoak({ seconds: 15, sessions: 40, log: (l) => console.log(l) });
    console.log(`soak: ${JSON.stringify(report)}`);
    expect(report.failures).toBe(0);
    expect(report.completedTurns).toBe(40);
    expect(report.fds.peak).toBeGreaterThan(report.fds.baseline);
    expect(report.fds.after).toBeLessThanOrEqual(report.fds.baseline + 10);
    // V8 keeps the heap it grew, so RSS settles above the cold baseline; what must not happen is growth after everyone left.
    expect(report.rssMb.after).toBeLessThanOrEqual(report.rssMb.peak);
    expect(report.rssMb.after).toBeLessThanOrEqual(report.rssMb.baseline + 60);
  });
});
