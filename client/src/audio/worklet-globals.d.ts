// Globals of AudioWorkletGlobalScope, which TypeScript ships no lib for. tsconfig.worklet.json uses the WebWorker
// lib for MessagePort & co; worklets must not use worker-only APIs (setTimeout, fetch, self) — they do not exist there.
declare abstract class AudioWorkletProcessor {
  readonly port: MessagePort;
  constructor(options?: AudioWorkletNodeOptions);
  abstract process(inputs: Float32Array[][], outputs: Float32Array[][], parameters: Record<string, Float32Array>): boolean;
}

interface AudioWorkletNodeOptions {
  numberOfInputs?: number;
  numberOfOutputs?: number;
  outputChannelCount?: number[];
  parameterData?: Record<string, number>;
  processorOptions?: unknown;
}

declare function registerProcessor(name: string, processorCtor: new (options?: AudioWorkletNodeOptions) => AudioWorkletProcessor): void;

declare const sampleRate: number;
declare const currentTime: number;
declare const currentFrame: number;
