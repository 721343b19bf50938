// A fixed-size history of min/max columns per source, filled from ToWaveform messages and drawn by WaveDrawer.
// Shared by the waveform worker (OffscreenCanvas) and the main-thread fallback (plain canvas).
import type { ToWaveform, WaveTheme } from '../audio/messages.ts';

export const HISTORY_COLUMNS = 1024;

export class WaveHistory {
  readonly lo = new Float32Array(HISTORY_COLUMNS);
  readonly hi = new Float32Array(HISTORY_COLUMNS);
  /** Next column to write; the newest column is head - 1. */
  head = 0;
  level = 0;

  push(msg: ToWaveform): void {
    const { outline } = msg;
    for (let p = 0; p + 1 < outline.length; p += 2) {
      this.lo[this.head] = outline[p]!;
      this.hi[this.head] = outline[p + 1]!;
      this.head = (this.head + 1) % HISTORY_COLUMNS;
    }
    this.level = msg.levels.rms;
  }

  /** After Stop: the next conversation starts from a flat line, not the last one's waveform. */
  clear(): void {
    this.lo.fill(0);
    this.hi.fill(0);
    this.head = 0;
    this.level = 0;
  }
}

/** Minimal 2D context surface both canvas kinds share. */
interface Ctx2D {
  fillStyle: unknown;
  fillRect(x: number, y: number, w: number, h: number): void;
  clearRect(x: number, y: number, w: number, h: number): void;
}

export const DEFAULT_THEME: WaveTheme = { background: 'transparent', input: '#4f8cff', output: '#2fbf71' };

/** Draws input (top half) and output (bottom half) as mirrored min/max bars, newest at the right. */
export function drawWaves(ctx: Ctx2D, width: number, height: number, input: WaveHistory, output: WaveHistory, theme: WaveTheme): void {
  ctx.clearRect(0, 0, width, height);
  if (theme.background !== 'transparent') {
    ctx.fillStyle = theme.background;
    ctx.fillRect(0, 0, width, height);
  }
  const half = height / 2;
  const columns = Math.min(HISTORY_COLUMNS, Math.max(1, Math.floor(width / 2)));
  const colWidth = width / columns;
  const lanes: Array<[WaveHistory, string, number]> = [
    [input, theme.input, half / 2],
    [output, theme.output, half + half / 2],
  ];
  for (const [history, color, mid] of lanes) {
    ctx.fillStyle = color;
    for (let c = 0; c < columns; c++) {
      const idx = (history.head - columns + c + HISTORY_COLUMNS) % HISTORY_COLUMNS;
      // sqrt makes quiet speech visible without clipping loud peaks.
      const up = Math.sqrt(Math.min(1, Math.abs(history.hi[idx]!))) * (half / 2 - 1);
      const down = Math.sqrt(Math.min(1, Math.abs(history.lo[idx]!))) * (half / 2 - 1);
      ctx.fillRect(c * colWidth, mid - up, Math.max(1, colWidth - 0.5), Math.max(1, up + down));
    }
  }
}
