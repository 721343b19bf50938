// Usage summed per user per UTC day and per UTC month, rebuilt from the log at startup and kept current by
// accounting.ts as it writes records. O(1) per record; memory is one small object per user-day.
import { addCounters, zeroCounters, type UsageCounters } from './meter.ts';
import { countersFromRecord, monthKey, type UsageRecord } from './usage-log.ts';

export interface PeriodUsage extends UsageCounters {
  /** Sessions that started in the period. */
  sessions: number;
}

export function utcDay(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10);
}

/** `YYYY-MM` of the UTC month containing `ms` (the same key names the log's month files). */
export const utcMonth = monthKey;

export function emptyPeriod(): PeriodUsage {
  return { ...zeroCounters(), sessions: 0 };
}

export class UsageTotals {
  private readonly byDay = new Map<string, PeriodUsage>();
  private readonly byMonth = new Map<string, PeriodUsage>();

  add(record: UsageRecord): void {
    const delta = countersFromRecord(record);
    for (const [map, key] of [
      [this.byDay, `${record.u}|${utcDay(record.t)}`],
      [this.byMonth, `${record.u}|${utcMonth(record.t)}`],
    ] as const) {
      let usage = map.get(key);
      if (!usage) map.set(key, (usage = emptyPeriod()));
      addCounters(usage, delta);
      if (record.f === 1) usage.sessions++;
    }
  }

  /** Every user-day of `month` (`YYYY-MM`), keyed `user|YYYY-MM-DD`: what a checkpoint stores. */
  daysOf(month: string): Array<[string, PeriodUsage]> {
    return [...this.byDay.entries()].filter(([key]) => key.slice(key.lastIndexOf('|') + 1).startsWith(month)).map(([k, u]) => [k, { ...u }]);
  }

  /** Adds user-days saved by daysOf() (a checkpoint), and their month sums. */
  load(days: Array<[string, PeriodUsage]>): void {
    for (const [key, usage] of days) {
      const bar = key.lastIndexOf('|');
      for (const [map, k] of [
        [this.byDay, key],
        [this.byMonth, `${key.slice(0, bar)}|${key.slice(bar + 1, bar + 8)}`],
      ] as const) {
        let into = map.get(k);
        if (!into) map.set(k, (into = emptyPeriod()));
        addCounters(into, usage);
        into.sessions += usage.sessions;
      }
    }
  }

  /** The user's usage on the UTC day containing `at` (a copy). */
  day(userId: string, at: number): PeriodUsage {
    return { ...(this.byDay.get(`${userId}|${utcDay(at)}`) ?? emptyPeriod()) };
  }

  /** The user's usage in the UTC month containing `at` (a copy). */
  month(userId: string, at: number): PeriodUsage {
    return { ...(this.byMonth.get(`${userId}|${utcMonth(at)}`) ?? emptyPeriod()) };
  }
}
