// The npm republish of uWebSockets.js silently falls back to a slow `ws` shim when no native binary fits
// this platform/Node ABI. Earshot's performance depends on the native binding, so refuse to run without it.
import { createRequire } from 'node:module';
import 'uWebSockets.js';

export function uwsBindingPath(): string | null {
  const require = createRequire(import.meta.url);
  return Object.keys(require.cache).find((p) => /uws_[a-z0-9]+_[a-z0-9]+_\d+\.node$/.test(p)) ?? null;
}

export function assertNativeUws(): string {
  const path = uwsBindingPath();
  if (path === null || process.env.UWS_USE_FALLBACK) {
    throw new Error(
      `uWebSockets.js is running its slow JavaScript fallback, not the native binding (platform ${process.platform}-${process.arch}, ` +
        `Node ABI ${process.versions.modules}). Use Node 16/18/20 on Linux x64 or macOS, and unset UWS_USE_FALLBACK.`,
    );
  }
  return path;
}
