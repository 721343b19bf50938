// Cuts a stream of render quanta (128 samples) into exact FRAME_MS frames at any sample rate without drift:
// frame k ends at round((k + 1) * rate * FRAME_MS / 1000) samples, so at 44.1 kHz every frame is 882 samples
// and at a rate where 20 ms is fractional (11025 Hz) sizes alternate (220/221) and never accumulate error.
// Runs inside the capture worklet; pure so Node tests can feed it hours of audio.
export class FrameCutter {
  private readonly rate: number;
  private readonly frameMs: number;
  private frameIndex = 0;
  private frameStart = 0; // absolute sample index where the current frame starts
  private current: Float32Array;
  private filled = 0;

  constructor(rate: number, frameMs: number) {
    this.rate = rate;
    this.frameMs = frameMs;
    this.current = new Float32Array(this.sizeOf(0));
  }

  private endOf(k: number): number {
    return Math.round(((k + 1) * this.rate * this.frameMs) / 1000);
  }

  private sizeOf(k: number): number {
    return this.endOf(k) - (k === 0 ? 0 : this.endOf(k - 1));
  }

  /** Appends samples; calls `emit` with each completed frame (a fresh buffer the callee may transfer). */
  push(samples: Float32Array, emit: (frame: Float32Array) => void): void {
    let offset = 0;
    while (offset < samples.length) {
      const take = Math.min(samples.length - offset, this.current.length - this.filled);
      this.current.set(samples.subarray(offset, offset + take), this.filled);
      this.filled += take;
      offset += take;
      if (this.filled === this.current.length) {
        const done = this.current;
        this.frameStart += done.length;
        this.frameIndex++;
        this.current = new Float32Array(this.sizeOf(this.frameIndex));
        this.filled = 0;
        emit(done);
      }
    }
  }

  /** Samples emitted so far, for tests and stats. */
  get emittedSamples(): number {
    return this.frameStart;
  }
}
