// The relay: a uWS app serving the Realtime endpoint (auth in `upgrade`, before any upstream is opened),
// the token check the PWA uses, health, metrics and the built PWA.
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import uWS from 'uWebSockets.js';
import { CloseCode } from '../../protocol/close-codes.ts';
import type { SessionCheckBody } from '../../protocol/relay-http.ts';
import { hasAdminCookie } from './admin/admin-auth.ts';
import { mountAdminConsole } from './admin/routes.ts';
import { Authenticator, reject, type Refusal } from './auth/authenticator.ts';
import { FailedAttemptLimiter } from './auth/limiter.ts';
import { loadOrCreateSecret } from './auth/secret.ts';
import { Directory } from './store/directory.ts';
import { openStore } from './store/open-store.ts';
import { StoreError, type Store, type UserRecord } from './store/store.ts';
import { createSessionLeases } from './store/session-leases.ts';
import { startRetention } from './store/retention.ts';
import { watchLiveAccess } from './auth/live-access.ts';
import { backendOf, PROVIDER_URL, type RelayConfig } from './config/config.ts';
import { clientAddress, TrustedProxies } from './http/client-address.ts';
import { createMetrics, type Metrics } from './http/metrics.ts';
import { checkMetricsAccess, metricsAccess, type MetricsAccess } from './http/metrics-access.ts';
import { API_HEADERS, STATIC_HEADERS, writeHeaders } from './http/security-headers.ts';
import { STATUS_LINES } from './http/status-lines.ts';
import { createStaticSite } from './http/static-site.ts';
import { log as rootLog, type Logger } from './log.ts';
import { clientPolicyView, initialSessionUpdate } from './policy/session-policy.ts';
import { initialTranscriptionUpdate } from './policy/transcription-policy.ts';
import { APP_SUBPROTOCOL } from '../../protocol/app-link.ts';
import { AppLinkHub } from './app-link/hub.ts';
import { appLinkOffer } from './app-link/offer.ts';
import { RelaySession, type ConnData } from './session/bridge.ts';
import { uwsClientSide, type ClientSide } from './session/client-side.ts';
import { noHooks, type SessionHooksFactory } from './session/hooks.ts';
import { frameFeaturesFromEnv } from './session/frame-features.ts';
import { createSimulatorUpstreamFactory } from './simulator/in-process.ts';
import type { UpstreamFactory } from './upstream/upstream.ts';
import { createWsUpstreamFactory } from './upstream/ws-upstream.ts';

export interface RelayDeps {
  upstreamFactory?: UpstreamFactory;
  hooksFactory?: SessionHooksFactory;
  /** May throw a StoreError when quotas cannot be checked (the upgrade is refused with store_unavailable). */
  quotaExceeded?: (userId: string, user: UserRecord) => boolean | Promise<boolean>;
  /** When an exhausted quota comes back (epoch ms), sent with the refusal so the app can say "until HH:MM". */
  quotaRenewsAt?: (userId: string, user: UserRecord) => number | null | Promise<number | null>;
  /** An open store to use (the caller closes it); without one the relay opens its own from the config and closes it. */
  store?: Store;
  log?: Logger;
  /** The clock live enforcement reads (token expiry); tests pass a controlled one. */
  now?: () => number;
}

export interface Relay {
  port: number;
  /** The metrics-only listener's port, when `metricsPort` is set. */
  metricsPort?: number;
  /** `http(s)://host:port` */
  url: string;
  store: Store;
  /** Users and tokens as of the store's change feed (read synchronously by live enforcement). */
  directory: Directory;
  secret: Uint8Array;
  metrics: Metrics;
  sessions(): ReadonlyMap<string, RelaySession>;
  /** Re-checks every live session's access now, as the half-second tick does (tests drive it). */
  sweepAccess(): void;
  /** App links (`earshot.v2`): resume registry and Opus pool. */
  appLinks: AppLinkHub;
  /** Stop accepting, answer /healthz with 503, close sessions with 1001, release the port. */
  close(): Promise<void>;
}

