// Durable usage storage: append-only JSON lines in `<dataDir>/usage/usage-YYYY-MM.jsonl`, one file per UTC month.
// Each line is one session's delta since its previous line, followed by a tab and the CRC-32 of the JSON:
//   {"t":1764000000000,"u":"alice","s":"s_1","f":1,"c":500,"ib":24000,"ob":0,"ti":0,"to":0,"ai":0,"ao":0}\t1a2b3c4d
// Why this shape: appends never rewrite earlier bytes, so a crash can only damage the tail; the checksum and
// the trailing newline tell a complete record from a torn one; deltas (not snapshots) make each line
// independently attributable to the UTC day it was written in.
// Writes are group-committed by the caller (accounting.ts): lines are buffered in memory (O(1) per record)
// and flush() writes them in one write() followed by one fdatasync. Readers (startup, the `usage` CLI)
// skip lines that fail the checksum and ignore a torn last line; the writer cuts a torn tail off before
// appending, so a new record is never glued onto half of an old one. checkpoint.ts saves a month's totals
// at a byte offset so a restart replays only the log after it.
import { closeSync, fstatSync, fsyncSync, openSync, readdirSync, readFileSync, readSync } from 'node:fs';
import { mkdir, open, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import type { UsageCounters } from './meter.ts';

export const USAGE_DIR = 'usage';

/** One session's usage between two flushes. Short keys: the log holds a couple of these per live session per second. */
export interface UsageRecord {
  /** Epoch ms when the delta was taken; attributes it to a UTC day and month. */
  t: number;
  /** User id. */
  u: string;
  /** Relay session id. */
  s: string;
  /** 1 on a session's first record: counts sessions without keeping a set of ids. */
  f?: 1;
  /** 1 on a session's last record. */
  e?: 1;
  c: number;
  ib: number;
  ob: number;
  ti: number;
  to: number;
  ai: number;
  ao: number;
}

export function recordFromCounters(t: number, userId: string, sessionId: string, d: UsageCounters, flags: { first?: boolean; end?: boolean } = {}): UsageRecord {
  return {
    t,
    u: userId,
    s: sessionId,
    ...(flags.first ? { f: 1 as const } : {}),
    ...(flags.end ? { e: 1 as const } : {}),
    c: d.connectedMs,
    ib: d.inputAudioBytes,
    ob: d.outputAudioBytes,
    ti: d.textInputTokens,
    to: d.textOutputTokens,
    ai: d.audioInputTokens,
    ao: d.audioOutputTokens,
  };
}

export function countersFromRecord(r: UsageRecord): UsageCounters {
  return {
    connectedMs: r.c,
    inputAudioBytes: r.ib,
    outputAudioBytes: r.ob,
    textInputTokens: r.ti,
    textOutputTokens: r.to,
    audioInputTokens: r.ai,
    audioOutputTokens: r.ao,
  };
}

// CRC-32 (IEEE), table-driven. Written out rather than zlib.crc32 because that needs Node >= 20.15.
const CRC_TABLE = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

export function crc32(text: string): number {
  let crc = 0xffffffff;
  const bytes = Buffer.from(text, 'utf8');
  for (let i = 0; i < bytes.length; i++) crc = CRC_TABLE[(crc ^ bytes[i]!) & 0xff]! ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}

export function encodeRecord(record: UsageRecord): string {
  const json = JSON.stringify(record);
  return `${json}\t${crc32(json).toString(16).padStart(8, '0')}\n`;
}

const NUMERIC_KEYS = ['t', 'c', 'ib', 'ob', 'ti', 'to', 'ai', 'ao'] as const;

/** A line (without its newline) back to a record, or null if it is torn, corrupt or not ours. */
export function decodeLine(line: string): UsageRecord | null {
  const tab = line.lastIndexOf('\t');
  if (tab === -1 || line.length - tab !== 9) return null;
  const json = line.slice(0, tab);
  if (crc32(json) !== Number.parseInt(line.slice(tab + 1), 16)) return null;
  let value: unknown;
  try {
    value = JSON.parse(json);
  } catch {
    return null;
  }
  if (typeof value !== 'object' || value === null) return null;
  const r = value as Record<string, unknown>;
  if (typeof r.u !== 'string' || typeof r.s !== 'string') return null;
  for (const key of NUMERIC_KEYS) if (typeof r[key] !== 'number' || !Number.isFinite(r[key])) return null;
  return value as UsageRecord;
}

export interface ParsedLog {
  records: UsageRecord[];
  /** Complete lines that failed the checksum or shape check (skipped). */
  corruptLines: number;
  /** Bytes after the last newline: a write torn by a crash (ignored). */
  tornBytes: number;
  /** Byte length of the file up to and including its last newline. */
  validLength: number;
}

export function parseLog(bytes: Buffer): ParsedLog {
  const lastNewline = bytes.lastIndexOf(0x0a);
  const validLength = lastNewline + 1;
  const records: UsageRecord[] = [];
  let corruptLines = 0;
  let start = 0;
  while (start < validLength) {
    const nl = bytes.indexOf(0x0a, start);
    const line = bytes.toString('utf8', start, nl);
    start = nl + 1;
    if (line.length === 0) continue;
    const record = decodeLine(line);
    if (record) records.push(record);
    else corruptLines++;
  }
  return { records, corruptLines, tornBytes: bytes.length - validLength, validLength };
}

export function monthKey(ms: number): string {
  return new Date(ms).toISOString().slice(0, 7);
}

export function monthFile(dir: string, month: string): string {
  return join(dir, `usage-${month}.jsonl`);
}

const FILE_NAME = /^usage-(\d{4}-\d{2})\.jsonl$/;

/** The months that have a log file in `dir`, oldest first. */
export function listMonths(dir: string): string[] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
  return names
    .map((n) => FILE_NAME.exec(n)?.[1])
    .filter((m): m is string => m !== undefined)
    .sort();
}

