// The link emulator at work: two namespaces (browser = the phone, relay = the server) joined only by a TUN pair,
// with every IP packet between them passing through this process's LinkModel. Runs on the main thread of the
// test (or bench) process; tun-pair.py does the device I/O because Node has no ioctl(TUNSETIFF).
//
// Why Python for the TUN side: it is on every Debian machine, `fcntl.ioctl` opens a TUN in three lines, and the
// stdio framing keeps all scheduling (the part worth testing) in TypeScript. A C helper compiled at test time
// would work too but adds a build step and a compiler dependency for no gain at these packet rates.
//
// Lifetime: `startLinkEmulator()` creates everything; `close()` ends every process started in the namespaces (by
// pid), stops the pump (the TUN devices vanish with it) and deletes both namespaces. A process exit handler deletes
// the namespaces too if a test dies before close(), and the next run removes leftovers of SIGKILLed runs.
import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { LinkModel, type Direction, type LinkProfile } from './link-model.ts';
import { addressesOf, configureEnd, deleteNamespace, ip, newNames, removeStaleNamespaces, type NamespacePair } from './namespaces.ts';

export const BROWSER_ADDRESS = '10.0.0.1';
export const RELAY_ADDRESS = '10.0.0.2';
/** Where the phone moves on an address change (same /24, so the relay's route covers it). */
export const MOVED_BROWSER_ADDRESS = '10.0.0.3';

const PUMP = join(import.meta.dirname, 'tun-pair.py');
const SIDE = { browser: 0, relay: 1 } as const;

export interface LinkEmulator {
  names: NamespacePair;
  /** The phone's current address (changes with changeBrowserAddress()). */
  browserAddress(): string;
  relayAddress: string;
  model: LinkModel;
  /** ms since the emulator started, the clock every model decision uses. */
  now(): number;
  /** Drops everything both ways, including packets in flight, for `ms` from now. */
  outage(ms: number): void;
  /** Silently drops the busiest live TCP connection from now on (both ways); returns its key, or null if none. */
  blackholeLiveConnection(): string | null;
  /** The phone gets a new address; packets from or to the old one lead nowhere (connections on it die silently). */
  changeBrowserAddress(): string;
  setProfile(profile: LinkProfile): void;
  /** Calls `listener` with every packet the link delivers (after loss and outages), until the returned function runs. */
  tap(listener: (direction: Direction, packet: Uint8Array) => void): () => void;
  /** Starts a process inside a namespace; close() ends it by pid. */
  spawnIn(where: 'browser' | 'relay', command: string, args: string[], options?: SpawnOptions): ChildProcess;
  /** Ends every process started with spawnIn, the pump and both namespaces. Idempotent. */
  close(): Promise<void>;
}

/** A small binary heap of pending deliveries, earliest first; `seq` keeps equal times in arrival order. */
class DeliveryQueue {
  private heap: Array<{ at: number; seq: number; direction: Direction; packet: Uint8Array }> = [];
  private seq = 0;
  get size(): number {
    return this.heap.length;
  }
  peek(): number | undefined {
    return this.heap[0]?.at;
  }
  push(at: number, direction: Direction, packet: Uint8Array): void {
    const h = this.heap;
    h.push({ at, seq: this.seq++, direction, packet });
    let i = h.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.less(i, parent)) break;
      [h[i], h[parent]] = [h[parent]!, h[i]!];
      i = parent;
    }
  }
  pop(): { at: number; direction: Direction; packet: Uint8Array } | undefined {
    const h = this.heap;
    const top = h[0];
    const last = h.pop();
    if (h.length > 0 && last) {
      h[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < h.length && this.less(l, m)) m = l;
        if (r < h.length && this.less(r, m)) m = r;
        if (m === i) break;
        [h[i], h[m]] = [h[m]!, h[i]!];
        i = m;
      }
    }
    return top;
  }
  private less(a: number, b: number): boolean {
    const x = this.heap[a]!;
    const y = this.heap[b]!;
    return x.at < y.at || (x.at === y.at && x.seq < y.seq);
  }
}

const liveEmulators = new Set<NamespacePair>();
process.once('exit', () => {
  for (const names of liveEmulators) {
    deleteNamespace(names.browserNs);
    deleteNamespace(names.relayNs);
  }
});