export function defaultUpstreamFactory(config: RelayConfig): UpstreamFactory {
  if (backendOf(config) === 'simulator') {
    return createSimulatorUpstreamFactory({ pitchShift: config.simulator.pitchShift, ...(config.simulator.maxSessionMs ? { maxSessionMs: config.simulator.maxSessionMs } : {}) });
  }
  return createWsUpstreamFactory({
    url: config.upstreamUrl ?? PROVIDER_URL,
    ...(config.openaiApiKey ? { apiKey: config.openaiApiKey } : {}),
    authHeader: config.upstreamAuthHeader,
    connectTimeoutMs: config.upstreamConnectTimeoutMs,
  });
}

function text(ab: ArrayBuffer): string {
  return Buffer.from(ab).toString();
}


/** A refusal as JSON with the API headers (call outside `cork`; the response must still be alive). */
function writeRefusal(res: uWS.HttpResponse, refusal: Refusal): void {
  res.cork(() => {
    res.writeStatus(STATUS_LINES[refusal.status]).writeHeader('content-type', 'application/json');
    writeHeaders(res, API_HEADERS);
    if (refusal.status === 429) res.writeHeader('retry-after', '60');
    if (refusal.body.error.code === 'metrics_unauthorized') res.writeHeader('www-authenticate', 'Bearer');
    res.end(JSON.stringify(refusal.body));
  });
}

/** Serves /metrics on `app` under `access` (the main port and the optional metrics-only listener share this). */
function routeMetrics(app: uWS.TemplatedApp, metrics: Metrics, access: MetricsAccess): void {
  app.get('/metrics', (res, req) => {
    const verdict = checkMetricsAccess(access, req.getHeader('authorization'));
    if (verdict !== 'ok') {
      writeRefusal(res, reject(verdict === 'off' ? 'not_found' : 'metrics_unauthorized'));
      return;
    }
    // MUST register onAborted before the await.
    let aborted = false;
    res.onAborted(() => {
      aborted = true;
    });
    void metrics.render().then((body) => {
      if (aborted) return;
      res.cork(() => {
        res.writeHeader('content-type', metrics.registry.contentType);
        writeHeaders(res, API_HEADERS);
        res.end(body);
      });
    });
  });
}

