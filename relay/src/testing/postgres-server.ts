// A real PostgreSQL server for tests and benchmarks: Debian's `postgresql` binaries (or any `initdb` on PATH,
// or PG_BIN), a cluster in a temp dir, listening on a free loopback port and on a unix socket in that dir,
// stopped and removed on `stop()`.
//
// Start-up cost: `initdb` takes ~2 s, so it runs once per machine into a template cluster (kept in the temp
// dir, keyed by PostgreSQL version and user, made by rename so racing test files never see half of one);
// every server is a copy of it (~0.2 s) plus `pg_ctl start` (~0.2 s). Each server is one test file's; a file
// that wants isolation per test asks for a fresh database with `createDatabase()`.
//
// Root (CI): PostgreSQL refuses to run as root, so the cluster belongs to the `postgres` user the Debian
// package creates (or a system user `earshot-pg`, created if neither exists) and every server command runs
// through `runuser`. As any other user, the commands run as that user.
import { execFile, execFileSync } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { freePort } from './free-port.ts';

const exec = promisify(execFile);

/** The superuser role every test cluster has (initdb -U); trust auth on loopback and the socket, as tests need no passwords. */
export const PG_TEST_ROLE = 'earshot';

export interface PostgresServer {
  /** `postgres://earshot@127.0.0.1:<port>/postgres` */
  url: string;
  port: number;
  /** The unix socket directory (also the cluster's parent dir). */
  socketDir: string;
  /** A new empty database; returns its URL. */
  createDatabase(name?: string): Promise<string>;
  /** Runs one SQL statement through `psql` (an independent client: tests judge the store with it). */
  psql(databaseUrl: string, sql: string): Promise<string>;
  /** Stops the server (fast shutdown: connections are cut, as when the database goes away) and keeps its files. */
  halt(): Promise<void>;
  /** Starts it again on the same port after `halt()`. */
  resume(): Promise<void>;
  /** Stops it and removes every file. Safe to call twice. */
  stop(): Promise<void>;
}

export interface PostgresServerOptions {
  /** fsync and synchronous commit on (benchmarks measuring commit latency); tests run without them. */
  durable?: boolean;
}

function binDir(): string {
  if (process.env.PG_BIN) return process.env.PG_BIN;
  const root = '/usr/lib/postgresql';
  if (existsSync(root)) {
    const versions = readdirSync(root)
      .filter((v) => existsSync(join(root, v, 'bin/initdb')))
      .sort((a, b) => Number(b) - Number(a));
    if (versions[0]) return join(root, versions[0], 'bin');
  }
  try {
    return execFileSync('pg_config', ['--bindir'], { encoding: 'utf8' }).trim();
  } catch {
    throw new Error('PostgreSQL server binaries not found: install Debian\'s `postgresql` (.ci/run does), or set PG_BIN to the directory holding initdb and pg_ctl.');
  }
}

/** The unprivileged account the server runs as when we are root; undefined when we are not root. */
function serverAccount(): string | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const exists = (name: string): boolean => {
    try {
      execFileSync('id', ['-u', name], { stdio: 'ignore' });
      return true;
    } catch {
      return false;
    }
  };
  if (exists('postgres')) return 'postgres';
  if (!exists('earshot-pg')) execFileSync('useradd', ['--system', '--no-create-home', '--shell', '/usr/sbin/nologin', 'earshot-pg']);
  return 'earshot-pg';
}

function ownTo(path: string, account: string | undefined): void {
  if (!account) return;
  const uid = Number(execFileSync('id', ['-u', account], { encoding: 'utf8' }).trim());
  const gid = Number(execFileSync('id', ['-g', account], { encoding: 'utf8' }).trim());
  chownSync(path, uid, gid);
}

