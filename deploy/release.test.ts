// Releases as an operator installs them: `npm run release` makes the tarball; deploy/earshot-release.sh unpacks
// it into <root>/releases/<version>, runs `npm ci --omit=dev` (from the npm registry, or its local cache) and
// points <root>/current at it. Then the built relay runs from there — production dependencies only — and an
// upgrade and a rollback are made for real, including a rollback past a release that moved the data schema on.
import { execFile, execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensurePwaBuilt } from '../relay/src/testing/build-pwa.ts';
import { runEarshot, spawnEarshotServe } from '../relay/src/testing/built-earshot.ts';
import { bearer, realtimeUrl } from '../relay/src/testing/operator-cli.ts';
import { RealtimeTestClient, speechPcm16 } from '../relay/src/testing/realtime-client.ts';
import { REPO_ROOT, type RelayProcess } from '../relay/src/testing/start-relay.ts';

const exec = promisify(execFile);
const work = mkdtempSync(join(tmpdir(), 'earshot-release-test-'));
const root = join(work, 'opt-earshot');
const dataDir = join(work, 'var-lib-earshot');
const script = join(REPO_ROOT, 'deploy/earshot-release.sh');
const bin = join(root, 'current/dist/relay/earshot.js'); // what the systemd unit runs
const running: RelayProcess[] = [];
let tarballA: string;
let version: string;

// An install runs `npm ci --omit=dev`, which compiles better-sqlite3 from source: a minute on an idle machine,
// four or more on a loaded one. Deadlines are generous, and a failure says what the script printed.
const INSTALL_DEADLINE_MS = 900_000;
const TEST_DEADLINE_MS = 3 * INSTALL_DEADLINE_MS;

async function releaseCli(...args: string[]): Promise<string> {
  // prefer-offline: packages already in npm's cache are not fetched again (the registry is still asked for the rest).
  try {
    const { stdout } = await exec(script, [...args, '--root', root], { env: { ...process.env, NPM_CONFIG_PREFER_OFFLINE: 'true' }, timeout: INSTALL_DEADLINE_MS });
    return stdout;
  } catch (err) {
    const e = err as { signal?: string; stdout?: string; stderr?: string };
    throw new Error(`earshot-release.sh ${args.join(' ')} failed${e.signal ? ` (${e.signal}: over ${INSTALL_DEADLINE_MS / 1000} s?)` : ''}:\n${e.stdout ?? ''}${e.stderr ?? ''}`, { cause: err });
  }
}

type Lockfile = { version: string; packages?: Record<string, { version?: string }> };

/**
 * A tarball like `tarball` but with another version, and optionally its built code or its lockfile edited (a
 * fabricated release).
 */
function repack(tarball: string, newVersion: string, edit?: (earshotJs: string) => string, editLock?: (lock: Lockfile) => void): string {
  const dir = mkdtempSync(join(work, 'repack-'));
  execFileSync('tar', ['-xzf', tarball, '-C', dir]);
  for (const name of ['package.json', 'npm-shrinkwrap.json']) {
    const path = join(dir, 'package', name);
    const json = JSON.parse(readFileSync(path, 'utf8')) as Lockfile;
    json.version = newVersion;
    if (json.packages?.['']) json.packages[''].version = newVersion;
    if (name === 'npm-shrinkwrap.json') editLock?.(json);
    writeFileSync(path, JSON.stringify(json, null, 2));
  }
  if (edit) {
    const path = join(dir, 'package/dist/relay/earshot.js');
    writeFileSync(path, edit(readFileSync(path, 'utf8')));
  }
  const out = join(work, `earshot-${newVersion}.tgz`);
  execFileSync('tar', ['-czf', out, '-C', dir, 'package']);
  return out;
}

async function serve(env: Record<string, string> = {}): Promise<RelayProcess> {
  // From a directory outside the repository, as a service would: nothing may be found through the checkout.
  const relay = await spawnEarshotServe({ EARSHOT_DATA_DIR: dataDir, ...env }, bin, work);
  running.push(relay);
  return relay;
}

