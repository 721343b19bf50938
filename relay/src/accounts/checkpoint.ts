// Startup shortcut for the usage log: `<dataDir>/usage/checkpoint-YYYY-MM.json` holds that month's per-user-day
// totals as of byte `offset` of its log file, so a restart reads only the log written since instead of the
// whole month. Written atomically (temp file, fsync, rename, fsync dir) when the writer is idle — every record
// appended is in the file — at startup, every few minutes and at shutdown. A checkpoint that does not fit its
// log (the file is shorter, or `offset` is not a line start) is ignored and the month is read in full.
// The log stays the source of truth: deleting checkpoints only makes the next start slower.
import { closeSync, fsyncSync, openSync, readFileSync, renameSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { isZero } from './meter.ts';
import type { PeriodUsage } from './totals.ts';
import { syncDir } from './usage-log.ts';

export interface Checkpoint {
  version: 1;
  month: string;
  /** Bytes of the month's log that `days` sums (always just after a newline). */
  offset: number;
  days: Array<[string, PeriodUsage]>;
}

export function checkpointFile(dir: string, month: string): string {
  return join(dir, `checkpoint-${month}.json`);
}

const COUNTER_KEYS = ['sessions', 'connectedMs', 'inputAudioBytes', 'outputAudioBytes', 'textInputTokens', 'textOutputTokens', 'audioInputTokens', 'audioOutputTokens'] as const;

function validDay(entry: unknown): entry is [string, PeriodUsage] {
  if (!Array.isArray(entry) || entry.length !== 2 || typeof entry[0] !== 'string' || !entry[0].includes('|')) return false;
  const u = entry[1] as Record<string, unknown> | null;
  return typeof u === 'object' && u !== null && COUNTER_KEYS.every((k) => typeof u[k] === 'number' && Number.isFinite(u[k]));
}

/** The month's checkpoint, or null if there is none or it is not one we wrote. */
export function readCheckpoint(dir: string, month: string): Checkpoint | null {
  let value: unknown;
  try {
    value = JSON.parse(readFileSync(checkpointFile(dir, month), 'utf8'));
  } catch {
    return null;
  }
  const cp = value as Partial<Checkpoint> | null;
  if (!cp || cp.version !== 1 || cp.month !== month || typeof cp.offset !== 'number' || !Number.isInteger(cp.offset) || cp.offset < 0) return null;
  if (!Array.isArray(cp.days) || !cp.days.every(validDay)) return null;
  return cp as Checkpoint;
}

export function writeCheckpoint(dir: string, checkpoint: Checkpoint): void {
  const path = checkpointFile(dir, checkpoint.month);
  const tmp = `${path}.${process.pid}.tmp`;
  const days = checkpoint.days.filter(([, u]) => u.sessions > 0 || !isZero(u));
  const fd = openSync(tmp, 'w', 0o600);
  try {
    writeSync(fd, JSON.stringify({ ...checkpoint, days }));
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, path);
  syncDir(dir);
}
