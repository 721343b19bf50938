// A pool of Opus worker threads (transcode/opus.worker.ts), used from the uWS event loop. Each app link gets a
// channel bound to one worker (its codec state lives there), chosen as the worker with the fewest channels.
// Workers start on the first channel, so a relay that never sees an app link never starts one.
//
// A worker that dies (crash, out of memory, terminate) is replaced at once; every channel it served is lost:
// its pending jobs reject with CodecLostError and its `onLost` runs, so those sessions end (1011) while the
// channels of other workers go on. A closed channel frees its codec state in the worker: nothing leaks.
import { createRequire } from 'node:module';
import { availableParallelism } from 'node:os';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { Logger } from '../log.ts';
import { assertNever, type EncodedPacket, type FromOpusWorker, type StreamKey, type ToOpusWorker } from './messages.ts';

export class CodecLostError extends Error {
  override readonly name = 'CodecLostError';
  readonly reason = 'codec_lost';
}

export interface Encoded {
  stream: StreamKey | null;
  packets: EncodedPacket[];
}

export interface CodecChannel {
  readonly id: number;
  decode(opus: Uint8Array): Promise<Uint8Array>;
  encode(deltaText: string): Promise<Encoded>;
  end(itemId: string, contentIndex: number): Promise<Encoded>;
  /** Frees the link's codec state in the worker; pending jobs still answer. Idempotent. */
  close(): void;
}

interface Pending {
  resolve(reply: FromOpusWorker): void;
  reject(err: Error): void;
}

interface Slot {
  index: number;
  worker: Worker;
  pending: Map<number, Pending>;
  channels: Map<number, { onLost: (err: CodecLostError) => void }>;
  exited: boolean;
}

export function defaultPoolSize(): number {
  return Math.max(1, Math.min(4, availableParallelism() - 1));
}

// Workers run the TypeScript source: a worker does not inherit the relay's `--import tsx` hooks (on Node 20 an
// `--import` in a worker's execArgv does not reach its own module loader), so a two-line bootstrap registers
// tsx inside the worker and then imports the worker module.
// Built (dist/relay/earshot.js, a production install without tsx): the worker is its own plain-JS bundle beside
// it (scripts/build-relay.ts builds both) and starts directly from its file.
const BUILT = !import.meta.url.endsWith('.ts');
function tsxEsmApi(): string {
  // The ESM build of `tsx/esm/api` (require.resolve would give the CJS one), as tsx's own exports map names it.
  const require = createRequire(import.meta.url);
  const manifest = require.resolve('tsx/package.json');
  const exports = (require('tsx/package.json') as { exports: Record<string, { import: { default: string } }> }).exports;
  return pathToFileURL(join(dirname(manifest), exports['./esm/api']!.import.default)).href;
}
const WORKER_URL = new URL(BUILT ? './opus.worker.js' : './opus.worker.ts', import.meta.url).href;
const BOOTSTRAP = BUILT ? null : `import(${JSON.stringify(tsxEsmApi())}).then((tsx) => { tsx.register(); return import(${JSON.stringify(WORKER_URL)}); });`;

export class TranscodePool {
  private readonly slots: Array<Slot | null>;
  private nextJob = 1;
  private nextChannel = 1;
  private closed = false;

  constructor(
    private readonly size: number,
    private readonly log: Logger,
  ) {
    this.slots = Array.from({ length: Math.max(1, size) }, () => null);
  }

