// Response headers that keep the PWA and the JSON API from being framed, sniffed, or leaking the address (which
// can carry a `#token=` link) to other sites. The CSP is what the production build needs and nothing more
// (verified in Chromium by e2e/app.e2e.test.ts, which fails on any CSP violation): the app, its module workers
// (codec, waveform), its audio worklets and the service worker are all same-origin scripts; the socket and
// `/api/session-check` are same-origin (`'self'` covers ws:/wss: of the same host); no inline script or style
// attribute, no eval, no wasm, no blob: or data: URLs. Workers and the service worker get the same header from
// their own script responses, which is what governs them.
export const CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self'",
  "font-src 'self'",
  "connect-src 'self'",
  "media-src 'self'",
  "worker-src 'self'",
  "manifest-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

/** On every response of the built PWA (HTML, scripts, icons, manifest, 304s and 404s). */
export const STATIC_HEADERS: Readonly<Record<string, string>> = {
  'content-security-policy': CONTENT_SECURITY_POLICY,
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  // Older browsers that ignore frame-ancestors.
  'x-frame-options': 'DENY',
  // The page needs the microphone and nothing else of the kind.
  'permissions-policy': 'microphone=(self), camera=(), geolocation=(), payment=(), usb=()',
  'cross-origin-opener-policy': 'same-origin',
};

/** On JSON and plain-text API answers (/api, /healthz, /metrics, refusals): nothing to run, frame, or cache. */
export const API_HEADERS: Readonly<Record<string, string>> = {
  'content-security-policy': "default-src 'none'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'cache-control': 'no-store',
};

/** Writes `headers` on a uWS response (call inside `cork`, after `writeStatus`). */
export function writeHeaders(res: { writeHeader(key: string, value: string): unknown }, headers: Readonly<Record<string, string>>): void {
  for (const key in headers) res.writeHeader(key, headers[key]!);
}
