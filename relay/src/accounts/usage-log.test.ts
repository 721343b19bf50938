import { afterAll, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { appendFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { crc32, decodeLine, encodeRecord, listMonths, monthFile, parseLog, readMonth, UsageLog, type UsageRecord } from './usage-log.ts';

const dirs: string[] = [];
const tempDir = (): string => {
  const d = mkdtempSync(join(tmpdir(), 'earshot-usage-'));
  dirs.push(d);
  return d;
};
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

const NOV = Date.UTC(2026, 10, 24, 12);
const rec = (i: number, t = NOV): UsageRecord => ({ t, u: 'alice', s: `s${i}`, c: 500, ib: 960 * i, ob: 0, ti: i, to: 0, ai: 0, ao: 0 });

describe('usage log records', () => {
  it('round-trips a record through its line and checksum', () => {
    const r = { ...rec(3), f: 1 as const, e: 1 as const };
    const line = encodeRecord(r);
    expect(line.endsWith('\n')).toBe(true);
    expect(decodeLine(line.slice(0, -1))).toEqual(r);
  });

  it('rejects a line whose JSON was altered, truncated, or whose checksum is missing', () => {
    const line = encodeRecord(rec(1)).slice(0, -1);
    expect(decodeLine(line.replace('"ib":960', '"ib":961'))).toBeNull();
    expect(decodeLine(line.slice(0, 20))).toBeNull();
    expect(decodeLine(line.slice(0, line.lastIndexOf('\t')))).toBeNull();
    const json = '{"t":1,"u":"a","s":"b"}';
    expect(decodeLine(`${json}\t${crc32(json).toString(16).padStart(8, '0')}`)).toBeNull(); // checksum fine, shape wrong
  });

  it('computes the standard CRC-32', () => {
    expect(crc32('123456789')).toBe(0xcbf43926);
  });
});

describe('UsageLog', () => {
  it('writes nothing until flushed, then everything in one group, into the month file of each record', async () => {
    const dir = tempDir();
    const log = await UsageLog.open(dir);
    log.append(rec(1));
    log.append(rec(2));
    log.append(rec(3, Date.UTC(2026, 11, 1, 0, 0, 1)));
    expect(listMonths(log.dir)).toEqual([]);
    const result = await log.flush();
    expect(result.records).toBe(3);
    expect(listMonths(log.dir)).toEqual(['2026-11', '2026-12']);
    expect(readMonth(log.dir, '2026-11').records.map((r) => r.s)).toEqual(['s1', 's2']);
    expect(readMonth(log.dir, '2026-12').records.map((r) => r.s)).toEqual(['s3']);
    await log.close();
  });

  it('ignores a torn last line on load and cuts it off before appending, so the next record is intact', async () => {
    const dir = tempDir();
    const log = await UsageLog.open(dir);
    log.append(rec(1));
    log.append(rec(2));
    await log.close();
    const path = monthFile(log.dir, '2026-11');
    const torn = encodeRecord(rec(3)).slice(0, 37);
    appendFileSync(path, torn);

    const before = readMonth(log.dir, '2026-11');
    expect(before.records.map((r) => r.s)).toEqual(['s1', 's2']);
    expect(before.tornBytes).toBe(torn.length);

    const again = await UsageLog.open(dir);
    again.append(rec(4));
    await again.close();
    const after = readMonth(log.dir, '2026-11');
    expect(after.records.map((r) => r.s)).toEqual(['s1', 's2', 's4']);
    expect(after.tornBytes).toBe(0);
    expect(after.corruptLines).toBe(0);
  });

  it('skips a damaged line in the middle and keeps every other record', () => {
    const lines = [encodeRecord(rec(1)), encodeRecord(rec(2)).replace('"c":500', '"c":900'), '\0\0\0\0\n', encodeRecord(rec(3))];
    const parsed = parseLog(Buffer.from(lines.join('')));
    expect(parsed.records.map((r) => r.s)).toEqual(['s1', 's3']);
    expect(parsed.corruptLines).toBe(2);
  });

  it('keeps records queued when a write fails and writes them on the next flush', async () => {
    const dir = tempDir();
    const log = await UsageLog.open(dir);
    log.append(rec(1));
    await log.flush();
    // A real write failure without root-proof permissions tricks: close the log's file handle behind its back (EBADF).
    const handle = (log as unknown as { current: { handle: { close(): Promise<void> } } }).current.handle;
    await handle.close();
    log.append(rec(2));
    await expect(log.flush()).rejects.toThrow();
    expect(log.pendingCount).toBe(1);
    await log.flush(); // reopens the file and writes the kept record
    expect(readMonth(log.dir, '2026-11').records.map((r) => r.s)).toEqual(['s1', 's2']);
    await log.close();
  });

  it('after SIGKILL at an arbitrary moment, holds every acknowledged record, in order, with no damage', async () => {
    const dir = tempDir();
    for (const killAfterMs of [150, 400]) {
      const child = spawn(process.execPath, ['--import', 'tsx', join(import.meta.dirname, 'testing/log-writer.ts'), dir, '200'], { stdio: ['ignore', 'pipe', 'inherit'] });
      let acked = -1;
      let out = '';
      child.stdout.on('data', (chunk: Buffer) => {
        out += chunk.toString();
        const m = /flushed (\d+)\n[^\n]*$/.exec(out);
        if (m) acked = Number(m[1]);
      });
      const exited = new Promise<void>((r) => child.once('exit', () => r()));
      // Wait for the first acknowledged flush, then kill after a further delay (mid-stream).
      const deadline = Date.now() + 15_000;
      while (acked < 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
      expect(acked).toBeGreaterThanOrEqual(0);
      await new Promise((r) => setTimeout(r, killAfterMs));
      const ackedAtKill = acked;
      child.kill('SIGKILL');
      await exited;

      const months = listMonths(join(dir, 'usage'));
      const records = months.flatMap((m) => readMonth(join(dir, 'usage'), m).records);
      const damaged = months.reduce((n, m) => n + readMonth(join(dir, 'usage'), m).corruptLines, 0);
      expect(damaged).toBe(0);
      // Each run numbers from 0; the last run's records follow the earlier runs'.
      const lastRun = records.slice(records.findLastIndex((r) => r.s === 'sess_0'));
      expect(lastRun.length).toBeGreaterThan(ackedAtKill);
      lastRun.forEach((r, i) => expect(r.s).toBe(`sess_${i}`));
    }
    // The file stays appendable after the crashes.
    const log = await UsageLog.open(dir);
    log.append(rec(99, Date.now()));
    await log.close();
    const all = listMonths(join(dir, 'usage')).flatMap((m) => readMonth(join(dir, 'usage'), m).records);
    expect(all.at(-1)?.s).toBe('s99');
    expect(readFileSync(monthFile(join(dir, 'usage'), listMonths(join(dir, 'usage')).at(-1)!), 'utf8').endsWith('\n')).toBe(true);
  });
});
