// A fixed-size ring of audio samples with explicit read and write indices, after GoogleChromeLabs'
// web-audio-samples free-queue: one slot stays empty so that `read === write` always means empty and
// `write + 1 === read` means full, with no separate count to keep in step. Single reader, single writer, one
// thread (the playback worklet both writes what the session worker posts and reads in process()). Pure.
export class SampleRing {
  private readonly buffer: Float32Array;
  private readIndex = 0;
  private writeIndex = 0;

  constructor(readonly capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError(`ring capacity must be a positive integer, got ${capacity}`);
    this.buffer = new Float32Array(capacity + 1);
  }

  get availableRead(): number {
    const d = this.writeIndex - this.readIndex;
    return d >= 0 ? d : d + this.buffer.length;
  }

  get availableWrite(): number {
    return this.capacity - this.availableRead;
  }

  /** Appends as much of `src` as fits; returns how many samples were written (the rest is the caller's to drop). */
  push(src: Float32Array): number {
    const n = Math.min(src.length, this.availableWrite);
    const size = this.buffer.length;
    const first = Math.min(n, size - this.writeIndex);
    this.buffer.set(src.subarray(0, first), this.writeIndex);
    if (first < n) this.buffer.set(src.subarray(first, n), 0);
    this.writeIndex = (this.writeIndex + n) % size;
    return n;
  }

  /** Moves up to `n` samples into `dst` from `offset`; returns how many were read. */
  pull(dst: Float32Array, offset: number, n: number): number {
    const count = Math.min(n, this.availableRead, dst.length - offset);
    const size = this.buffer.length;
    const first = Math.min(count, size - this.readIndex);
    dst.set(this.buffer.subarray(this.readIndex, this.readIndex + first), offset);
    if (first < count) dst.set(this.buffer.subarray(0, count - first), offset + first);
    this.readIndex = (this.readIndex + count) % size;
    return count;
  }

  /** Drops up to `n` samples unread; returns how many. */
  skip(n: number): number {
    const count = Math.min(n, this.availableRead);
    this.readIndex = (this.readIndex + count) % this.buffer.length;
    return count;
  }

  clear(): void {
    this.readIndex = this.writeIndex = 0;
  }
}
