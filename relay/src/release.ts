// Which release this code is, and where its files are. This file sits two levels below the package root both
// as source (relay/src/release.ts) and once bundled (dist/relay/earshot.js), so one relative path serves both.
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

export const PACKAGE_ROOT = resolve(import.meta.dirname, '../..');

export const RELEASE_VERSION: string = (JSON.parse(readFileSync(join(PACKAGE_ROOT, 'package.json'), 'utf8')) as { version: string }).version;
