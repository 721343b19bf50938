// Every operator console action (who, what, when, from where) as JSON lines in `<dataDir>/admin-audit.jsonl`,
// appended and fsynced before the action's answer is sent, so an answered change is always on record.
// The Audit page reads the newest entries back. Append-only: the console offers no way to edit or delete it.
import { appendFileSync, closeSync, fsyncSync, openSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { AuditEntry } from '../../../protocol/admin-api.ts';

export const AUDIT_FILE = 'admin-audit.jsonl';

export class AuditLog {
  readonly path: string;

  constructor(dataDir: string) {
    this.path = join(dataDir, AUDIT_FILE);
  }

  append(entry: AuditEntry): void {
    const fd = openSync(this.path, 'a', 0o600);
    try {
      appendFileSync(fd, JSON.stringify(entry) + '\n');
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  }

  /** The newest `limit` entries, newest first; a torn or damaged line is skipped. */
  recent(limit = 500): AuditEntry[] {
    let text: string;
    try {
      text = readFileSync(this.path, 'utf8');
    } catch {
      return [];
    }
    const out: AuditEntry[] = [];
    const lines = text.split('\n');
    for (let i = lines.length - 1; i >= 0 && out.length < limit; i--) {
      const line = lines[i];
      if (!line) continue;
      try {
        out.push(JSON.parse(line) as AuditEntry);
      } catch {
        // a half-written last line after a crash
      }
    }
    return out;
  }
}
