// The relay thread's side of the SQLite writer worker (sqlite-writer.worker.ts): SqliteStore hands it the writes
// that happen while sessions run (usage batches, leases, retention's prune) when opened with `writer: 'worker'` (the relay is;
// CLIs are not), so a commit never holds the relay's event loop.
//
// - Order: one thread, one connection, ops answered in the order posted — the same order as inline writes —
//   except retention's prune, which lets other ops run between its delete batches.
// - Errors travel as data (WireError) and come back as the StoreError the inline path would have thrown, so
//   accounting keeps a failed batch queued and retries it exactly as before.
// - The thread dies (a bug, an OOM, terminate()): every op in flight is rejected `unavailable` — its transaction
//   was rolled back by SQLite, so a retry writes it once — and the next op starts a new thread. (A thread that
//   died in the instant between its COMMIT and its reply would have its batch retried and counted twice: no
//   JavaScript runs there, so only a crash of the thread itself could land in it; kill -9 of the relay cannot.)
// - close() waits until every op posted has been answered, then lets the thread close its connection and end:
//   a graceful shutdown writes the last usage batch before the store closes.
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { storeErrorFrom } from './sqlite-store.ts';
import { StoreError, type LeaseResult, type PruneResult } from './store.ts';
import type { FromWriter, ToWriter, WireError, WriterConfig, WriterOp, WriterResults } from './sqlite-writer.messages.ts';

// As transcode/pool.ts: from source, a worker does not inherit the relay's `--import tsx`, so a two-line
// bootstrap registers tsx in the thread first; the built relay starts the bundled worker file directly.
const BUILT = !import.meta.url.endsWith('.ts');
const WORKER_URL = new URL(BUILT ? './sqlite-writer.worker.js' : './sqlite-writer.worker.ts', import.meta.url).href;
function bootstrap(): string {
  const require = createRequire(import.meta.url);
  const manifest = require.resolve('tsx/package.json');
  const exports = (require('tsx/package.json') as { exports: Record<string, { import: { default: string } }> }).exports;
  const tsx = pathToFileURL(join(dirname(manifest), exports['./esm/api']!.import.default)).href;
  return `import(${JSON.stringify(tsx)}).then((tsx) => { tsx.register(); return import(${JSON.stringify(WORKER_URL)}); });`;
}

interface Pending {
  resolve: (value: LeaseResult | PruneResult | null) => void;
  reject: (err: unknown) => void;
}

export class SqliteWriter {
  private worker: Worker | null = null;
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private closing: Promise<void> | null = null;

  constructor(private readonly config: WriterConfig) {}

  request<K extends WriterOp['kind']>(op: Extract<WriterOp, { kind: K }>): Promise<WriterResults[K]> {
    if (this.closing) return Promise.reject(new StoreError('unavailable', `the database ${this.config.path} is closed`));
    const worker = this.thread();
    const id = this.nextId++;
    return new Promise<WriterResults[K]>((resolve, reject) => {
      // Referenced while an op is in flight: a draining relay awaiting its last usage batch has no other handle
      // left, and an unref'd thread would let the process exit before the commit.
      if (this.pending.size === 0) worker.ref();
      this.pending.set(id, { resolve: resolve as Pending['resolve'], reject });
      worker.postMessage({ kind: 'op', id, op } satisfies ToWriter);
    });
  }

  /** Ops posted and not yet answered. */
  get inFlight(): number {
    return this.pending.size;
  }

  /** Stops the thread at once, as a crash would (tests: an op in flight is rolled back and rejected). */
  async terminate(): Promise<void> {
    await this.worker?.terminate();
  }

  /** Waits for every op posted to be answered, then closes the thread's connection and ends it. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      const worker = this.worker;
      if (!worker) return;
      const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
      worker.ref();
      // `close` is queued behind every op already posted (a port delivers in order), so none is cut short.
      worker.postMessage({ kind: 'close' } satisfies ToWriter);
      await exited;
    })();
    return this.closing;
  }

  private thread(): Worker {
    if (this.worker) return this.worker;
    const worker = BUILT ? new Worker(new URL(WORKER_URL), { workerData: this.config }) : new Worker(bootstrap(), { eval: true, workerData: this.config });
    this.worker = worker;
    worker.on('message', (reply: FromWriter) => {
      const p = this.pending.get(reply.id);
      this.pending.delete(reply.id);
      if (this.pending.size === 0 && !this.closing) worker.unref();
      if (!p) return;
      switch (reply.kind) {
        case 'done':
          p.resolve(reply.value);
          return;
        case 'failed':
          p.reject(this.errorOf(reply.error));
          return;
        default: {
          const never: never = reply;
          throw new Error(`unknown writer reply ${JSON.stringify(never)}`);
        }
      }
    });
    // An 'error' event is followed by 'exit': the pending ops are rejected there.
    worker.on('error', () => undefined);
    worker.on('exit', (code) => {
      if (this.worker === worker) this.worker = null;
      const err = new StoreError('unavailable', `the database writer thread for ${this.config.path} stopped (exit code ${code}); its unfinished write was rolled back and is retried`);
      for (const p of this.pending.values()) p.reject(err);
      this.pending.clear();
    });
    // The relay's listen socket keeps the process alive, not this thread; close() ends it.
    worker.unref();
    return worker;
  }

  /** The StoreError the inline path would have thrown for the same failure. */
  private errorOf(e: WireError): unknown {
    if (e.reason) return new StoreError(e.reason, e.message);
    const err = Object.assign(new Error(e.message), e.code ? { code: e.code } : {});
    return storeErrorFrom(err, this.config.path);
  }
}
