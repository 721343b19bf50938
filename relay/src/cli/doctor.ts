// `earshot doctor`: checks, from the box itself, what an operator would otherwise find out from a user — the
// config, the data dir and its schema, the store (database integrity, users, tokens, secret, usage), the built PWA, the TLS
// files, the uWebSockets.js binding, and that PUBLIC_URL and the running relay answer /healthz.
// Each check is ok, warn (works, but read this) or fail; any fail makes the exit code 1.
import { X509Certificate, createPrivateKey } from 'node:crypto';
import { accessSync, constants, existsSync, readFileSync, statSync } from 'node:fs';
import { basename, join } from 'node:path';
import { parseArgs } from 'node:util';
import { buildReport } from '../accounts/report.ts';
import { SECRET_FILE } from '../auth/secret.ts';
import { isPostgresUrl, openStore } from '../store/open-store.ts';
import { SqliteStore, sqlitePath } from '../store/sqlite-store.ts';
import type { Store } from '../store/store.ts';
import { loadConfig, type RelayConfig } from '../config/config.ts';
import { readRunningRelayAddress } from '../data-dir/address-file.ts';
import { assertSchemaUsable, DATA_SCHEMA_VERSION, readSchemaFile } from '../data-dir/schema.ts';
import { assertNativeUws } from '../native-check.ts';
import { RELEASE_VERSION } from '../release.ts';
import { linkBase } from './link-base.ts';
import { resolveStaticDir } from './static-dir.ts';

export type Level = 'ok' | 'warn' | 'fail';

export interface Check {
  level: Level;
  check: string;
  detail: string;
}

const DAY_MS = 86_400_000;
const WARN_EXPIRY_DAYS = 14;

async function healthz(base: string): Promise<{ ok: true; detail: string } | { ok: false; detail: string }> {
  const url = `${base.replace(/\/+$/, '')}/healthz`;
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(5000) });
    const body = (await res.json().catch(() => null)) as { ok?: boolean; sessions?: number; backend?: string } | null;
    if (res.status === 200 && body?.ok === true) return { ok: true, detail: `${url} answers (backend ${body.backend ?? '?'}, ${body.sessions ?? 0} sessions)` };
    return { ok: false, detail: `${url} answered ${res.status}${body ? ` ${JSON.stringify(body)}` : ' (not the relay)'}` };
  } catch (err) {
    const cause = (err as { cause?: { code?: string; message?: string } }).cause;
    return { ok: false, detail: `${url} is unreachable from this machine: ${cause?.code ?? cause?.message ?? (err as Error).message}` };
  }
}

async function checkStore(config: RelayConfig, now: number): Promise<Check[]> {
  const checks: Check[] = [];
  const sqlite = !isPostgresUrl(config.databaseUrl);
  const dbPath = sqlitePath(config.dataDir);
  if (sqlite && !existsSync(dbPath)) {
    checks.push({ level: 'warn', check: 'store', detail: `no ${dbPath} yet: the relay creates it, and the user "owner", on its first start` });
  } else {
    let store: Store | undefined;
    try {
      // Read-only for SQLite: doctor never creates, migrates or locks the relay's database.
      store = sqlite ? await SqliteStore.open(config.dataDir, { readonly: true, busyTimeoutMs: 5_000 }) : await openStore({ dataDir: config.dataDir, databaseUrl: config.databaseUrl, role: 'cli' });
      if (store instanceof SqliteStore) {
        const integrity = store.integrityCheck();
        checks.push(integrity === 'ok' ? { level: 'ok', check: 'database', detail: `${dbPath}: integrity ok` } : { level: 'fail', check: 'database', detail: `${dbPath} is damaged (${integrity}); restore it from a backup` });
      }
      const users = await store.listUsers();
      const tokens = await store.listTokens();
      const enabled = new Map(users.map((u) => [u.id, u.enabled]));
      const active = tokens.filter((t) => t.revokedAt === undefined && t.expiresAt * 1000 > now && enabled.get(t.userId) !== false);
      checks.push({ level: 'ok', check: 'store', detail: `${store.kind} ${store.location}: ${users.length} users, ${tokens.length} tokens (${active.length} active, ${tokens.filter((t) => t.revokedAt).length} revoked)` });
      if (users.length > 0 && active.length === 0) checks.push({ level: 'warn', check: 'tokens', detail: 'no active token: nobody can sign in; run `earshot token create --user owner`' });
      for (const user of users) {
        if (!user.enabled) continue;
        const mine = active.filter((t) => t.userId === user.id);
        const last = Math.max(...mine.map((t) => t.expiresAt * 1000));
        if (mine.length > 0 && last - now < WARN_EXPIRY_DAYS * DAY_MS) {
          checks.push({ level: 'warn', check: 'tokens', detail: `every token of "${user.id}" expires by ${new Date(last).toISOString().slice(0, 10)}: run \`earshot token create --user ${user.id}\` and send the new link` });
        }
      }
      const report = await buildReport(store, {});
      checks.push({ level: 'ok', check: 'usage', detail: `${report.users.length} users with usage on ${report.days.length} days` });
    } catch (err) {
      checks.push({ level: 'fail', check: 'store', detail: `cannot read the store: ${(err as Error).message}` });
    } finally {
      await store?.close();
    }
  }
  const secretPath = join(config.dataDir, SECRET_FILE);
  if (existsSync(secretPath)) {
    const bytes = Buffer.from(readFileSync(secretPath, 'utf8').trim(), 'base64url');
    checks.push(bytes.length >= 32 ? { level: 'ok', check: 'secret', detail: `${SECRET_FILE} holds a ${bytes.length}-byte signing secret` } : { level: 'fail', check: 'secret', detail: `${secretPath} is damaged (${bytes.length} bytes): restore it, or delete it to rotate (every token stops working)` });
  }
  return checks;
}

