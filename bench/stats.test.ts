import { describe, expect, it } from 'vitest';
import { eventIdOf, parseStamp, percentile, procStats, summarize } from './stats.ts';

describe('bench stats helpers', () => {
  it('takes nearest-rank percentiles', () => {
    const s = Float64Array.from({ length: 100 }, (_, i) => i + 1);
    expect([percentile(s, 50), percentile(s, 99), percentile(s, 100)]).toEqual([50, 99, 100]);
    expect(summarize([3, 1, 2])).toMatchObject({ n: 3, p50: 2, max: 3, mean: 2 });
    expect(Number.isNaN(percentile([], 50))).toBe(true);
  });

  it('reads stamps and event ids without parsing the frame', () => {
    expect(parseStamp('t:123456789:42')).toEqual({ sentNs: 123456789n, seq: 42 });
    expect(parseStamp('event_1')).toBeNull();
    expect(eventIdOf('{"type":"response.output_audio.delta","event_id":"t:1:2","delta":"AAAA"}')).toBe('t:1:2');
    expect(eventIdOf('{"type":"x"}')).toBeNull();
  });

  it('parses /proc stat and status (process names may hold spaces and parens)', () => {
    const files: Record<string, string> = {
      '/proc/7/stat': '7 (node (x) y) S 1 7 7 0 -1 4194560 100 0 0 0 250 50 0 0 20 0 11 0 1 2 3',
      '/proc/7/status': 'Name:\tnode\nVmRSS:\t  2048 kB\n',
    };
    expect(procStats(7, (p) => files[p]!)).toEqual({ cpuSeconds: 3, userSeconds: 2.5, systemSeconds: 0.5, rssBytes: 2048 * 1024 });
  });
});
