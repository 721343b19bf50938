import { mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { buildIsStale } from './build-pwa.ts';

let dirs: string[] = [];
afterEach(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
  dirs = [];
});

function tree(): { dist: string; src: string; touch(path: string, atSec: number): void } {
  const root = mkdtempSync(join(tmpdir(), 'earshot-build-'));
  dirs.push(root);
  const dist = join(root, 'dist');
  const src = join(root, 'client');
  mkdirSync(dist);
  mkdirSync(join(src, 'src', 'session'), { recursive: true });
  const touch = (path: string, atSec: number) => {
    writeFileSync(path, 'x');
    utimesSync(path, atSec, atSec);
  };
  return { dist, src, touch };
}

describe('buildIsStale', () => {
  it('is stale without a build, fresh when every page is newer than every source, stale once a nested source changes', () => {
    const { dist, src, touch } = tree();
    touch(join(src, 'src', 'session', 'worker.ts'), 1_000);
    expect(buildIsStale(dist, [src])).toBe(true);
    touch(join(dist, 'index.html'), 2_000);
    expect(buildIsStale(dist, [src])).toBe(true); // the audio lab page is missing
    touch(join(dist, 'audio-lab.html'), 2_000);
    expect(buildIsStale(dist, [src])).toBe(false);
    touch(join(src, 'src', 'session', 'worker.ts'), 3_000);
    expect(buildIsStale(dist, [src])).toBe(true);
  });
});