async function run(bin: string, account: string | undefined, tool: string, args: string[]): Promise<string> {
  const [file, argv] = account ? ['runuser', ['-u', account, '--', join(bin, tool), ...args]] : [join(bin, tool), args];
  try {
    const { stdout } = await exec(file, argv, { encoding: 'utf8', timeout: 60_000 });
    return stdout;
  } catch (err) {
    const e = err as { stderr?: string; stdout?: string; message: string };
    throw new Error(`${tool} ${args.join(' ')} failed: ${e.stderr || e.stdout || e.message}`, { cause: err });
  }
}

/** The initdb'd template for this PostgreSQL version and account, made once (atomically) and reused. */
async function template(bin: string, account: string | undefined): Promise<string> {
  const version = (await run(bin, undefined, 'postgres', ['--version'])).trim().replace(/\D+/g, '.');
  const path = join(tmpdir(), `earshot-pg-template-${version}-${account ?? process.getuid?.() ?? 'user'}`);
  if (existsSync(join(path, 'PG_VERSION'))) return path;
  const work = mkdtempSync(`${path}.tmp-`);
  ownTo(work, account);
  const data = join(work, 'data');
  await run(bin, account, 'initdb', ['-D', data, '-U', PG_TEST_ROLE, '-A', 'trust', '-E', 'UTF8', '--locale=C.UTF-8', '--no-sync', '--no-instructions']);
  try {
    renameSync(data, path);
  } catch {
    // Another test file made it first: use theirs.
  }
  rmSync(work, { recursive: true, force: true });
  return path;
}

export async function startPostgres(options: PostgresServerOptions = {}): Promise<PostgresServer> {
  const bin = binDir();
  const account = serverAccount();
  const source = await template(bin, account);
  const dir = mkdtempSync(join(tmpdir(), 'earshot-pg-'));
  ownTo(dir, account);
  const data = join(dir, 'data');
  await exec('cp', ['-a', source, data]);
  const port = await freePort();
  const settings = [
    `-p ${port}`,
    `-k ${dir}`,
    '-c listen_addresses=127.0.0.1',
    '-c max_connections=300',
    // Tests end servers by stopping them: no point making every commit wait for the disk.
    ...(options.durable ? [] : ['-c fsync=off', '-c synchronous_commit=off', '-c full_page_writes=off']),
  ].join(' ');
  const ctl = (args: string[]): Promise<string> => run(bin, account, 'pg_ctl', ['-D', data, ...args]);
  const start = async (): Promise<void> => {
    try {
      await ctl(['-o', settings, '-l', join(dir, 'server.log'), '-w', '-t', '60', 'start']);
    } catch (err) {
      let logText = '';
      try {
        logText = readFileSync(join(dir, 'server.log'), 'utf8');
      } catch {
        // no log yet
      }
      throw new Error(`${(err as Error).message}\nserver log:\n${logText}`, { cause: err });
    }
  };
  await start();
  const base = `postgres://${PG_TEST_ROLE}@127.0.0.1:${port}`;
  let running = true;
  let removed = false;
  let databases = 0;
  const psql = async (databaseUrl: string, sql: string): Promise<string> => {
    const { stdout } = await exec(join(bin, 'psql'), ['-X', '-q', '-A', '-t', '-v', 'ON_ERROR_STOP=1', '-d', databaseUrl, '-c', sql], { encoding: 'utf8', timeout: 60_000 });
    return stdout.trim();
  };
  return {
    url: `${base}/postgres`,
    port,
    socketDir: dir,
    async createDatabase(name = `t${process.pid}_${++databases}`) {
      await psql(`${base}/postgres`, `CREATE DATABASE "${name}"`);
      return `${base}/${name}`;
    },
    psql,
    async halt() {
      if (!running) return;
      running = false;
      await ctl(['-m', 'fast', '-w', 'stop']);
    },
    async resume() {
      if (running) return;
      await start();
      running = true;
    },
    async stop() {
      if (removed) return;
      removed = true;
      if (running) {
        running = false;
        try {
          await ctl(['-m', 'immediate', '-w', 'stop']);
        } catch {
          // Already gone: remove the files anyway.
        }
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
