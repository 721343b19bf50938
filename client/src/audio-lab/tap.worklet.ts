// Test-only tap (processor 'tap.worklet'): forwards every render quantum it receives, with its start frame, to the
// lab page, so browser tests can see exactly what the playback worklet output, sample for sample.
class TapProcessor extends AudioWorkletProcessor {
  private batch: Float32Array = new Float32Array(128 * 32);
  private filled = 0;
  private batchFrame = 0;

  process(inputs: Float32Array[][]): boolean {
    const channel = inputs[0]?.[0] ?? new Float32Array(128);
    if (this.filled === 0) this.batchFrame = currentFrame;
    this.batch.set(channel, this.filled);
    this.filled += channel.length;
    if (this.filled + 128 > this.batch.length) {
      const samples = this.batch.slice(0, this.filled);
      this.port.postMessage({ frame: this.batchFrame, samples }, [samples.buffer]);
      this.filled = 0;
    }
    return true;
  }
}

registerProcessor('tap.worklet', TapProcessor);
