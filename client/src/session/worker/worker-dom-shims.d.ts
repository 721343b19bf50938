// Type-only: engine-api.ts (shared with the DOM app) names HTMLCanvasElement in EngineStartOptions, which the session
// worker never uses. Declared empty for the WebWorker type-check only (tsconfig.worker.json), never at runtime.
interface HTMLCanvasElement {}

// Vite's `?url` imports (vite/client declares them for the DOM build; the worker build has no `types`).
declare module '*?url' {
  const url: string;
  export default url;
}
