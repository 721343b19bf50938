// Waveform worker: owns an OffscreenCanvas transferred from the page and draws input/output waveforms at display
// rate from what the capture and playback worklets post to it directly. Draws only when something changed.
import type { MainToWaveform, ToWaveform, WaveTheme } from '../audio/messages.ts';
import { DEFAULT_THEME, drawWaves, WaveHistory } from './wave-history.ts';

const input = new WaveHistory();
const output = new WaveHistory();
let ctx: OffscreenCanvasRenderingContext2D | null = null;
let canvas: OffscreenCanvas | null = null;
let theme: WaveTheme = DEFAULT_THEME;
let width = 0;
let height = 0;
let dirty = true;
let running = false;
let ports: MessagePort[] = [];
let framesDrawn = 0;

// Dedicated workers in Chromium have requestAnimationFrame (synced to the canvas's display); elsewhere ~60 Hz timers.
const scope = self as unknown as { requestAnimationFrame?: (cb: () => void) => number };
const nextFrame = (cb: () => void): void => {
  if (typeof scope.requestAnimationFrame === 'function') scope.requestAnimationFrame(cb);
  else setTimeout(cb, 16);
};

function loop(): void {
  if (!running) return;
  if (dirty && ctx && canvas) {
    dirty = false;
    drawWaves(ctx, width, height, input, output, theme);
    framesDrawn++;
  }
  nextFrame(loop);
}

function resize(w: number, h: number, dpr: number): void {
  if (!canvas || !ctx) return;
  canvas.width = Math.max(1, Math.round(w * dpr));
  canvas.height = Math.max(1, Math.round(h * dpr));
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  width = w;
  height = h;
  dirty = true;
}

function listen(port: MessagePort, history: WaveHistory): void {
  port.onmessage = (e: MessageEvent<ToWaveform>) => {
    history.push(e.data);
    dirty = true;
  };
  ports.push(port);
}

self.onmessage = (e: MessageEvent<MainToWaveform | { kind: 'stats' }>) => {
  const msg = e.data;
  switch (msg.kind) {
    case 'init':
      canvas = msg.canvas;
      ctx = canvas.getContext('2d');
      theme = msg.theme;
      listen(msg.input, input);
      listen(msg.output, output);
      resize(msg.width, msg.height, msg.dpr);
      running = true;
      loop();
      break;
    case 'resize':
      resize(msg.width, msg.height, msg.dpr);
      break;
    case 'theme':
      theme = msg.theme;
      dirty = true;
      break;
    case 'attach':
      listen(msg.input, input);
      listen(msg.output, output);
      if (!running) {
        running = true;
        loop();
      }
      break;
    case 'detach':
    case 'close':
      running = false;
      for (const port of ports) port.close();
      ports = [];
      // Nothing of the last conversation stays drawn (the canvas is reused by the next Start).
      input.clear();
      output.clear();
      if (ctx && canvas) ctx.clearRect(0, 0, canvas.width, canvas.height);
      break;
    case 'stats':
      self.postMessage({ kind: 'stats', framesDrawn, inputLevel: input.level, outputLevel: output.level });
      break;
  }
};
