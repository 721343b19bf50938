// `npm start` / `npm run serve`: checks the platform, loads the config, starts the relay, and drains on
// SIGTERM/SIGINT (stop accepting, /healthz 503, close sessions with 1001, flush, exit 0).
import { basename } from 'node:path';
import { assertNativeUws } from './native-check.ts';
import { ConfigError, backendOf, loadConfig, PROVIDER_URL } from './config/config.ts';
import { log } from './log.ts';
import { startRelay } from './server.ts';
import { createAccounting } from './accounts/accounting.ts';
import { ensureFirstUser } from './cli/first-run.ts';
import { StoreError } from './auth/store.ts';

async function main(): Promise<void> {
  let config;
  let uwsBinding: string;
  try {
    uwsBinding = assertNativeUws();
    config = loadConfig();
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    log.fatal({ err: message }, err instanceof ConfigError ? 'invalid configuration' : 'refusing to start');
    console.error(`\nEarshot relay cannot start:\n${message}\n`);
    process.exit(2);
  }
  const accounting = await createAccounting({ dataDir: config.dataDir, log });
  let relay: Awaited<ReturnType<typeof startRelay>>;
  try {
    relay = await startRelay(config, {
      hooksFactory: accounting.hooksFactory,
      quotaExceeded: (userId) => accounting.quotaExceeded(userId, relay.store.getUser(userId)),
    });
  } catch (err) {
    // A damaged users.json: the operator gets the sentence naming the file and what to do, not a stack.
    if (!(err instanceof StoreError)) throw err;
    log.fatal({ err: err.message }, 'refusing to start');
    console.error(`\nEarshot relay cannot start:\n${err.message}\n`);
    process.exit(2);
  }
  // The relay opens the user store and metrics; accounting reads quotas from one and adds per-user counters to the other.
  accounting.attach({ store: relay.store, metrics: relay.metrics });
  const backend = backendOf(config);
  log.info(
    {
      url: relay.url,
      backend,
      upstream: backend === 'simulator' ? 'in-process simulator' : (config.upstreamUrl ?? PROVIDER_URL),
      staticDir: config.staticDir,
      dataDir: config.dataDir,
      // Said once at startup so an operator can see the fast path is in use (the check above refuses the shim).
      uws: `native (${basename(uwsBinding)})`,
    },
    'listening',
  );
  if (backend === 'simulator') log.info('no OPENAI_API_KEY: talking to the built-in simulator (your speech is echoed back)');
  await ensureFirstUser(relay.store, relay.secret, config.publicUrl ?? relay.url);

  let stopping = false;
  const stop = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'draining');
    void relay
      .close()
      .then(() => accounting.close())
      .then(() => {
        log.info('stopped');
        process.exit(0);
      });
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

await main();
