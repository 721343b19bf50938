// Capture worklet (processor 'capture.worklet'): runs on the audio rendering thread at the AudioContext's native
// rate. Cuts the mic into exact 20 ms frames and transfers each straight to the session worker over a MessagePort;
// sends each frame's level and outline to the waveform worker. Never throws out of process(): a bad block is dropped.
import { FRAME_MS, WAVE_POINTS_PER_FRAME } from './constants.ts';
import { FrameCutter } from '../dsp/frame-cutter.ts';
import { levelsOf } from '../dsp/levels.ts';
import { MuteGate } from './mute-gate.ts';
import type { CaptureToSession, MainToCapture, ToWaveform, WorkletToMain } from './messages.ts';

function outline(frame: Float32Array, points: number): Float32Array {
  const out = new Float32Array(points * 2);
  const step = frame.length / points;
  for (let p = 0; p < points; p++) {
    let lo = 0;
    let hi = 0;
    const end = Math.round((p + 1) * step);
    for (let i = Math.round(p * step); i < end; i++) {
      const v = frame[i]!;
      if (v < lo) lo = v;
      if (v > hi) hi = v;
    }
    out[p * 2] = lo;
    out[p * 2 + 1] = hi;
  }
  return out;
}

class CaptureProcessor extends AudioWorkletProcessor {
  private session: MessagePort | null = null;
  private waveform: MessagePort | null = null;
  /**
   * The one owner of mute: while muted no captured sample leaves the audio thread (the session worker cannot send
   * what it never gets) — only a short tail of zeros so the VAD ends the turn (mute-gate.ts). Frames are still
   * counted, so the capture clock stays true across mute.
   */
  private readonly gate = new MuteGate();
  private closed = false;
  /** Frames cut since the stream started (the capture clock: captureMs = frameIndex * FRAME_MS). */
  private frameIndex = 0;
  private readonly cutter = new FrameCutter(sampleRate, FRAME_MS);
  private readonly emitFrame = (frame: Float32Array): void => this.sendFrame(frame);

  constructor() {
    super();
    this.port.onmessage = (event: MessageEvent<MainToCapture>) => {
      const msg = event.data;
      switch (msg.kind) {
        case 'connect':
          this.session = msg.session;
          this.waveform = msg.waveform;
          break;
        case 'mute':
          this.gate.setMuted(msg.muted);
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

  private sendFrame(frame: Float32Array): void {
    const verdict = this.gate.next();
    if (verdict === 'silence') frame.fill(0);
    const muted = this.gate.isMuted;
    const levels = muted ? { rms: 0, peak: 0 } : levelsOf(frame);
    if (this.waveform) {
      const wave = muted ? new Float32Array(WAVE_POINTS_PER_FRAME * 2) : outline(frame, WAVE_POINTS_PER_FRAME);
      const msg: ToWaveform = { kind: 'wave', source: 'input', levels, outline: wave };
      this.waveform.postMessage(msg, [wave.buffer]);
    }
    // Muted: after the silence tail, stop sending appends (the session stays up; the provider hears nothing).
    if (this.session && verdict !== 'drop') {
      const msg: CaptureToSession = { kind: 'frame', index: this.frameIndex, samples: frame, rms: levels.rms, peak: levels.peak };
      this.session.postMessage(msg, [frame.buffer]);
    }
    this.frameIndex++;
  }

  process(inputs: Float32Array[][]): boolean {
    if (this.closed) return false;
    try {
      const channel = inputs[0]?.[0];
      // No input connected (device switching): keep the clock running with silence so frames stay regular.
      this.cutter.push(channel ?? new Float32Array(128), this.emitFrame);
    } catch (err) {
      const msg: WorkletToMain = { kind: 'error', where: 'capture.process', message: String(err) };
      this.port.postMessage(msg);
    }
    return true;
  }
}

registerProcessor('capture.worklet', CaptureProcessor);
