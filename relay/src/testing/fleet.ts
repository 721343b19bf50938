// A fleet for tests: several relay PROCESSES (relay/src/main.ts) sharing one PostgreSQL database, behind nginx
// configured from deploy/nginx-fleet.conf (plain HTTP on loopback instead of TLS). Each relay has its own data
// dir holding the same secret.key, as the README's "More than one relay" says; `cli()` runs the operator CLIs
// against the same database, as an operator on any host would.
import { execFile, execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { copyFileSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { SECRET_FILE } from '../auth/secret.ts';
import { freePort } from './free-port.ts';
import { REPO_ROOT, spawnRelayProcess, tempDataDir, type RelayProcess } from './start-relay.ts';
import { until } from './until.ts';

const exec = promisify(execFile);

export interface Fleet {
  databaseUrl: string;
  relays: RelayProcess[];
  dataDirs: string[];
  /** ws://127.0.0.1:<nginx>/v1/realtime?model=gpt-realtime */
  wsUrl: string;
  /** http://127.0.0.1:<nginx> */
  url: string;
  /** An operator CLI (`earshot users|token|usage …`) on the fleet's database; never throws on a non-zero exit. */
  cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }>;
  /** A fresh token for `userId` (created with the CLI's defaults unless it exists). */
  mint(userId: string): Promise<string>;
  stop(): Promise<void>;
}

export interface FleetOptions {
  databaseUrl: string;
  relays?: number;
  /** Extra environment for every relay (e.g. EARSHOT_FEED_POLL_MS). */
  env?: Record<string, string>;
}

export async function startFleet(options: FleetOptions): Promise<Fleet> {
  const count = options.relays ?? 2;
  const dataDirs = Array.from({ length: count }, () => tempDataDir('earshot-fleet-relay-'));
  const env = (dir: string): Record<string, string> => ({ DATABASE_URL: options.databaseUrl, EARSHOT_DATA_DIR: dir, TRUSTED_PROXIES: '127.0.0.1', LOG_LEVEL: 'info', ...options.env });
  const relays: RelayProcess[] = [];
  let nginx: ChildProcess | undefined;
  const nginxDir = tempDataDir('earshot-fleet-nginx-');
  const cli = async (args: string[]) => {
    try {
      const { stdout, stderr } = await exec(process.execPath, ['--import', 'tsx', join(REPO_ROOT, 'relay/src/cli/earshot.ts'), ...args], {
        cwd: REPO_ROOT,
        env: { PATH: process.env.PATH ?? '', ...env(dataDirs[0]!) },
        // Eight CLI start-ups at once on a shared two-core machine can take a while.
        timeout: 240_000,
      });
      return { code: 0, stdout, stderr };
    } catch (err) {
      const e = err as { code?: number; stdout?: string; stderr?: string };
      if (typeof e.code !== 'number') throw err;
      return { code: e.code, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
    }
  };
  const stop = async () => {
    nginx?.kill('SIGQUIT');
    await Promise.all(relays.map((r) => r.stop('SIGKILL')));
    for (const dir of [...dataDirs, nginxDir]) rmSync(dir, { recursive: true, force: true });
  };
  try {
    // The first relay makes the signing secret (and migrates the database); the others start with a copy of it.
    relays.push(await spawnRelayProcess(env(dataDirs[0]!), { timeoutMs: 60_000 }));
    for (const dir of dataDirs.slice(1)) copyFileSync(join(dataDirs[0]!, SECRET_FILE), join(dir, SECRET_FILE));
    relays.push(...(await Promise.all(dataDirs.slice(1).map((dir) => spawnRelayProcess(env(dir), { timeoutMs: 60_000 })))));

    for (const sub of ['logs', 'tmp']) mkdirSync(join(nginxDir, sub));
    const port = await freePort();
    const example = readFileSync(join(REPO_ROOT, 'deploy/nginx-fleet.conf'), 'utf8');
    const upstreams = relays.map((r) => `    server 127.0.0.1:${r.port} max_fails=2 fail_timeout=10s;`).join('\n');
    const site = example
      .replace(/upstream earshot_relays \{[\s\S]*?\n\}/, `upstream earshot_relays {\n    least_conn;\n${upstreams}\n}`)
      .replace(/server \{\n    listen 443 ssl http2;[\s\S]*?ssl_certificate_key [^\n]*\n/, `server {\n    listen 127.0.0.1:${port};\n`)
      .replace(/server \{\n    listen 80;[\s\S]*?\n\}\n/, '');
    if (!site.includes(`127.0.0.1:${relays[0]!.port}`) || site.includes('ssl_certificate')) throw new Error(`deploy/nginx-fleet.conf changed shape; the fleet test could not adapt it:\n${site}`);
    writeFileSync(join(nginxDir, 'site.conf'), site);
    writeFileSync(
      join(nginxDir, 'nginx.conf'),
      `worker_processes 1;\npid ${nginxDir}/nginx.pid;\nerror_log ${nginxDir}/logs/error.log;\nevents {}\nhttp {\n access_log off;\n client_body_temp_path ${nginxDir}/tmp/body;\n proxy_temp_path ${nginxDir}/tmp/proxy;\n fastcgi_temp_path ${nginxDir}/tmp/fcgi;\n uwsgi_temp_path ${nginxDir}/tmp/uwsgi;\n scgi_temp_path ${nginxDir}/tmp/scgi;\n include ${nginxDir}/site.conf;\n}\n`,
    );
    execFileSync('nginx', ['-t', '-p', nginxDir, '-c', join(nginxDir, 'nginx.conf')], { stdio: 'pipe' });
    nginx = spawn('nginx', ['-p', nginxDir, '-c', join(nginxDir, 'nginx.conf'), '-g', 'daemon off;'], { stdio: 'ignore' });
    const url = `http://127.0.0.1:${port}`;
    await until('nginx to proxy /healthz', async () => (await fetch(`${url}/healthz`).catch(() => null))?.status === 200, 30_000, 100);
    return {
      databaseUrl: options.databaseUrl,
      relays,
      dataDirs,
      url,
      wsUrl: `ws://127.0.0.1:${port}/v1/realtime?model=gpt-realtime`,
      cli,
      async mint(userId) {
        const r = await cli(['token', 'create', '--user', userId, '--json']);
        if (r.code !== 0) throw new Error(`token create failed: ${r.stderr}`);
        return (JSON.parse(r.stdout) as { token: string }).token;
      },
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}
