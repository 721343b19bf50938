// The operator's `earshot` command as built (dist/relay/earshot.js), run in real processes: --help everywhere,
// the relay's config resolution (EARSHOT_CONFIG), first-run links on the real port, and doctor's failures.
// Each step starts Node at least once (seconds on a loaded machine): deadlines are minutes.
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { buildEarshot, runEarshot, spawnEarshotServe } from '../testing/built-earshot.ts';
import { tempDataDir, type RelayProcess } from '../testing/start-relay.ts';
import { until } from '../testing/until.ts';

const COMMANDS = ['serve', 'token', 'users', 'usage', 'admin', 'backup', 'restore', 'store', 'doctor', 'version'];
const started: RelayProcess[] = [];
afterAll(async () => {
  for (const r of started) await r.stop();
});

describe('earshot --help', () => {
  it('lists every command, and every command answers --help (and -h) with its usage, exit 0', async () => {
    buildEarshot();
    const top = await runEarshot(['--help'], {});
    expect(top.code).toBe(0);
    for (const name of COMMANDS) expect(top.stdout).toMatch(new RegExp(`^  ${name} `, 'm'));
    const asks = COMMANDS.flatMap((name) => ['--help', '-h'].map((flag) => [name, ...(name === 'token' ? ['create'] : []), flag]));
    for (const args of asks) {
      const r = await runEarshot(args, {});
      expect(r.code, args.join(' ')).toBe(0);
      expect(r.stdout, args.join(' ')).toMatch(new RegExp(`^usage: earshot ${args[0]}`));
    }
  }, 600_000);

  it('answers an unknown command or flag with a sentence and the usage, exit 1', async () => {
    const unknown = await runEarshot(['frobnicate'], {});
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain('unknown command "frobnicate"');
    const flag = await runEarshot(['backup', '--frob', 'x.tgz'], {});
    expect(flag.code).toBe(1);
    expect(flag.stderr).toMatch(/Unknown option '--frob'[\s\S]*usage: earshot backup/);
  }, 180_000);
});

describe('configuration', () => {
  it('reads EARSHOT_CONFIG like the relay: users and tokens land in the data dir the config file names', async () => {
    const dir = tempDataDir();
    const dataDir = join(dir, 'from-config');
    const configFile = join(dir, 'config.json');
    writeFileSync(configFile, JSON.stringify({ dataDir, publicUrl: 'https://earshot.example.com' }));
    expect((await runEarshot(['users', 'add', 'alice'], { EARSHOT_CONFIG: configFile })).code).toBe(0);
    const created = await runEarshot(['token', 'create', '--user', 'alice', '--json'], { EARSHOT_CONFIG: configFile });
    expect((JSON.parse(created.stdout) as { link: string }).link).toMatch(/^https:\/\/earshot\.example\.com\/#token=/);
    expect(created.stderr).toBe('');
    const db = new Database(join(dataDir, 'earshot.db'), { readonly: true });
    expect(db.prepare('SELECT id FROM users').all()).toEqual([{ id: 'alice' }]);
    db.close();
  }, 180_000);

  it('refuses an invalid config file with the key named, as the relay does', async () => {
    const dir = tempDataDir();
    writeFileSync(join(dir, 'config.json'), JSON.stringify({ port: 'eighty' }));
    const r = await runEarshot(['users', 'list'], { EARSHOT_CONFIG: join(dir, 'config.json') });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/port/);
  }, 180_000);
});

describe('first run', () => {
  it('writes the owner’s link with the real port, warns that a phone cannot open loopback, and the token lasts a year', async () => {
    const dataDir = join(tempDataDir(), 'data');
    const relay = await spawnEarshotServe({ EARSHOT_DATA_DIR: dataDir, PORT: '0' });
    started.push(relay);
    // Written just after the relay logs `listening`.
    const link = (await until('the first-run link file', () => (existsSync(join(dataDir, 'first-run-link.txt')) ? readFileSync(join(dataDir, 'first-run-link.txt'), 'utf8') : ''))).trim();
    await until('the first-run log line', () => relay.lines.some((l) => l.includes('first run')));
    expect(link.startsWith(`http://127.0.0.1:${relay.port}/#token=`)).toBe(true);
    const firstRun = relay.lines.map((l) => JSON.parse(l) as { msg: string; expires?: string }).find((e) => e.msg.startsWith('first run'))!;
    expect(firstRun.msg).toContain('a phone cannot');
    expect(firstRun.msg).not.toContain('on your phone');
    const days = (Date.parse(firstRun.expires!) - Date.now()) / 86_400_000;
    expect(days).toBeGreaterThan(360);
    const tokens = JSON.parse((await runEarshot(['token', 'list', '--json'], { EARSHOT_DATA_DIR: dataDir })).stdout) as Array<{ userId: string; expiresAt: number }>;
    expect(tokens.map((t) => t.userId)).toEqual(['owner']);
  }, 180_000);
});

describe('earshot doctor', () => {
  it('fails, naming each problem, on a TLS key that is not the certificate’s and an unreachable PUBLIC_URL', async () => {
    const dir = tempDataDir();
    const pem = (name: string) => {
      execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', join(dir, `${name}.key`), '-out', join(dir, `${name}.pem`), '-days', '2', '-subj', '/CN=localhost'], { stdio: 'ignore' });
    };
    pem('a');
    pem('b');
    const r = await runEarshot(['doctor'], { EARSHOT_DATA_DIR: join(dir, 'data'), TLS_CERT: join(dir, 'a.pem'), TLS_KEY: join(dir, 'b.key'), PUBLIC_URL: 'http://127.0.0.1:9/' });
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/^FAIL +tls +.*b\.key is not the key of/m);
    expect(r.stdout).toMatch(/^FAIL +public url +http:\/\/127\.0\.0\.1:9\/healthz is unreachable from this machine/m);
    expect(r.stdout).toMatch(/^WARN +data dir +.* does not exist yet/m);
  }, 180_000);
});