/** Reads one month's log; a missing file is an empty log. Synchronous: used at startup and by the CLI. */
export function readMonth(dir: string, month: string): ParsedLog {
  try {
    return parseLog(readFileSync(monthFile(dir, month)));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { records: [], corruptLines: 0, tornBytes: 0, validLength: 0 };
    throw err;
  }
}

/** ~40 MB of queued records: hours of a busy relay's usage while its disk refuses writes. */
const MAX_PENDING = 200_000;

/**
 * Reads `month`'s log from byte `offset` on (a checkpoint's end). Null when the file cannot continue from
 * there — shorter than `offset`, or `offset` not at a line start — so the caller reads it whole instead.
 * `validLength` in the result counts from the start of the file.
 */
export function readMonthFrom(dir: string, month: string, offset: number): ParsedLog | null {
  let fd: number;
  try {
    fd = openSync(monthFile(dir, month), 'r');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return offset === 0 ? { records: [], corruptLines: 0, tornBytes: 0, validLength: 0 } : null;
    throw err;
  }
  try {
    const size = fstatSync(fd).size;
    if (size < offset) return null;
    if (offset > 0) {
      const prev = Buffer.alloc(1);
      readSync(fd, prev, 0, 1, offset - 1);
      if (prev[0] !== 0x0a) return null;
    }
    const tail = Buffer.alloc(size - offset);
    for (let got = 0; got < tail.length; ) {
      const n = readSync(fd, tail, got, tail.length - got, offset + got);
      if (n === 0) break;
      got += n;
    }
    const parsed = parseLog(tail);
    return { ...parsed, validLength: offset + parsed.validLength };
  } finally {
    closeSync(fd);
  }
}

export interface FlushResult {
  records: number;
  bytes: number;
}

/**
 * The writer. append() only buffers; flush() writes everything buffered with one write and one fdatasync per
 * month file touched (normally one). Flushes never overlap: a flush requested while one is running waits for
 * it and then writes whatever arrived meanwhile — that is the group commit.
 */
export class UsageLog {
  private pending: UsageRecord[] = [];
  private current: { month: string; handle: FileHandle } | undefined;
  private chain: Promise<unknown> = Promise.resolve();
  private closed = false;
  private writing = false;
  /** Byte length of each month file this process opened, as of its last successful write. */
  private readonly sizes = new Map<string, number>();
  /** Records given up after repeated write failures (see MAX_PENDING). */
  dropped = 0;

  private constructor(readonly dir: string) {}

  static async open(dataDir: string): Promise<UsageLog> {
    const dir = join(dataDir, USAGE_DIR);
    await mkdir(dir, { recursive: true, mode: 0o700 });
    return new UsageLog(dir);
  }

  /** O(1): queue a record for the next flush. */
  append(record: UsageRecord): void {
    if (this.closed) throw new Error('usage log is closed');
    this.pending.push(record);
  }

  get pendingCount(): number {
    return this.pending.length;
  }

