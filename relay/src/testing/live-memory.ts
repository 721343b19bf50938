// Live memory of a relay child process, read through its inspector (started with --inspect=127.0.0.1:0) after
// a forced full GC. RSS alone is a poor leak signal: V8 keeps the heap it grew and the allocator keeps pages, so
// RSS depends on when the GC last ran. Heap used plus external (Buffers) after a full GC is what is still held.
import WebSocket from 'ws';

export interface LiveMemory {
  /** JS heap still in use after a full GC. */
  heapUsedBytes: number;
  /** Memory held outside the JS heap by live objects (Buffers, ArrayBuffers). */
  externalBytes: number;
  rssBytes: number;
}

interface CdpReply {
  id?: number;
  result?: { result?: { value?: unknown } };
  error?: { message: string };
}

export class InspectorSession {
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (r: CdpReply) => void; reject: (e: Error) => void }>();

  private constructor(private readonly ws: WebSocket) {
    ws.on('message', (data) => {
      const reply = JSON.parse(data.toString()) as CdpReply;
      if (reply.id === undefined) return; // an event, not a reply
      const waiter = this.pending.get(reply.id);
      this.pending.delete(reply.id);
      if (reply.error) waiter?.reject(new Error(`inspector: ${reply.error.message}`));
      else waiter?.resolve(reply);
    });
    ws.on('close', () => {
      for (const w of this.pending.values()) w.reject(new Error('inspector connection closed'));
      this.pending.clear();
    });
  }

  static async connect(url: string): Promise<InspectorSession> {
    const ws = new WebSocket(url, { perMessageDeflate: false });
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
    });
    return new InspectorSession(ws);
  }

  private call(method: string, params: Record<string, unknown> = {}): Promise<CdpReply> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.ws.send(JSON.stringify({ id, method, params }));
    });
  }

  /** The value of `expression` in the child's global scope, as a string (benchmarks read probes with it). */
  async evaluate(expression: string): Promise<string> {
    const reply = await this.call('Runtime.evaluate', { expression, returnByValue: true });
    return String(reply.result?.result?.value);
  }

  async measure(): Promise<LiveMemory> {
    // Twice: the first pass runs finalizers (e.g. of sockets) that release what the second pass then frees.
    await this.call('HeapProfiler.collectGarbage');
    await this.call('HeapProfiler.collectGarbage');
    const reply = await this.call('Runtime.evaluate', { expression: 'JSON.stringify(process.memoryUsage())', returnByValue: true });
    const usage = JSON.parse(String(reply.result?.result?.value)) as { heapUsed: number; external: number; rss: number };
    return { heapUsedBytes: usage.heapUsed, externalBytes: usage.external, rssBytes: usage.rss };
  }

  close(): void {
    this.ws.close();
  }
}