export async function startLinkEmulator(options: { profile: LinkProfile; seed?: number }): Promise<LinkEmulator> {
  removeStaleNamespaces();
  const names = newNames();
  const t0 = performance.now();
  const now = (): number => performance.now() - t0;
  const model = new LinkModel({ profile: options.profile, seed: options.seed ?? 1 });
  const children = new Set<ChildProcess>();
  let browserAddress = BROWSER_ADDRESS;

  ip(['netns', 'add', names.browserNs]);
  ip(['netns', 'add', names.relayNs]);
  liveEmulators.add(names);
  const pump = spawn('python3', ['-u', PUMP, names.browserTun, names.relayTun], { stdio: ['pipe', 'pipe', 'pipe'] });
  const teardownNamespaces = (): void => {
    deleteNamespace(names.browserNs);
    deleteNamespace(names.relayNs);
    liveEmulators.delete(names);
  };
  try {
    await new Promise<void>((resolve, reject) => {
      let err = '';
      const onData = (chunk: Buffer): void => {
        err += chunk.toString();
        if (err.includes('ready\n')) {
          pump.stderr!.off('data', onData);
          resolve();
        }
      };
      pump.stderr!.on('data', onData);
      pump.once('exit', (code) => reject(new Error(`tun-pair.py exited with ${code} before its TUN devices were ready: ${err}`)));
      pump.once('error', reject);
    });
    configureEnd(names.browserNs, names.browserTun, BROWSER_ADDRESS);
    configureEnd(names.relayNs, names.relayTun, RELAY_ADDRESS);
  } catch (err) {
    pump.kill('SIGKILL');
    teardownNamespaces();
    throw err;
  }
  pump.stderr!.on('data', (chunk: Buffer) => {
    if (process.env.NETEM_DEBUG) process.stderr.write(`[tun-pair] ${chunk.toString()}`);
  });

  // ---- the data path: packets in from the pump, through the model, out after their delay ----------------------
  const pending = new DeliveryQueue();
  let timer: NodeJS.Timeout | null = null;
  let timerAt = Infinity;
  let closed = false;
  const taps = new Set<(direction: Direction, packet: Uint8Array) => void>();

  const inject = (direction: Direction, packet: Uint8Array): void => {
    if (closed || !model.arrive(direction, now(), packet)) return;
    for (const listener of taps) listener(direction, packet);
    const frame = Buffer.allocUnsafe(3 + packet.byteLength);
    frame[0] = direction === 'up' ? SIDE.relay : SIDE.browser;
    frame.writeUInt16BE(packet.byteLength, 1);
    frame.set(packet, 3);
    pump.stdin!.write(frame);
  };
  const flush = (): void => {
    timer = null;
    timerAt = Infinity;
    const t = now();
    while (pending.size > 0 && pending.peek()! <= t + 0.5) {
      const next = pending.pop()!;
      inject(next.direction, next.packet);
    }
    arm();
  };
  const arm = (): void => {
    const next = pending.peek();
    if (next === undefined || closed || next >= timerAt) return;
    if (timer) clearTimeout(timer);
    timerAt = next;
    timer = setTimeout(flush, Math.max(0, next - now()));
  };
  const offer = (direction: Direction, packet: Uint8Array): void => {
    const verdict = model.offer(direction, now(), packet);
    if (verdict.kind === 'drop') return;
    pending.push(verdict.at, direction, packet);
    arm();
  };

  let buffered: Buffer = Buffer.alloc(0);
  pump.stdout!.on('data', (chunk: Buffer) => {
    buffered = buffered.length === 0 ? chunk : Buffer.concat([buffered, chunk]);
    let at = 0;
    while (buffered.length - at >= 3) {
      const length = buffered.readUInt16BE(at + 1);
      if (buffered.length - at < 3 + length) break;
      // Copied: `buffered` is reused as the stream goes on and the packet waits in the queue.
      const packet = new Uint8Array(buffered.subarray(at + 3, at + 3 + length));
      offer(buffered[at] === SIDE.browser ? 'up' : 'down', packet);
      at += 3 + length;
    }
    buffered = buffered.subarray(at);
  });
  const pumpExited = new Promise<void>((resolve) => pump.once('exit', () => resolve()));

  const emulator: LinkEmulator = {
    names,
    browserAddress: () => browserAddress,
    relayAddress: RELAY_ADDRESS,
    model,
    now,
    outage(ms) {
      model.addOutage(now(), ms);
    },
    blackholeLiveConnection() {
      const live = model.busiestConnection(now());
      if (!live) return null;
      model.blackhole(live.key);
      return live.key;
    },
    changeBrowserAddress() {
      const old = browserAddress;
      browserAddress = browserAddress === MOVED_BROWSER_ADDRESS ? BROWSER_ADDRESS : MOVED_BROWSER_ADDRESS;
      model.retireAddress(old);
      // Old address first out, new one in: like a handover, the interface briefly has none.
      ip(['-n', names.browserNs, 'addr', 'del', `${old}/24`, 'dev', names.browserTun]);
      ip(['-n', names.browserNs, 'addr', 'add', `${browserAddress}/24`, 'dev', names.browserTun]);
      if (!addressesOf(names.browserNs, names.browserTun).includes(browserAddress)) throw new Error(`address change to ${browserAddress} did not take`);
      return browserAddress;
    },
    setProfile(profile) {
      model.setProfile(profile);
    },
    tap(listener) {
      taps.add(listener);
      return () => taps.delete(listener);
    },
    spawnIn(where, command, args, spawnOptions = {}) {
      const ns = where === 'browser' ? names.browserNs : names.relayNs;
      const child = spawn('ip', ['netns', 'exec', ns, command, ...args], spawnOptions);
      children.add(child);
      child.once('exit', () => children.delete(child));
      return child;
    },
    async close() {
      if (closed) return;
      closed = true;
      if (timer) clearTimeout(timer);
      await Promise.all(
        [...children].map(
          (child) =>
            new Promise<void>((resolve) => {
              if (child.exitCode !== null || child.signalCode !== null) return resolve();
              const kill = setTimeout(() => child.kill('SIGKILL'), 3_000);
              child.once('exit', () => {
                clearTimeout(kill);
                resolve();
              });
              child.kill('SIGTERM');
            }),
        ),
      );
      pump.stdin!.end();
      const force = setTimeout(() => pump.kill('SIGKILL'), 2_000);
      await pumpExited;
      clearTimeout(force);
      teardownNamespaces();
    },
  };
  return emulator;
}
