// Where the built PWA is: a relative STATIC_DIR is read from the working directory when it exists there (a
// checkout: `npm start`), else from the installed release (`earshot serve` run from anywhere, the container).
import { existsSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import { PACKAGE_ROOT } from '../release.ts';

export function resolveStaticDir(staticDir: string, cwd = process.cwd()): string {
  if (isAbsolute(staticDir)) return staticDir;
  const here = resolve(cwd, staticDir);
  return existsSync(here) ? here : resolve(PACKAGE_ROOT, staticDir);
}
