// Playback worklet (processor 'playback.worklet'): a bounded ring of context-rate samples fed by the session worker.
// Plays chunks back to back; starts after JITTER_TARGET_MS is queued (or at once when the item has ended);
// on underrun fades the last sample to silence (no click) and re-buffers; `flush` silences output from the next
// render quantum and reports exactly how many samples of each item were played, so the session can truncate.
// Threading: runs on the audio thread; talks to the session worker and waveform worker over MessagePorts.
import { FADE_SAMPLES, JITTER_TARGET_MS, PLAYBACK_REPORT_MS, PLAYBACK_RING_SECONDS, WAVE_POINTS_PER_FRAME } from './constants.ts';
import type { SessionToPlayback, MainToPlayback, PlaybackToSession, ToWaveform, WorkletToMain } from './messages.ts';

interface Segment {
  itemId: string;
  remaining: number;
}

interface ItemState {
  played: number;
  queued: number;
  ended: boolean;
  started: boolean;
}

class PlaybackProcessor extends AudioWorkletProcessor {
  private readonly ring = new Float32Array(Math.round(sampleRate * PLAYBACK_RING_SECONDS));
  private read = 0;
  private count = 0;
  private readonly segments: Segment[] = [];
  private readonly items = new Map<string, ItemState>();
  private playing = false;
  private taken = 0;
  private lastSample = 0;
  private fadeOutLeft = 0;
  private fadeOutFrom = 0;
  private fadeInPos = FADE_SAMPLES;
  private readonly jitterTarget = Math.round((sampleRate * JITTER_TARGET_MS) / 1000);
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

  private item(itemId: string): ItemState {
    let state = this.items.get(itemId);
    if (!state) {
      state = { played: 0, queued: 0, ended: false, started: false };
      this.items.set(itemId, state);
    }
    return state;
  }

  private onSession(msg: SessionToPlayback): void {
    try {
      switch (msg.kind) {
        case 'chunk':
          this.write(msg.itemId, msg.samples);
          break;
        case 'end': {
          const state = this.item(msg.itemId);
          state.ended = true;
          if (state.queued === 0) this.finishItem(msg.itemId);
          break;
        }
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

  private write(itemId: string, samples: Float32Array): void {
    const cap = this.ring.length;
    const n = Math.min(samples.length, cap - this.count);
    if (n < samples.length) this.post({ kind: 'overflow', dropped: samples.length - n });
    if (n === 0) return;
    let w = (this.read + this.count) % cap;
    const first = Math.min(n, cap - w);
    this.ring.set(samples.subarray(0, first), w);
    if (first < n) this.ring.set(samples.subarray(first, n), 0);
    w = (w + n) % cap;
    this.count += n;
    const last = this.segments[this.segments.length - 1];
    if (last && last.itemId === itemId) last.remaining += n;
    else this.segments.push({ itemId, remaining: n });
    this.item(itemId).queued += n;
  }

  private finishItem(itemId: string): void {
    this.items.delete(itemId);
    this.post({ kind: 'drained', itemId, taken: this.taken });
  }

  private flush(): void {
    const items: Array<{ itemId: string; played: number }> = [];
    for (const [itemId, state] of this.items) items.push({ itemId, played: state.played });
    this.taken += this.count;
    this.count = 0;
    this.segments.length = 0;
    this.items.clear();
    if (this.playing) {
      // Fade from the last sample to zero over FADE_SAMPLES of the next quantum: silent within one quantum, no click.
      this.fadeOutFrom = this.lastSample;
      this.fadeOutLeft = FADE_SAMPLES;
    }
    this.playing = false;
    this.post({ kind: 'flushed', items, taken: this.taken, frame: currentFrame });
  }

  /** Whether buffered audio may start playing: enough queued, or the head item has ended (play its tail). */
  private readyToStart(): boolean {
    if (this.count === 0) return false;
    if (this.count >= this.jitterTarget) return true;
    const head = this.segments[0];
    if (!head) return false;
    const state = this.items.get(head.itemId);
    return state !== undefined && state.ended;
  }

  process(_inputs: Float32Array[][], outputs: Float32Array[][]): boolean {
    if (this.closed) return false;
    const channels = outputs[0];
    const out = channels?.[0];
    if (!out) return true;
    try {
      if (this.flushRequested) {
        this.flushRequested = false;
        this.flush();
      }
      this.render(out);
    } catch (err) {
      out.fill(0);
      const report: WorkletToMain = { kind: 'error', where: 'playback.process', message: String(err) };
      this.port.postMessage(report);
    }
    for (let c = 1; c < (channels?.length ?? 0); c++) channels![c]!.set(out);
    this.report(out);
    return true;
  }

  private render(out: Float32Array): void {
    const n = out.length;
    let i = 0;
    if (!this.playing && this.readyToStart()) {
      this.playing = true;
      this.fadeInPos = 0;
    }
    if (this.playing) {
      const cap = this.ring.length;
      while (i < n && this.count > 0) {
        const head = this.segments[0]!;
        const state = this.item(head.itemId);
        if (!state.started) {
          state.started = true;
          this.post({ kind: 'started', itemId: head.itemId, frame: currentFrame + i });
        }
        const run = Math.min(n - i, head.remaining);
        for (let k = 0; k < run; k++) {
          let v = this.ring[this.read]!;
          if (this.fadeInPos < FADE_SAMPLES) v *= this.fadeInPos++ / FADE_SAMPLES;
          out[i++] = v;
          this.read = this.read + 1 === cap ? 0 : this.read + 1;
        }
        this.count -= run;
        this.taken += run;
        head.remaining -= run;
        state.played += run;
        state.queued -= run;
        this.lastSample = out[i - 1] ?? 0;
        if (head.remaining === 0) {
          this.segments.shift();
          if (state.ended && state.queued === 0) this.finishItem(head.itemId);
        }
      }
      if (i < n) {
        // Underrun (or the end of everything queued): fade the last sample out, then wait for the jitter target again.
        const head = this.segments[0];
        const endedCleanly = head === undefined && [...this.items.values()].every((s) => s.ended);
        if (!endedCleanly && head) this.post({ kind: 'underrun', itemId: head.itemId });
        this.playing = false;
        this.fadeOutFrom = this.lastSample;
        this.fadeOutLeft = FADE_SAMPLES;
      }
    }
    for (; i < n; i++) {
      if (this.fadeOutLeft > 0) {
        out[i] = (this.fadeOutFrom * this.fadeOutLeft) / FADE_SAMPLES;
        this.fadeOutLeft--;
      } else out[i] = 0;
    }
    if (!this.playing) this.lastSample = 0;
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
    const head = this.segments[0];
    if (head && this.playing) {
      this.post({ kind: 'progress', itemId: head.itemId, played: this.item(head.itemId).played, taken: this.taken, rms });
    }
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