  /** A channel on the least-loaded worker. `onLost` runs (once) if that worker dies while the channel is open. */
  open(onLost: (err: CodecLostError) => void): CodecChannel {
    if (this.closed) throw new Error('transcode pool is closed');
    let best = 0;
    for (let i = 0; i < this.slots.length; i++) {
      if (this.load(i) < this.load(best)) best = i;
    }
    const slot = this.slotAt(best);
    const id = this.nextChannel++;
    slot.channels.set(id, { onLost });
    let open = true;
    const job = <T extends FromOpusWorker['kind']>(msg: ToOpusWorker & { job: number }, want: T, transfer: ArrayBuffer[] = []) =>
      new Promise<Extract<FromOpusWorker, { kind: T }>>((resolve, reject) => {
        if (slot.exited) {
          reject(new CodecLostError('the Opus worker is gone'));
          return;
        }
        slot.pending.set(msg.job, {
          resolve: (reply) => {
            if (reply.kind === want) resolve(reply as Extract<FromOpusWorker, { kind: T }>);
            else if (reply.kind === 'failed') reject(new Error(`opus ${msg.kind}: ${reply.message}`));
            else reject(new Error(`opus ${msg.kind}: unexpected reply ${reply.kind}`));
          },
          reject,
        });
        slot.worker.postMessage(msg, transfer);
      });
    return {
      id,
      decode: async (opus) => {
        // A copy that can be transferred: the caller's bytes may view a larger buffer.
        const copy = opus.slice();
        return (await job({ kind: 'decode', job: this.nextJob++, link: id, opus: copy }, 'decoded', [copy.buffer])).pcm;
      },
      encode: async (delta) => job({ kind: 'encode', job: this.nextJob++, link: id, delta }, 'encoded'),
      end: async (itemId, contentIndex) => job({ kind: 'end', job: this.nextJob++, link: id, item_id: itemId, content_index: contentIndex }, 'encoded'),
      close: () => {
        if (!open) return;
        open = false;
        slot.channels.delete(id);
        if (!slot.exited) slot.worker.postMessage({ kind: 'close', link: id } satisfies ToOpusWorker);
      },
    };
  }

  /** Live channels per worker (tests: state is freed when links end; bench: balance). */
  channelCounts(): number[] {
    return this.slots.map((s) => (s && !s.exited ? s.channels.size : 0));
  }

  /** Ends worker `index` as a crash would (tests). */
  async terminateWorker(index: number): Promise<void> {
    await this.slots[index]?.worker.terminate();
  }

  async close(): Promise<void> {
    this.closed = true;
    const workers = this.slots.filter((s): s is Slot => s !== null && !s.exited);
    for (const s of workers) s.exited = true;
    await Promise.all(workers.map((s) => s.worker.terminate()));
  }

  private load(index: number): number {
    const slot = this.slots[index];
    return slot && !slot.exited ? slot.channels.size : 0;
  }

  private slotAt(index: number): Slot {
    const existing = this.slots[index];
    if (existing && !existing.exited) return existing;
    const worker = BOOTSTRAP === null ? new Worker(new URL(WORKER_URL)) : new Worker(BOOTSTRAP, { eval: true });
    const slot: Slot = { index, worker, pending: new Map(), channels: new Map(), exited: false };
    this.slots[index] = slot;
    worker.on('message', (reply: FromOpusWorker) => {
      switch (reply.kind) {
        case 'decoded':
        case 'encoded':
        case 'failed': {
          const pending = slot.pending.get(reply.job);
          slot.pending.delete(reply.job);
          pending?.resolve(reply);
          return;
        }
        default:
          assertNever(reply);
      }
    });
    worker.on('error', (err) => this.log.error({ err, worker: index }, 'opus worker crashed'));
    worker.on('exit', (code) => this.lost(slot, code));
    // The pool must not keep the process alive on its own (the relay's listen socket does).
    worker.unref();
    return slot;
  }

  private lost(slot: Slot, code: number): void {
    const wasClosing = slot.exited;
    slot.exited = true;
    if (this.slots[slot.index] === slot) this.slots[slot.index] = null;
    const err = new CodecLostError(`the Opus worker stopped (exit code ${code})`);
    for (const p of slot.pending.values()) p.reject(err);
    slot.pending.clear();
    const channels = [...slot.channels.values()];
    slot.channels.clear();
    if (wasClosing) return;
    this.log.error({ worker: slot.index, code, channels: channels.length }, 'opus worker lost; its sessions end, a new worker takes new ones');
    // The replacement starts lazily, with the next channel: a crash loop cannot spin.
    for (const c of channels) {
      try {
        c.onLost(err);
      } catch (e) {
        this.log.error({ err: e }, 'codec-lost handler failed');
      }
    }
  }
}
