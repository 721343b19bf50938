import { describe, expect, it } from 'vitest';
import { AudioBudget } from './audio-budget.ts';

describe('AudioBudget (audio rate limit by duration)', () => {
  it('lets a 5 s backlog through at once after a stall, then real-time audio goes on', () => {
    let now = 0;
    const budget = new AudioBudget(10_000, 2, () => now);
    for (let i = 0; i < 100; i++, now += 40) expect(budget.take(40)).toBe(true); // 4 s in real time
    now += 5_000; // main thread stalled: nothing sent
    for (let i = 0; i < 125; i++) expect(budget.take(40)).toBe(true); // the 5 s backlog in one burst
    for (let i = 0; i < 100; i++, now += 40) expect(budget.take(40)).toBe(true);
  });

  it('refuses a client sending faster than twice real time for long', () => {
    let now = 0;
    const budget = new AudioBudget(10_000, 2, () => now);
    let sent = 0;
    while (budget.take(40)) {
      sent += 40;
      now += 40 / 3; // 3× real time
      if (sent > 120_000) break;
    }
    // 10 s of burst plus 2× of the elapsed wall time: refused after ~30 s of audio in ~10 s.
    expect(sent).toBeGreaterThan(25_000);
    expect(sent).toBeLessThan(35_000);
  });
});