async function signIn(relay: RelayProcess, token: string): Promise<void> {
  const client = await RealtimeTestClient.connect(realtimeUrl(relay), bearer(token));
  await client.waitFor('session.updated');
  await client.close();
}

beforeAll(() => {
  ensurePwaBuilt();
  const out = execFileSync(process.execPath, ['--import', 'tsx', join(REPO_ROOT, 'scripts/release.ts'), '--skip-pwa'], { cwd: REPO_ROOT, encoding: 'utf8' });
  const made = JSON.parse(out.trim().split('\n').at(-1)!) as { file: string; release: string; bytes: number };
  tarballA = made.file;
  version = made.release;
  console.log(`release tarball ${made.file}: ${(made.bytes / 1024).toFixed(0)} KiB`);
}, 600_000);

afterAll(async () => {
  for (const relay of running) await relay.stop();
  rmSync(work, { recursive: true, force: true }); // three releases: ~100 MiB
}, 120_000);

describe('a release installed with production dependencies only', () => {
  let alice: string;

  it('installs from the tarball with no dev dependency, starts from the build, passes doctor and carries a spoken turn', async () => {
    expect(await releaseCli('install', tarballA)).not.toContain('reused');
    expect(readlinkSync(join(root, 'current'))).toBe(`releases/${version}`);
    const modules = readdirSync(join(root, 'current/node_modules'));
    expect(modules).toContain('uWebSockets.js');
    for (const dev of ['tsx', 'typescript', 'vite', 'vitest', 'esbuild', 'playwright-core', 'jsdom', 'sharp', 'openai', 'solid-js']) expect(modules).not.toContain(dev);
    expect(existsSync(join(root, 'current/relay'))).toBe(false); // no TypeScript sources in a release

    const started = performance.now();
    const relay = await serve();
    const startupMs = performance.now() - started;
    const sizeKiB = Number(execFileSync('du', ['-sk', join(root, 'releases', version)], { encoding: 'utf8' }).split('\t')[0]);
    const modulesKiB = Number(execFileSync('du', ['-sk', join(root, 'releases', version, 'node_modules')], { encoding: 'utf8' }).split('\t')[0]);
    console.log(`production install: ${(sizeKiB / 1024).toFixed(1)} MiB (node_modules ${(modulesKiB / 1024).toFixed(1)} MiB, ${modules.length} top-level packages); spawn → listening ${startupMs.toFixed(0)} ms`);

    const page = await fetch(relay.url);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('<div id="root"');

    // From outside the checkout too, so the built PWA it finds is the release's, not the repository's dist/.
    const doctor = await runEarshot(['doctor'], { EARSHOT_DATA_DIR: dataDir, PUBLIC_URL: relay.url }, bin, work);
    expect(doctor.stdout).toMatch(new RegExp(`^OK +pwa +${join(root, 'releases', version, 'dist/client').replaceAll('.', '\\.')}/index\\.html$`, 'm'));
    expect(doctor.stdout).toMatch(/^OK +public url/m);
    expect(doctor.stdout).toMatch(/^OK +uws +native binding/m);
    expect(doctor.code, doctor.stdout).toBe(0);

    const created = await runEarshot(['token', 'create', '--user', 'alice', '--json'], { EARSHOT_DATA_DIR: dataDir }, bin);
    alice = (JSON.parse(created.stdout) as { token: string; link: string }).token;
    // No PUBLIC_URL: the link uses the relay's real port and says a phone cannot open it.
    expect((JSON.parse(created.stdout) as { link: string }).link.startsWith(`${relay.url}/#token=`)).toBe(true);
    expect(created.stderr).toContain('a phone cannot');

    const client = await RealtimeTestClient.connect(realtimeUrl(relay), bearer(alice));
    await client.waitFor('session.updated');
    client.appendAudio(speechPcm16('hello from the production build', 0.6));
    const done = await client.waitFor('response.done', { timeoutMs: 20_000 });
    expect(done.response.status).toBe('completed');
    expect(client.of('response.output_audio.delta').length).toBeGreaterThan(0);
    await client.close();
    await relay.stop();
  }, TEST_DEADLINE_MS);

  it('installs a release with another dependency tree with npm ci, not with a copy of the current one', async () => {
    // The lockfile pins ws to a version package.json does not allow: npm ci refuses at once, offline. A copy of the
    // current release's node_modules would have "installed" it.
    const tarballX = repack(tarballA, `${version}-other-deps`, undefined, (lock) => {
      lock.packages!['node_modules/ws']!.version = '7.0.0';
    });
    const failed = await releaseCli('install', tarballX).then(
      () => null,
      (err: Error) => err.message,
    );
    expect(failed).toContain('npm ci failed; nothing was switched');
    expect(failed).not.toContain('reused');
    expect(readlinkSync(join(root, 'current'))).toBe(`releases/${version}`);
    expect(readdirSync(join(root, 'releases'))).toEqual([version]); // no half-installed release, no staging left
  }, TEST_DEADLINE_MS);

  it('upgrades to a new release and rolls back to the previous one, data intact', async () => {
    const tarballB = repack(tarballA, `${version}-next`);
    // Same dependencies, same Node: the upgrade copies the current release's node_modules (seconds, no compiler).
    expect(await releaseCli('install', tarballB)).toContain(`dependencies unchanged from ${version}: reused its node_modules`);
    expect(readlinkSync(join(root, 'current'))).toBe(`releases/${version}-next`);
    expect(readlinkSync(join(root, 'previous'))).toBe(`releases/${version}`);
    expect((await runEarshot(['version'], {}, bin)).stdout.trim()).toBe(`${version}-next`);
    let relay = await serve();
    await signIn(relay, alice);
    await relay.stop();

    await releaseCli('rollback');
    expect(readlinkSync(join(root, 'current'))).toBe(`releases/${version}`);
    expect((await runEarshot(['version'], {}, bin)).stdout.trim()).toBe(version);
    relay = await serve();
    await signIn(relay, alice);
    await relay.stop();
    expect(await releaseCli('list')).toMatch(new RegExp(`^${version.replaceAll('.', '\\.')} \\(current\\)$`, 'm'));
  }, TEST_DEADLINE_MS);

  it('rolling back past a release that moved the data schema on: the old release refuses clearly and changes nothing', async () => {
    // A fabricated future release with data schema 3 and a (no-op) migration to it from 2.
    const tarballC = repack(tarballA, '99.0.0', (js) => {
      const edited = js.replace(/\bDATA_SCHEMA_VERSION = 2;/, 'DATA_SCHEMA_VERSION = 3;').replace(/\bMIGRATIONS = \{/, 'MIGRATIONS = { 2: () => {},');
      expect(edited).toContain('DATA_SCHEMA_VERSION = 3;');
      expect(edited).toContain('MIGRATIONS = { 2: () => {},');
      return edited;
    });
    await releaseCli('install', tarballC);
    const relay = await serve();
    await signIn(relay, alice);
    await relay.stop();
    expect(JSON.parse(readFileSync(join(dataDir, 'earshot-data.json'), 'utf8'))).toMatchObject({ schema: 3, release: '99.0.0' });

    await releaseCli('rollback');
    expect((await runEarshot(['version'], {}, bin)).stdout.trim()).toBe(version);
    const users = readFileSync(join(dataDir, 'earshot.db'));
    const refused = await runEarshot(['serve'], { EARSHOT_DATA_DIR: dataDir, PORT: '0' }, bin);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain(`has schema 3 (written by Earshot 99.0.0), but this is Earshot ${version}`);
    expect(readFileSync(join(dataDir, 'earshot.db')).equals(users)).toBe(true);
    expect(JSON.parse(readFileSync(join(dataDir, 'earshot-data.json'), 'utf8'))).toMatchObject({ schema: 3 });

    // Forward again to the release that owns the data: it still works.
    await releaseCli('switch', '99.0.0');
    const again = await serve();
    await signIn(again, alice);
    await again.stop();
  }, TEST_DEADLINE_MS);
});
