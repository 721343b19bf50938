// Playback worklet (processor 'playback.worklet'): drives the PlaybackQueue (playback-queue.ts: ring, adaptive
// jitter target, underruns, flush with exact played counts) from the audio thread, and reports progress to the
// session worker and the output outline to the waveform worker.
// Threading: runs on the audio thread; talks to the session worker and waveform worker over MessagePorts.
import { PLAYBACK_REPORT_MS, PLAYBACK_RING_SECONDS, WAVE_POINTS_PER_FRAME } from './constants.ts';
import type { SessionToPlayback, MainToPlayback, PlaybackToSession, ToWaveform, WorkletToMain } from './messages.ts';
import { PlaybackQueue } from './playback-queue.ts';

class PlaybackProcessor extends AudioWorkletProcessor {
  private readonly queue = new PlaybackQueue(Math.round(sampleRate * PLAYBACK_RING_SECONDS), sampleRate, (msg) => this.post(msg));
  private readonly reportEvery = Math.round((sampleRate * PLAYBACK_REPORT_MS) / 1000);
  private sinceReport = 0;
  private reportSum = 0;
  private reportPeak = 0;
  private reportLo = new Float32Array(WAVE_POINTS_PER_FRAME).fill(0);
  private reportHi = new Float32Array(WAVE_POINTS_PER_FRAME).fill(0);
  private session: MessagePort | null = null;
  private waveform: MessagePort | null = null;
  private closed = false;
  private flushRequested = false;

  constructor() {
    super();
    this.port.onmessage = (event: MessageEvent<MainToPlayback>) => {
      const msg = event.data;
      switch (msg.kind) {
        case 'connect':
          this.session = msg.session;
          this.waveform = msg.waveform;
          this.session.onmessage = (e: MessageEvent<SessionToPlayback>) => this.onSession(e.data);
          break;
        case 'close':
          this.closed = true;
          this.session?.close();
          this.waveform?.close();
          this.session = this.waveform = null;
          break;
      }
    };
  }

  private post(msg: PlaybackToSession): void {
    this.session?.postMessage(msg);
  }

  private onSession(msg: SessionToPlayback): void {
    try {
      switch (msg.kind) {
        case 'chunk':
          this.queue.write(msg.itemId, msg.samples);
          break;
        case 'end':
          this.queue.end(msg.itemId);
          break;
        case 'flush':
          // Applied at the start of the next render quantum, so the reported frame is the quantum that goes silent.
          this.flushRequested = true;
          break;
      }
    } catch (err) {
      const report: WorkletToMain = { kind: 'error', where: 'playback.message', message: String(err) };
      this.port.postMessage(report);
    }
  }

  process(_inputs: Float32Array[][], outputs: Float32Array[][]): boolean {
    if (this.closed) return false;
    const channels = outputs[0];
    const out = channels?.[0];
    if (!out) return true;
    try {
      if (this.flushRequested) {
        this.flushRequested = false;
        this.queue.flush(currentFrame);
      }
      this.queue.render(out, currentFrame);
    } catch (err) {
      out.fill(0);
      const report: WorkletToMain = { kind: 'error', where: 'playback.process', message: String(err) };
      this.port.postMessage(report);
    }
    for (let c = 1; c < (channels?.length ?? 0); c++) channels![c]!.set(out);
    this.report(out);
    return true;
  }

  /** Progress to the session worker and the outline to the waveform worker, every PLAYBACK_REPORT_MS. */
  private report(out: Float32Array): void {
    const points = WAVE_POINTS_PER_FRAME;
    for (let k = 0; k < out.length; k++) {
      const v = out[k]!;
      this.reportSum += v * v;
      const a = v < 0 ? -v : v;
      if (a > this.reportPeak) this.reportPeak = a;
      const p = Math.min(points - 1, Math.floor(((this.sinceReport + k) * points) / this.reportEvery));
      if (v < this.reportLo[p]!) this.reportLo[p] = v;
      if (v > this.reportHi[p]!) this.reportHi[p] = v;
    }
    this.sinceReport += out.length;
    if (this.sinceReport < this.reportEvery) return;
    const rms = Math.sqrt(this.reportSum / this.sinceReport);
    const progress = this.queue.progress();
    if (progress) this.post({ kind: 'progress', ...progress, taken: this.queue.taken, frame: currentFrame + out.length, rms, jitterMs: this.queue.jitter.ms });
    if (this.waveform) {
      const outline = new Float32Array(points * 2);
      for (let p = 0; p < points; p++) {
        outline[p * 2] = this.reportLo[p]!;
        outline[p * 2 + 1] = this.reportHi[p]!;
      }
      const msg: ToWaveform = { kind: 'wave', source: 'output', levels: { rms, peak: this.reportPeak }, outline };
      this.waveform.postMessage(msg, [outline.buffer]);
    }
    this.sinceReport = 0;
    this.reportSum = 0;
    this.reportPeak = 0;
    this.reportLo.fill(0);
    this.reportHi.fill(0);
  }
}

registerProcessor('playback.worklet', PlaybackProcessor);
