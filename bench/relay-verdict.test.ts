// Issue 17's real-time test for one relay run, as the capacity search applies it.
import { describe, expect, it } from 'vitest';
import { ladderVerdicts, LOAD_CORE_SHARE, LOAD_MIN_PACE, REAL_TIME_P99_MS, verdictOf } from './relay.ts';

const run = { n: 200, opened: 200, addedP99: 1.2, late: 0, lost: 0, loadCoreShare: 0.3, loadPace: 1 };
const alone = { loadCoreShare: 0.2, pace: 1 };

describe('verdictOf (does a relay hold N in real time?)', () => {
  it('holds N when every session opened, added p99 is under the limit and no frame was late or lost', () => {
    expect(verdictOf(run, alone)).toBe('held');
  });

  it('fails on a p99 at the limit, one late or lost frame, a session that did not open, or no frame measured', () => {
    expect(verdictOf({ ...run, addedP99: REAL_TIME_P99_MS }, alone)).toBe('failed');
    expect(verdictOf({ ...run, late: 1 }, alone)).toBe('failed');
    expect(verdictOf({ ...run, lost: 1 }, alone)).toBe('failed');
    expect(verdictOf({ ...run, opened: 199 }, alone)).toBe('failed');
    expect(verdictOf({ ...run, addedP99: Number.NaN }, alone)).toBe('failed');
  });

  it('is load-bound, pass or fail, when the load side used more than its share of its core (in the run or alone)', () => {
    expect(verdictOf({ ...run, loadCoreShare: LOAD_CORE_SHARE + 0.01 }, alone)).toBe('load-bound');
    expect(verdictOf({ ...run, late: 5 }, { ...alone, loadCoreShare: LOAD_CORE_SHARE + 0.01 })).toBe('load-bound');
  });

  it('is load-bound when the load side fell behind real time (a starved process uses little CPU, but sends late)', () => {
    expect(verdictOf({ ...run, loadPace: LOAD_MIN_PACE - 0.01 }, alone)).toBe('load-bound');
    expect(verdictOf(run, { ...alone, pace: LOAD_MIN_PACE - 0.01 })).toBe('load-bound');
  });
});

describe('ladderVerdicts (what the fixed ladder tells the capacity search)', () => {
  it('counts an N held in any repeat as held, as the search counts a retry: one contaminated round cannot fail it', () => {
    const contaminated = { ...run, addedP99: 11.3, late: 312 };
    const known = ladderVerdicts([
      { row: contaminated, alone },
      { row: run, alone },
    ]);
    expect(known.get(200)).toBe('held');
  });

  it('fails an N that failed in every repeat, and judges each run against its own round\'s load side', () => {
    const known = ladderVerdicts([
      { row: { ...run, n: 400, opened: 400, late: 9 }, alone },
      { row: { ...run, n: 400, opened: 400, late: 0 }, alone: { ...alone, loadCoreShare: LOAD_CORE_SHARE + 0.01 } },
      { row: { ...run, late: 3 }, alone },
      { row: { ...run, addedP99: 40 }, alone },
    ]);
    expect(known.get(400)).toBe('load-bound');
    expect(known.get(200)).toBe('failed');
  });
});
