// Types for `window.lab` (client/src/audio-lab/main.ts) as the browser tests see it inside page.evaluate().
// It mirrors the lab's surface with the few shapes the tests touch (the root tsconfig has the DOM lib).
import type { EngineDebugStats, EngineEvent, EngineSettings } from '../client/src/session/engine-api.ts';

type Report =
  | { kind: 'started'; itemId: string; frame: number }
  | { kind: 'progress'; itemId: string; played: number; taken: number; rms: number; jitterMs: number }
  | { kind: 'drained'; itemId: string; taken: number }
  | { kind: 'underrun'; itemId: string; count: number; jitterMs: number }
  | { kind: 'overflow'; dropped: number }
  | { kind: 'flushed'; items: Array<{ itemId: string; played: number }>; taken: number; frame: number };

type ToPlayback = { kind: 'chunk'; itemId: string; samples: Float32Array } | { kind: 'end'; itemId: string } | { kind: 'flush' };

interface Rig {
  sampleRate: number;
  send(msg: ToPlayback): void;
  reports: Report[];
  recorded(sinceFrame?: number): { frame: number; samples: number[] };
  close(): Promise<void>;
}

interface LabEngine {
  debugStats(): Promise<EngineDebugStats>;
  setMuted(muted: boolean): void;
  interrupt(): void;
  setTalking(down: boolean): void;
}

declare global {
  interface Window {
    lab: {
      events: EngineEvent[];
      startEngine(options: { relayUrl: string; token: string; settings: EngineSettings; withCanvas?: boolean; sampleRate?: number }): Promise<void>;
      engine(): LabEngine | null;
      stopEngine(): Promise<void>;
      playbackRig(): Promise<Rig>;
      encodeBlocks(blocks: Array<{ captureMs: number; amplitude: number }>): Promise<Array<{ captureMs: number; bytes: number }>>;
      rig: Rig | null;
    };
  }
}
