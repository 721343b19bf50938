// `earshot serve` / `npm start` / `npm run serve`: checks the platform, loads the config, opens the data dir
// (refusing one a newer release wrote), starts the relay, and drains on SIGTERM/SIGINT (stop accepting,
// /healthz 503, close sessions with 1001, flush, exit 0).
import { basename } from 'node:path';
import { openDataDir } from './data-dir/schema.ts';
import { removeRelayAddress, writeRelayAddress } from './data-dir/address-file.ts';
import { linkBase } from './cli/link-base.ts';
import { resolveStaticDir } from './cli/static-dir.ts';
import { startedAsScript } from './cli/started-as-script.ts';
import { RELEASE_VERSION } from './release.ts';
import { assertNativeUws } from './native-check.ts';
import { ConfigError, backendOf, loadConfig, PROVIDER_URL } from './config/config.ts';
import { log } from './log.ts';
import { startRelay } from './server.ts';
import { createAccounting } from './accounts/accounting.ts';
import { ensureFirstUser } from './cli/first-run.ts';
import { openStore } from './store/open-store.ts';
import { StoreError, type Store } from './store/store.ts';

export async function main(): Promise<void> {
  let config;
  let uwsBinding: string;
  try {
    uwsBinding = assertNativeUws();
    config = loadConfig();
    config.staticDir = resolveStaticDir(config.staticDir);
    openDataDir(config.dataDir);
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    log.fatal({ err: message }, err instanceof ConfigError ? 'invalid configuration' : 'refusing to start');
    console.error(`\nEarshot relay cannot start:\n${message}\n`);
    process.exit(2);
  }
  let store: Store;
  let relay: Awaited<ReturnType<typeof startRelay>>;
  let accounting: Awaited<ReturnType<typeof createAccounting>>;
  try {
    store = await openStore({ dataDir: config.dataDir, databaseUrl: config.databaseUrl, role: 'relay' });
    accounting = await createAccounting({ store, log });
    relay = await startRelay(config, {
      store,
      hooksFactory: accounting.hooksFactory,
      quotaExceeded: (userId, user) => accounting.quotaExceeded(userId, user),
    });
  } catch (err) {
    // A damaged or unreachable database: the operator gets the sentence naming it and what to do, not a stack.
    if (!(err instanceof StoreError)) throw err;
    log.fatal({ err: err.message }, 'refusing to start');
    console.error(`\nEarshot relay cannot start:\n${err.message}\n`);
    process.exit(2);
  }
  // The relay creates the metrics; accounting adds per-user counters to them.
  accounting.attach({ metrics: relay.metrics });
  const backend = backendOf(config);
  log.info(
    {
      url: relay.url,
      backend,
      upstream: backend === 'simulator' ? 'in-process simulator' : (config.upstreamUrl ?? PROVIDER_URL),
      staticDir: config.staticDir,
      dataDir: config.dataDir,
      store: `${store.kind} ${store.location}`,
      release: RELEASE_VERSION,
      // Said once at startup so an operator can see the fast path is in use (the check above refuses the shim).
      uws: `native (${basename(uwsBinding)})`,
    },
    'listening',
  );
  if (backend === 'simulator') log.info('no OPENAI_API_KEY: talking to the built-in simulator (your speech is echoed back)');
  writeRelayAddress(config.dataDir, relay.url);
  await ensureFirstUser(store, config.dataDir, relay.secret, linkBase(config, { url: relay.url }));

  let stopping = false;
  const stop = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'draining');
    void relay
      .close()
      .then(() => accounting.close())
      .then(() => store.close())
      .then(() => {
        removeRelayAddress(config.dataDir);
        log.info('stopped');
        process.exit(0);
      });
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

// `npm run serve` and tests start this file; the built `earshot serve` calls main() itself.
if (startedAsScript(import.meta.url)) await main();
