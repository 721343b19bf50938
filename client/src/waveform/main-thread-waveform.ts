// Fallback for browsers without OffscreenCanvas (older Safari): the same drawing on the main thread, fed by the
// same worklet ports. Only created when `'transferControlToOffscreen' in canvas` is false.
import type { ToWaveform, WaveTheme } from '../audio/messages.ts';
import { DEFAULT_THEME, drawWaves, WaveHistory } from './wave-history.ts';

export interface WaveformView {
  resize(width: number, height: number, dpr: number): void;
  setTheme(theme: WaveTheme): void;
  close(): void;
}

export function makeMainThreadWaveform(canvas: HTMLCanvasElement, inputPort: MessagePort, outputPort: MessagePort): WaveformView {
  const ctx = canvas.getContext('2d');
  const input = new WaveHistory();
  const output = new WaveHistory();
  let theme = DEFAULT_THEME;
  let width = canvas.clientWidth || canvas.width;
  let height = canvas.clientHeight || canvas.height;
  let dirty = true;
  let raf = 0;
  inputPort.onmessage = (e: MessageEvent<ToWaveform>) => {
    input.push(e.data);
    dirty = true;
  };
  outputPort.onmessage = (e: MessageEvent<ToWaveform>) => {
    output.push(e.data);
    dirty = true;
  };
  const loop = () => {
    if (dirty && ctx) {
      dirty = false;
      drawWaves(ctx, width, height, input, output, theme);
    }
    raf = requestAnimationFrame(loop);
  };
  raf = requestAnimationFrame(loop);
  return {
    resize(w, h, dpr) {
      canvas.width = Math.round(w * dpr);
      canvas.height = Math.round(h * dpr);
      ctx?.setTransform(dpr, 0, 0, dpr, 0, 0);
      width = w;
      height = h;
      dirty = true;
    },
    setTheme(t) {
      theme = t;
      dirty = true;
    },
    close() {
      cancelAnimationFrame(raf);
      ctx?.clearRect(0, 0, canvas.width, canvas.height);
      inputPort.close();
      outputPort.close();
    },
  };
}
