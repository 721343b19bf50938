// Keeps what arrives from the relay in arrival order while Opus packets are being decoded asynchronously
// (WebCodecs calls back later): a JSON event such as `response.output_audio.done` must not overtake the audio
// before it. Decoders answer in submission order, so each result fills the oldest waiting slot. Pure.
export type InboxEntry<T> = { ready: true; value: T } | { ready: false };

export class OrderedInbox<T> {
  private readonly entries: InboxEntry<T>[] = [];
  private readonly deliver: (value: T) => void;

  constructor(deliver: (value: T) => void) {
    this.deliver = deliver;
  }

  /** Something that needs no decoding; delivered at once if nothing is waiting ahead of it. */
  push(value: T): void {
    this.entries.push({ ready: true, value });
    this.pump();
  }

  /** Reserve a place for a result that will come from `fill` (in the same order as the reservations). */
  reserve(): void {
    this.entries.push({ ready: false });
  }

  /** The oldest reservation's result. */
  fill(value: T): void {
    const i = this.entries.findIndex((e) => !e.ready);
    if (i < 0) return;
    this.entries[i] = { ready: true, value };
    this.pump();
  }

  /** Forget everything (fresh session, stop). */
  clear(): void {
    this.entries.length = 0;
  }

  get waiting(): number {
    return this.entries.length;
  }

  private pump(): void {
    while (this.entries.length > 0 && this.entries[0]!.ready) {
      const entry = this.entries.shift() as { ready: true; value: T };
      this.deliver(entry.value);
    }
  }
}