  /** Nothing queued and nothing being written: every appended record is in the files. */
  isIdle(): boolean {
    return this.pending.length === 0 && !this.writing;
  }

  /** Byte length of `month`'s file as this process last wrote it; undefined if it has not written it. */
  sizeOf(month: string): number | undefined {
    return this.sizes.get(month);
  }

  flush(): Promise<FlushResult> {
    if (this.closed) return Promise.resolve({ records: 0, bytes: 0 });
    const run = this.chain.then(() => this.writePending());
    this.chain = run.catch(() => undefined);
    return run;
  }

  /** Flushes and closes the file. Rejects if the last flush failed (the records are lost: say so in the logs). */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    try {
      await this.chain.then(() => this.writePending());
    } finally {
      await this.current?.handle.close().catch(() => undefined);
      this.current = undefined;
    }
  }

  private async writePending(): Promise<FlushResult> {
    if (this.pending.length === 0) return { records: 0, bytes: 0 };
    this.writing = true;
    try {
      return await this.writeBatch();
    } finally {
      this.writing = false;
    }
  }

  private async writeBatch(): Promise<FlushResult> {
    const batch = this.pending;
    this.pending = [];
    const byMonth = new Map<string, string[]>();
    for (const r of batch) {
      const m = monthKey(r.t);
      let lines = byMonth.get(m);
      if (!lines) byMonth.set(m, (lines = []));
      lines.push(encodeRecord(r));
    }
    let bytes = 0;
    const written = new Set<string>();
    for (const [month, lines] of byMonth) {
      const handle = await this.handleFor(month).catch((err: unknown) => this.failed(batch, written, err));
      const data = Buffer.from(lines.join(''), 'utf8');
      let before: number | undefined;
      try {
        before = (await handle.stat()).size;
        for (let off = 0; off < data.length; ) off += (await handle.write(data, off, data.length - off)).bytesWritten;
        await handle.datasync();
      } catch (err) {
        // Undo whatever part of the batch reached the file, so the retry neither duplicates whole lines nor
        // glues onto half of one. If even that fails, reopening cuts back to the last complete line.
        if (before !== undefined) await handle.truncate(before).catch(() => undefined);
        this.sizes.delete(month);
        this.current = undefined;
        await handle.close().catch(() => undefined);
        return this.failed(batch, written, err);
      }
      written.add(month);
      this.sizes.set(month, before + data.length);
      bytes += data.length;
    }
    return { records: batch.length, bytes };
  }

  /** Requeues the records of months not yet written (bounded), then rethrows. */
  private failed(batch: UsageRecord[], written: Set<string>, err: unknown): never {
    // Keep the records for the next attempt (e.g. disk full for a moment) rather than dropping usage —
    // up to a bound, so a disk that stays broken cannot grow the relay's memory without limit.
    this.pending = batch.filter((r) => !written.has(monthKey(r.t))).concat(this.pending);
    if (this.pending.length > MAX_PENDING) {
      this.dropped += this.pending.length - MAX_PENDING;
      this.pending = this.pending.slice(-MAX_PENDING);
    }
    throw err;
  }

  private async handleFor(month: string): Promise<FileHandle> {
    if (this.current?.month === month) return this.current.handle;
    await this.current?.handle.close();
    this.current = undefined;
    const path = monthFile(this.dir, month);
    const handle = await open(path, 'a+', 0o600);
    // Cut a torn tail (a crash mid-write) so the next record starts on a line of its own.
    const { size } = await handle.stat();
    if (size > 0) {
      const validLength = await lengthToLastNewline(handle, size);
      if (validLength < size) {
        await handle.truncate(validLength);
        await handle.datasync();
      }
      this.sizes.set(month, validLength);
    } else {
      this.sizes.set(month, 0);
      syncDir(this.dir); // a new file's directory entry must survive a power cut too
    }
    this.current = { month, handle };
    return handle;
  }
}

async function lengthToLastNewline(handle: FileHandle, size: number): Promise<number> {
  const chunk = Buffer.alloc(64 * 1024);
  let end = size;
  while (end > 0) {
    const start = Math.max(0, end - chunk.length);
    const { bytesRead } = await handle.read(chunk, 0, end - start, start);
    const nl = chunk.subarray(0, bytesRead).lastIndexOf(0x0a);
    if (nl !== -1) return start + nl + 1;
    end = start;
  }
  return 0;
}

export function syncDir(dir: string): void {
  const fd = openSync(dir, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}
