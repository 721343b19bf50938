import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createStaticSite } from './static-site.ts';
import { tempDataDir } from '../testing/start-relay.ts';

describe('static site', () => {
  const dir = tempDataDir();
  mkdirSync(join(dir, 'assets'));
  writeFileSync(join(dir, 'index.html'), '<!doctype html><title>x</title>');
  writeFileSync(join(dir, 'sw.js'), 'self.x=1');
  writeFileSync(join(dir, 'manifest.webmanifest'), '{}');
  writeFileSync(join(dir, 'assets', 'app-abc123.js'), 'x'.repeat(5000));
  writeFileSync(join(dir, 'icon-192.png'), 'png');
  const site = createStaticSite(dir);

  it('serves hashed assets immutable and the version-deciding files no-cache', () => {
    expect(site.lookup('/assets/app-abc123.js')?.headers).toMatchObject({ 'content-type': 'text/javascript; charset=utf-8', 'cache-control': 'public, max-age=31536000, immutable' });
    expect(site.lookup('/assets/app-abc123.js')?.gzip).not.toBeNull();
    for (const p of ['/', '/index.html', '/sw.js', '/manifest.webmanifest']) expect(site.lookup(p)?.headers['cache-control']).toBe('no-cache');
    expect(site.lookup('/manifest.webmanifest')?.headers['content-type']).toBe('application/manifest+json');
    expect(site.lookup('/icon-192.png')?.headers['content-type']).toBe('image/png');
  });

  it('falls back to index.html for app routes only, and never serves reserved paths or traversal', () => {
    expect(site.lookup('/settings')?.body.toString()).toContain('<title>x');
    expect(site.lookup('/missing.js')).toBeNull();
    for (const p of ['/v1/realtime', '/api/session-check', '/metrics', '/healthz', '/../etc/passwd', '/assets/..%2f..']) expect(site.lookup(p)).toBeNull();
  });

  it('serves nothing when there is no build', () => {
    expect(createStaticSite(join(dir, 'nope')).lookup('/')).toBeNull();
  });
});
