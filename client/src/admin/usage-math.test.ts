import { describe, expect, it } from 'vitest';
import { chartColumns, dayRange, estimatedCost, totalsByPerson, usageCsv } from './usage-math.ts';

const prices = { perMinute: 0.06, perMillionTokens: 40, currency: 'USD' };
const days = [
  { day: '2026-11-01', user: 'alice', sessions: 2, spokenMinutes: 10, tokens: 500_000 },
  { day: '2026-11-03', user: 'alice', sessions: 1, spokenMinutes: 5, tokens: 0 },
  { day: '2026-11-03', user: '=cmd', sessions: 1, spokenMinutes: 1, tokens: 1000 },
];

describe('usage sums for the console', () => {
  it('estimates cost from the price per minute and per million tokens', () => {
    expect(estimatedCost(10, 500_000, prices)).toBeCloseTo(0.6 + 20);
  });

  it('totals per person, most expensive first', () => {
    expect(totalsByPerson(days, prices).map((t) => [t.user, t.sessions, t.spokenMinutes])).toEqual([
      ['alice', 3, 15],
      ['=cmd', 1, 1],
    ]);
  });

  it('charts every day of the range, a quiet day as zero', () => {
    const range = dayRange('2026-11-01', '2026-11-03');
    expect(range).toEqual(['2026-11-01', '2026-11-02', '2026-11-03']);
    expect(chartColumns(days, range, ['alice'], 'spokenMinutes')).toEqual([range.map((d) => Date.parse(`${d}T00:00:00Z`) / 1000), [10, 0, 5]]);
  });

  it('writes CSV a spreadsheet cannot mistake for formulas', () => {
    const csv = usageCsv(days, prices).split('\r\n');
    expect(csv[0]).toBe('day,person,sessions,spoken_minutes,tokens,estimated_cost_USD');
    expect(csv[1]).toBe('2026-11-01,alice,2,10.000,500000,20.6000');
    expect(csv[3]).toBe('2026-11-03,"=cmd",1,1.000,1000,0.1000');
  });
});