export async function startRelay(config: RelayConfig, deps: RelayDeps = {}): Promise<Relay> {
  const log = deps.log ?? rootLog;
  const ownsStore = deps.store === undefined;
  const store = deps.store ?? (await openStore({ dataDir: config.dataDir, databaseUrl: config.databaseUrl, role: 'relay' }));
  const directory = await Directory.open(store, log);
  const secret = await loadOrCreateSecret(config.dataDir);
  const metrics = createMetrics({ perUser: config.perUserMetrics, defaults: true, eventLoop: true });
  const site = createStaticSite(config.staticDir);
  if (site.fileCount === 0) log.warn({ staticDir: config.staticDir }, 'no PWA build found: run `npm run build` (the relay still serves the API)');
  const upstreamFactory = deps.upstreamFactory ?? defaultUpstreamFactory(config);
  const hooksFactory = deps.hooksFactory ?? noHooks;
  // Benchmark builds only (issue 17): per-frame steps switched off to price them. Read once, here.
  const features = frameFeaturesFromEnv(process.env.EARSHOT_BENCH_OFF);
  if (process.env.EARSHOT_BENCH_OFF) log.warn({ off: process.env.EARSHOT_BENCH_OFF }, 'EARSHOT_BENCH_OFF: per-frame checks switched off for a benchmark; never run a real relay like this');
  const sessions = new Map<string, RelaySession>();
  /** Sessions per user, counted from an accepted auth (before open) so two racing upgrades cannot both pass. */
  const perUser = new Map<string, number>();
  const trustedProxies = new TrustedProxies(config.trustedProxies);
  let warnedUntrustedProxy = false;
  /** The client's address for throttling and logs; `req` MUST still be valid (read before any await). */
  const addressOf = (res: uWS.HttpResponse, req: uWS.HttpRequest): string => {
    const peer = text(res.getRemoteAddressAsText());
    const headers = { xForwardedFor: req.getHeader('x-forwarded-for'), forwarded: req.getHeader('forwarded') };
    const address = clientAddress(peer, headers, trustedProxies);
    // A proxy on this host that is not trusted: every client shares its address (the lock-out of issue 11).
    if (!warnedUntrustedProxy && headers.xForwardedFor !== '' && (address === '127.0.0.1' || address === '::1') && !trustedProxies.trusts(address)) {
      warnedUntrustedProxy = true;
      log.warn({ peer }, 'requests carry X-Forwarded-For from a peer not in TRUSTED_PROXIES: failed sign-ins are counted per that peer (set TRUSTED_PROXIES to your proxy)');
    }
    return address;
  };
  const limiter = new FailedAttemptLimiter({ maxFailures: config.limits.failedAuthPerMinute, windowMs: 60_000, blockMs: 60_000 });
  const authenticator = new Authenticator({
    store,
    directory,
    secret,
    limiter,
    allowedOrigins: config.allowedOrigins,
    allowedModels: config.allowedModels,
    liveSessions: (userId) => perUser.get(userId) ?? 0,
    ...(deps.quotaExceeded ? { quotaExceeded: deps.quotaExceeded } : {}),
    ...(deps.quotaRenewsAt ? { quotaRenewsAt: deps.quotaRenewsAt } : {}),
  });
  let draining = false;

  const releaseLocal = (userId: string): void => {
    const n = (perUser.get(userId) ?? 1) - 1;
    if (n <= 0) perUser.delete(userId);
    else perUser.set(userId, n);
  };
  // The seat in the STORE (store/session-leases.ts): what holds max-sessions across every relay sharing it.
  const relayId = `${hostname()}/${process.pid}/${randomUUID().slice(0, 8)}`;
  const leases = createSessionLeases({ store, relayId, log });
  const release = (info: { sessionId: string; userId: string }): void => {
    releaseLocal(info.userId);
    leases.release(info.sessionId);
  };

  // Revocation, removal, a disabled user, a lowered max-sessions and token expiry end live sessions (auth/live-access.ts).
  // A lowered max-sessions is counted in the store's leases (every relay's sessions), not just here.
  const liveAccess = watchLiveAccess({ directory, sessions: () => sessions.values(), seatOrder: (userId, t) => store.seatOrder(userId, t), log, ...(deps.now ? { now: deps.now } : {}) });
  // Old raw usage records and feed rows every relay has read are pruned off the frame path (store/retention.ts).
  const retention = startRetention({ store, relayId, position: () => directory.changeId, log, ...config.retention });

  const openSession = (client: ClientSide, data: ConnData): RelaySession => {
    const session = new RelaySession(client, data, {
      config,
      metrics,
      upstreamFactory,
      hooksFactory,
      log,
      features,
      onEnd: (s) => {
        sessions.delete(s.info.sessionId);
        release(s.info);
        metrics.sessionsActive.set(sessions.size);
      },
    });
    data.session = session;
    sessions.set(data.info.sessionId, session);
    metrics.connections.inc();
    metrics.sessionsActive.set(sessions.size);
    log.info({ session: data.info.sessionId, user: data.info.userId, model: data.model, link: data.appLink ? 'v2' : 'v1' }, 'session open');
    return session;
  };
  const appLinks = new AppLinkHub({ config, log, createSession: openSession, releaseSeat: release });

  const app = config.tlsCert && config.tlsKey ? uWS.SSLApp({ cert_file_name: config.tlsCert, key_file_name: config.tlsKey }) : uWS.App();

  app.ws<ConnData>('/v1/realtime', {
    maxPayloadLength: config.limits.maxFrameBytes + 64 * 1024,
    maxBackpressure: config.limits.clientBufferHardBytes * 2,
    idleTimeout: config.limits.idleTimeoutSeconds,
    sendPingsAutomatically: true,
    // Negotiated on the app link only (the upgrade passes no extensions for the verbatim path). The relay compresses
    // the app link's JSON text frames and never its Opus (AppLink.emit): JSON events repeat the same keys and ids,
    // so a per-socket window (4 KB, ~32 KB of zlib state per app link) shrinks them several times, where a shared
    // compressor (no context takeover) would not. The browser deflates everything it sends once the extension is
    // on, so the relay inflates with the shared decompressor (client_no_context_takeover: no per-socket state).
    compression: uWS.DEDICATED_COMPRESSOR_32KB | uWS.SHARED_DECOMPRESSOR,
    upgrade(res, req, context) {
      // `req` is only valid until the first await: read everything now.
      const query = new URLSearchParams(req.getQuery() ?? '');
      const requestedModel = query.get('model');
      // The only intent the GA service defines; anything else is a conversation, as before.
      const intent = query.get('intent') === 'transcription' ? 'transcription' : undefined;
      const request = {
        authorization: req.getHeader('authorization'),
        protocols: req.getHeader('sec-websocket-protocol'),
        origin: req.getHeader('origin'),
        remoteAddress: addressOf(res, req),
        ...(requestedModel !== null ? { model: requestedModel } : {}),
      };
      const key = req.getHeader('sec-websocket-key');
      const cookie = req.getHeader('cookie');
      const extensions = req.getHeader('sec-websocket-extensions');
      // earshot.v2 (the app's own link) or the verbatim path; a resume of a live session does not count twice.
      const linkOffer = appLinkOffer(request.protocols);
      const resumesSessionOf = linkOffer?.resume ? appLinks.registry.userOf(linkOffer.resume.token) : undefined;
      // The authenticator refuses a model off the allow-list, so what reaches the provider is the operator's choice.
      const model = requestedModel ?? config.model;
      // MUST register onAborted before any await: the response dies if the client goes away meanwhile.
      let aborted = false;
      res.onAborted(() => {
        aborted = true;
      });
      if (draining) {
        writeRefusal(res, reject('shutting_down'));
        return;
      }
      if (hasAdminCookie(cookie)) {
        writeRefusal(res, reject('admin_cookie_refused'));
        return;
      }
      void authenticator.authenticate(resumesSessionOf ? { ...request, resumesSessionOf } : request).then(
        (result) => {
          if (aborted) return;
          if (!result.ok) {
            metrics.authFailures.inc({ reason: result.body.error.code });
            log.info({ reason: result.body.error.code, status: result.status, address: request.remoteAddress }, 'upgrade refused');
            writeRefusal(res, result);
            return;
          }
          perUser.set(result.user.id, (perUser.get(result.user.id) ?? 0) + 1);
          const sessionId = randomUUID();
          const userId = result.user.id;
          // The fleet-wide seat, after the local check above (which racing upgrades on this relay cannot pass together).
          return leases.acquire({ sessionId, userId, maxSessions: result.user.maxSessions, resumingOwnSession: resumesSessionOf === userId }).then(
            (lease) => {
              if (!lease.ok || aborted || draining) {
                if (lease.ok) release({ sessionId, userId });
                else releaseLocal(userId);
                if (aborted) return;
                const refusal = reject(draining ? 'shutting_down' : 'too_many_sessions');
                metrics.authFailures.inc({ reason: refusal.body.error.code });
                log.info({ reason: refusal.body.error.code, user: userId, live: lease.ok ? undefined : lease.live, address: request.remoteAddress }, 'upgrade refused');
                writeRefusal(res, refusal);
                return;
              }
              const data: ConnData = {
                info: { sessionId, userId, tokenId: result.tokenId, startedAt: Date.now(), directoryMark: directory.mark },
                model,
                ...(intent ? { intent } : {}),
                policyUpdate: JSON.stringify(intent ? initialTranscriptionUpdate(config.policy) : initialSessionUpdate(config.policy, result.user, model)),
                ...(linkOffer ? { appLink: linkOffer } : {}),
              };
              // MUST NOT upgrade inside res.cork(): in this uWebSockets.js build, cork() misses an upgrade when the
              // socket is reallocated in place (uWebSockets #1929, fixed upstream after this build) and then runs its
              // HTTP connection-close check on the new WebSocket, reading freed memory as the response's state. When
              // those bytes happened to say "close", the socket was closed right after `open` with no close frame
              // (1006 on both legs, nothing received). Uncorked, upgrade() writes the 101 itself; nothing else is
              // written to this socket here, and open handlers cork their own sends.
              // permessage-deflate only on the app link (its JSON text frames, see AppLink.emit): the verbatim path
              // stays as it was, so an SDK client that offers the extension is not told it was accepted.
              res.upgrade<ConnData>(data, key, linkOffer ? APP_SUBPROTOCOL : (result.echoProtocol ?? ''), linkOffer ? extensions : '', context);
            },
            (err: unknown) => {
              releaseLocal(userId);
              // Fail closed: a seat that cannot be counted is not given. (Handled here: nothing awaits this chain.)
              const code = err instanceof StoreError ? 'store_unavailable' : 'internal_error';
              log.error({ err: (err as Error).message, user: userId }, 'upgrade refused: the store cannot count live sessions');
              metrics.authFailures.inc({ reason: code });
              if (!aborted) writeRefusal(res, reject(code));
            },
          );
        },
        (err: unknown) => {
          log.error({ err }, 'authentication failed unexpectedly');
          if (!aborted) writeRefusal(res, reject('internal_error'));
        },
      );
    },
    open(ws) {
      const data = ws.getUserData();
      try {
        if (data.appLink) appLinks.open(ws, data);
        else openSession(uwsClientSide(ws), data).start();
      } catch (err) {
        // A bug in setting up one session ends that connection, never the relay.
        log.error({ err, session: data.info.sessionId }, 'session failed to open');
        if (data.session) data.session.endWith(CloseCode.InternalError, 'internal_error');
        else {
          release(data.info);
          ws.end(CloseCode.InternalError, 'internal_error');
        }
      }
    },
    message(ws, message, isBinary) {
      // onClientMessage and the app link catch their own errors (the session ends with 1011); this handler must never throw.
      const data = ws.getUserData();
      if (data.link) data.link.onMessage(ws, message, isBinary);
      else data.session?.onClientMessage(message, isBinary);
    },
    drain(ws) {
      const data = ws.getUserData();
      if (data.link) data.link.onDrain(ws);
      else data.session?.onDrain();
    },
    close(ws, code) {
      const data = ws.getUserData();
      try {
        if (data.link) data.link.onClose(ws, code);
        else data.session?.onClientClose(code);
      } catch (err) {
        log.error({ err, session: data.info.sessionId }, 'session cleanup failed');
      }
      log.info({ session: data.info.sessionId, user: data.info.userId, code }, 'session closed');
    },
  });


  app.get('/healthz', (res) => {
    res.cork(() => {
      res
        .writeStatus(draining ? '503 Service Unavailable' : '200 OK')
        .writeHeader('content-type', 'application/json');
      writeHeaders(res, API_HEADERS);
      res.end(JSON.stringify({ ok: !draining, sessions: sessions.size, backend: backendOf(config) }));
    });
  });

  routeMetrics(app, metrics, metricsAccess(config.metricsToken, 'main'));

  app.get('/api/session-check', (res, req) => {
    // `?model=` is optional here: an app that will ask for a model can learn first whether it may.
    const requestedModel = new URLSearchParams(req.getQuery() ?? '').get('model');
    const request = {
      authorization: req.getHeader('authorization'),
      origin: req.getHeader('origin'),
      remoteAddress: addressOf(res, req),
      ...(requestedModel !== null ? { model: requestedModel } : {}),
    };
    // An operator console cookie is never a person's credential (the console's API refuses their tokens likewise).
    if (hasAdminCookie(req.getHeader('cookie'))) {
      writeRefusal(res, reject('admin_cookie_refused'));
      return;
    }
    let aborted = false;
    res.onAborted(() => {
      aborted = true;
    });
    void authenticator.authenticate(request).then((result) => {
      if (aborted) return;
      if (!result.ok) {
        // A full user is still a valid login: the app shows "close a conversation elsewhere" only on connect.
        metrics.authFailures.inc({ reason: result.body.error.code });
        writeRefusal(res, result);
        return;
      }
      const body: SessionCheckBody = {
        user: result.user.id,
        tokenId: result.tokenId,
        expiresAt: result.expiresAt,
        policy: clientPolicyView(config.policy, result.user, config.model),
        backend: backendOf(config),
      };
      res.cork(() => {
        res.writeHeader('content-type', 'application/json');
        writeHeaders(res, API_HEADERS);
        res.end(JSON.stringify(body));
      });
    }, (err: unknown) => {
      // A bug in a check (a store or quota error that is not a StoreError): this request gets 500, and the
      // rejection is handled here — unhandled, it would end the relay process (Node's default) and every session.
      log.error({ err }, 'session check failed unexpectedly');
      if (!aborted) writeRefusal(res, reject('internal_error'));
    });
  });

  app.get('/v1/realtime', (res) => writeRefusal(res, reject('upgrade_required')));

  // The operator console: /admin and /admin/api/… (admin/routes.ts).
  mountAdminConsole(app, { config, store, secret, metrics, site, log, addressOf, sessions: () => sessions });

  app.any('/*', (res, req) => {
    const method = req.getMethod();
    const url = req.getUrl();
    const acceptsGzip = req.getHeader('accept-encoding').includes('gzip');
    const ifNoneMatch = req.getHeader('if-none-match');
    if (method !== 'get' && method !== 'head') {
      res.cork(() => {
        res.writeStatus('405 Method Not Allowed').writeHeader('allow', 'GET, HEAD');
        writeHeaders(res, STATIC_HEADERS);
        res.end();
      });
      return;
    }
    const file = site.lookup(url);
    res.cork(() => {
      if (!file) {
        res.writeStatus('404 Not Found').writeHeader('content-type', 'text/plain; charset=utf-8');
        writeHeaders(res, STATIC_HEADERS);
        res.end('not found');
        return;
      }
      if (ifNoneMatch === file.headers.etag) {
        res.writeStatus('304 Not Modified').writeHeader('etag', file.headers.etag!);
        writeHeaders(res, STATIC_HEADERS);
        res.end();
        return;
      }
      res.writeStatus('200 OK');
      writeHeaders(res, STATIC_HEADERS);
      for (const [k, v] of Object.entries(file.headers)) res.writeHeader(k, v);
      const gz = acceptsGzip && file.gzip;
      if (gz) res.writeHeader('content-encoding', 'gzip');
      res.writeHeader('vary', 'accept-encoding');
      if (method === 'head') res.endWithoutBody();
      else res.end(gz ? file.gzip! : file.body);
    });
  });

  const listenSocket = await listenWithRetry(app, config, log);
  const port = uWS.us_socket_local_port(listenSocket);
  // Metrics on their own address, for a Prometheus on the host or a private network; the proxy never sees it.
  let metricsSocket: uWS.us_listen_socket | undefined;
  if (config.metricsPort !== undefined) {
    const metricsApp = uWS.App();
    routeMetrics(metricsApp, metrics, metricsAccess(config.metricsToken, 'metrics'));
    metricsApp.any('/*', (res) => writeRefusal(res, reject('not_found')));
    try {
      metricsSocket = await listenWithRetry(metricsApp, { ...config, host: config.metricsHost, port: config.metricsPort }, log);
    } catch (err) {
      uWS.us_listen_socket_close(listenSocket);
      throw err;
    }
  }
  const scheme = config.tlsCert ? 'https' : 'http';
  const url = `${scheme}://${config.host.includes(':') ? `[${config.host}]` : config.host}:${port}`;

  let closing: Promise<void> | null = null;
  return {
    port,
    url,
    ...(metricsSocket ? { metricsPort: uWS.us_socket_local_port(metricsSocket) } : {}),
    store,
    directory,
    secret,
    metrics,
    sessions: () => sessions,
    sweepAccess: () => liveAccess.sweep(),
    appLinks,
    close() {
      closing ??= (async () => {
        draining = true;
        uWS.us_listen_socket_close(listenSocket);
        if (metricsSocket) uWS.us_listen_socket_close(metricsSocket);
        for (const session of [...sessions.values()]) session.endWith(CloseCode.GoingAway, 'relay shutting down');
        liveAccess.stop();
        retention.stop();
        metrics.stop();
        await leases.stop();
        directory.close();
        if (ownsStore) await store.close();
        await appLinks.close();
        await new Promise((r) => setImmediate(r));
      })();
      return closing;
    },
  };
}

/**
 * This uWS build sets no SO_REUSEADDR, so after a restart the port stays taken while the previous process's
 * closed connections sit in TIME_WAIT (up to 60 s on Linux). Retry instead of failing, and say why.
 */
async function listenWithRetry(app: uWS.TemplatedApp, config: RelayConfig, log: Logger): Promise<uWS.us_listen_socket> {
  const deadline = Date.now() + config.listenRetrySeconds * 1000;
  let warned = false;
  for (;;) {
    const socket = await new Promise<uWS.us_listen_socket | false>((resolve) => app.listen(config.host, config.port, resolve));
    if (socket) return socket;
    if (config.port === 0 || Date.now() >= deadline) {
      throw new Error(`cannot listen on ${config.host}:${config.port}: the port is in use (or not permitted)`);
    }
    if (!warned) {
      warned = true;
      log.warn({ host: config.host, port: config.port, retrySeconds: config.listenRetrySeconds }, 'port busy (another process, or connections of the previous run in TIME_WAIT); retrying');
    }
    await new Promise((r) => setTimeout(r, 1000));
  }
}
