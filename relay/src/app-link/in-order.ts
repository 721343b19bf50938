// Delivers results in the order they were queued, whether ready now or later (a transcoding job): the app
// link's audio goes through worker threads while text events do not, and a `response.output_audio.done` must
// not overtake the audio before it, nor a client's `commit` the audio it commits. Nothing waits when nothing
// is pending: a value queued behind nothing is delivered at once.

interface Slot<T> {
  state: 'pending' | 'ready' | 'failed';
  value?: T;
}

export class InOrder<T> {
  private queue: Array<Slot<T>> = [];

  constructor(
    private readonly deliver: (value: T) => void,
    /** A job that failed: its slot is skipped, the queue goes on. */
    private readonly failed: (err: unknown) => void,
  ) {}

  now(value: T): void {
    if (this.queue.length === 0) this.deliver(value);
    else this.queue.push({ state: 'ready', value });
  }

  later(job: Promise<T>): void {
    const slot: Slot<T> = { state: 'pending' };
    this.queue.push(slot);
    const queue = this.queue;
    job.then(
      (value) => {
        if (queue !== this.queue) return;
        slot.state = 'ready';
        slot.value = value;
        this.flush();
      },
      (err: unknown) => {
        if (queue !== this.queue) return;
        slot.state = 'failed';
        this.failed(err);
        this.flush();
      },
    );
  }

  /** Forgets everything queued (the session is ending); late results are ignored. */
  drop(): void {
    this.queue = [];
  }

  get pending(): number {
    return this.queue.length;
  }

  private flush(): void {
    while (this.queue.length > 0 && this.queue[0]!.state !== 'pending') {
      const slot = this.queue.shift()!;
      if (slot.state === 'ready') this.deliver(slot.value as T);
    }
  }
}