function checkTls(config: RelayConfig, now: number): Check {
  if (!config.tlsCert || !config.tlsKey) return { level: 'ok', check: 'tls', detail: 'the relay serves plain HTTP (TLS is the proxy’s job, or set TLS_CERT/TLS_KEY)' };
  try {
    const cert = new X509Certificate(readFileSync(config.tlsCert));
    const key = createPrivateKey(readFileSync(config.tlsKey));
    if (!cert.checkPrivateKey(key)) return { level: 'fail', check: 'tls', detail: `${config.tlsKey} is not the key of ${config.tlsCert}` };
    const expires = Date.parse(cert.validTo);
    if (expires < now) return { level: 'fail', check: 'tls', detail: `${config.tlsCert} expired on ${cert.validTo}` };
    const level: Level = expires - now < WARN_EXPIRY_DAYS * DAY_MS ? 'warn' : 'ok';
    return { level, check: 'tls', detail: `${basename(config.tlsCert)} for ${cert.subjectAltName ?? cert.subject} valid until ${cert.validTo}` };
  } catch (err) {
    return { level: 'fail', check: 'tls', detail: `cannot use TLS_CERT/TLS_KEY: ${(err as Error).message}` };
  }
}

export async function runChecks(env: NodeJS.ProcessEnv = process.env, now = Date.now()): Promise<Check[]> {
  const checks: Check[] = [];
  const major = Number(process.versions.node.split('.')[0]);
  checks.push({ level: major === 20 ? 'ok' : 'warn', check: 'node', detail: `Node ${process.versions.node}${major === 20 ? '' : ' (Earshot is built and tested on Node 20)'}; Earshot ${RELEASE_VERSION}` });
  try {
    checks.push({ level: 'ok', check: 'uws', detail: `native binding ${basename(assertNativeUws())}` });
  } catch (err) {
    checks.push({ level: 'fail', check: 'uws', detail: (err as Error).message });
  }
  let config: RelayConfig;
  try {
    config = loadConfig(env);
    checks.push({ level: 'ok', check: 'config', detail: env.EARSHOT_CONFIG ? `${env.EARSHOT_CONFIG} + environment` : 'environment and defaults (no EARSHOT_CONFIG)' });
  } catch (err) {
    checks.push({ level: 'fail', check: 'config', detail: (err as Error).message });
    return checks;
  }

  if (!existsSync(config.dataDir)) {
    checks.push({ level: 'warn', check: 'data dir', detail: `${config.dataDir} does not exist yet: the relay creates it on its first start` });
  } else {
    try {
      accessSync(config.dataDir, constants.R_OK | constants.W_OK | constants.X_OK);
      const mode = statSync(config.dataDir).mode & 0o777;
      const open = (mode & 0o077) !== 0;
      checks.push({ level: open ? 'warn' : 'ok', check: 'data dir', detail: `${config.dataDir} (mode ${mode.toString(8)}${open ? ': other users can list it; chmod 700 it' : ''})` });
      const schema = readSchemaFile(config.dataDir);
      if (schema) assertSchemaUsable(config.dataDir, schema);
      checks.push({ level: 'ok', check: 'schema', detail: schema ? `data schema ${schema.schema} (this release: ${DATA_SCHEMA_VERSION})` : 'no schema file yet (written on the next start)' });
      checks.push(...(await checkStore(config, now)));
    } catch (err) {
      checks.push({ level: 'fail', check: 'data dir', detail: (err as Error).message });
    }
  }

  const staticDir = resolveStaticDir(config.staticDir);
  checks.push(existsSync(join(staticDir, 'index.html')) ? { level: 'ok', check: 'pwa', detail: `${staticDir}/index.html` } : { level: 'fail', check: 'pwa', detail: `no built app in ${staticDir}: run \`npm run build\`, or set STATIC_DIR` });
  checks.push(checkTls(config, now));

  const running = readRunningRelayAddress(config.dataDir);
  if (running) {
    const health = await healthz(running.url);
    checks.push({ level: health.ok ? 'ok' : 'fail', check: 'relay', detail: `pid ${running.pid}: ${health.detail}` });
  } else {
    checks.push({ level: 'warn', check: 'relay', detail: `no relay is running on ${config.dataDir} (start it: earshot serve, or systemctl start earshot)` });
  }
  const base = linkBase(config, running);
  if (config.publicUrl) {
    const health = await healthz(config.publicUrl);
    checks.push({ level: health.ok ? 'ok' : 'fail', check: 'public url', detail: health.ok ? health.detail : `${health.detail} — is the proxy running, and does the name resolve to this box?` });
  }
  if (base.warning) checks.push({ level: 'warn', check: 'links', detail: base.warning });
  return checks;
}

export async function main(argv: string[]): Promise<void> {
  const { values } = parseArgs({ args: argv, options: { json: { type: 'boolean', default: false } } });
  const checks = await runChecks();
  if (values.json) console.log(JSON.stringify(checks, null, 2));
  else for (const c of checks) console.log(`${c.level.toUpperCase().padEnd(4)}  ${c.check.padEnd(10)}  ${c.detail}`);
  const failed = checks.filter((c) => c.level === 'fail').length;
  if (!values.json) console.log(failed === 0 ? '\nearshot doctor: no problems that stop the relay' : `\nearshot doctor: ${failed} problem(s) to fix`);
  process.exitCode = failed === 0 ? 0 : 1;
}
