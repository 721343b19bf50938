// The built PWA, served from memory (it is a few hundred KB): content types, long-lived caching for hashed
// assets, no-cache for the files that decide which version runs (index.html, sw.js, manifest), SPA fallback.
// The security headers every response gets are server.ts's (http/security-headers.ts), not per file.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { extname, join, relative, sep } from 'node:path';
import { gzipSync } from 'node:zlib';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.webmanifest': 'application/manifest+json',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.webp': 'image/webp',
  '.woff2': 'font/woff2',
  '.wasm': 'application/wasm',
  '.txt': 'text/plain; charset=utf-8',
  '.map': 'application/json',
  '.wav': 'audio/wav',
};

const NO_CACHE = new Set(['/index.html', '/sw.js', '/manifest.webmanifest', '/registerSW.js']);
const RESERVED = ['/v1/', '/api/', '/metrics', '/healthz', '/admin/'];

export interface StaticFile {
  body: Buffer;
  gzip: Buffer | null;
  headers: Record<string, string>;
}

export interface StaticSite {
  /** The file for a request path, or null. `acceptsGzip` picks the precompressed body. */
  lookup(urlPath: string): StaticFile | null;
  readonly fileCount: number;
}

function walk(dir: string, out: string[]): void {
  for (const name of readdirSync(dir)) {
    const full = join(dir, name);
    if (statSync(full).isDirectory()) walk(full, out);
    else out.push(full);
  }
}

export function createStaticSite(dir: string): StaticSite {
  const files = new Map<string, StaticFile>();
  if (existsSync(dir)) {
    const paths: string[] = [];
    walk(dir, paths);
    for (const full of paths) {
      const urlPath = '/' + relative(dir, full).split(sep).join('/');
      const body = readFileSync(full);
      const type = TYPES[extname(full).toLowerCase()] ?? 'application/octet-stream';
      const hashed = urlPath.startsWith('/assets/');
      const compressible = /^(text\/|application\/(json|manifest\+json|wasm)|image\/svg)/.test(type) && body.length > 1024;
      files.set(urlPath, {
        body,
        gzip: compressible ? gzipSync(body) : null,
        headers: {
          'content-type': type,
          'cache-control': NO_CACHE.has(urlPath) || !hashed ? 'no-cache' : 'public, max-age=31536000, immutable',
          etag: `"${createHash('sha1').update(body).digest('base64url').slice(0, 16)}"`,
        },
      });
    }
  }
  return {
    fileCount: files.size,
    lookup(urlPath) {
      const path = urlPath.split('?')[0] ?? '/';
      if (path.includes('..') || path.includes('\0')) return null;
      if (RESERVED.some((r) => path === r || path.startsWith(r))) return null;
      const exact = files.get(path === '/' ? '/index.html' : path);
      if (exact) return exact;
      // SPA fallback for app routes (no extension); missing assets stay 404.
      if (extname(path) === '') return files.get('/index.html') ?? null;
      return null;
    },
  };
}
