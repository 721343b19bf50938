// The relay: a uWS app serving the Realtime endpoint (auth in `upgrade`, before any upstream is opened),
// the token check the PWA uses, health, metrics and the built PWA.
import { randomUUID } from 'node:crypto';
import uWS from 'uWebSockets.js';
import { CloseCode } from '../../protocol/close-codes.ts';
import type { SessionCheckBody } from '../../protocol/relay-http.ts';
import { Authenticator, reject, type AuthResult } from './auth/authenticator.ts';
import { FailedAttemptLimiter } from './auth/limiter.ts';
import { loadOrCreateSecret } from './auth/secret.ts';
import { UserStore } from './auth/store.ts';
import { backendOf, PROVIDER_URL, type RelayConfig } from './config/config.ts';
import { createMetrics, type Metrics } from './http/metrics.ts';
import { createStaticSite } from './http/static-site.ts';
import { log as rootLog, type Logger } from './log.ts';
import { clientPolicyView, initialSessionUpdate } from './policy/session-policy.ts';
import { APP_SUBPROTOCOL } from '../../protocol/app-link.ts';
import { AppLinkHub } from './app-link/hub.ts';
import { appLinkOffer } from './app-link/offer.ts';
import { RelaySession, type ConnData } from './session/bridge.ts';
import { uwsClientSide, type ClientSide } from './session/client-side.ts';
import { noHooks, type SessionHooksFactory } from './session/hooks.ts';
import { createSimulatorUpstreamFactory } from './simulator/in-process.ts';
import type { UpstreamFactory } from './upstream/upstream.ts';
import { createWsUpstreamFactory } from './upstream/ws-upstream.ts';

export interface RelayDeps {
  upstreamFactory?: UpstreamFactory;
  hooksFactory?: SessionHooksFactory;
  quotaExceeded?: (userId: string) => boolean;
  log?: Logger;
}

export interface Relay {
  port: number;
  /** `http(s)://host:port` */
  url: string;
  store: UserStore;
  secret: Uint8Array;
  metrics: Metrics;
  sessions(): ReadonlyMap<string, RelaySession>;
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

export async function startRelay(config: RelayConfig, deps: RelayDeps = {}): Promise<Relay> {
  const log = deps.log ?? rootLog;
  const store = await UserStore.open(config.dataDir);
  const secret = await loadOrCreateSecret(config.dataDir);
  const metrics = createMetrics({ perUser: config.perUserMetrics, defaults: true });
  const site = createStaticSite(config.staticDir);
  if (site.fileCount === 0) log.warn({ staticDir: config.staticDir }, 'no PWA build found: run `npm run build` (the relay still serves the API)');
  const upstreamFactory = deps.upstreamFactory ?? defaultUpstreamFactory(config);
  const hooksFactory = deps.hooksFactory ?? noHooks;
  const sessions = new Map<string, RelaySession>();
  /** Sessions per user, counted from an accepted auth (before open) so two racing upgrades cannot both pass. */
  const perUser = new Map<string, number>();
  const limiter = new FailedAttemptLimiter({ maxFailures: config.limits.failedAuthPerMinute, windowMs: 60_000, blockMs: 60_000 });
  const authenticator = new Authenticator({
    store,
    secret,
    limiter,
    allowedOrigins: config.allowedOrigins,
    liveSessions: (userId) => perUser.get(userId) ?? 0,
    ...(deps.quotaExceeded ? { quotaExceeded: deps.quotaExceeded } : {}),
  });
  let draining = false;

  const release = (userId: string): void => {
    const n = (perUser.get(userId) ?? 1) - 1;
    if (n <= 0) perUser.delete(userId);
    else perUser.set(userId, n);
  };

  const unwatch = store.watch((change) => {
    for (const session of sessions.values()) {
      const { userId, tokenId } = session.info;
      if (change.revokedTokenIds.includes(tokenId) || change.disabledUserIds.includes(userId)) {
        session.terminate(CloseCode.Revoked, 'token_revoked', 'Your access was revoked by the operator. Ask them for a new link.');
      }
    }
  });

  const openSession = (client: ClientSide, data: ConnData): RelaySession => {
    const session = new RelaySession(client, data, {
      config,
      metrics,
      upstreamFactory,
      hooksFactory,
      log,
      onEnd: (s) => {
        sessions.delete(s.info.sessionId);
        release(s.info.userId);
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

  const writeReject = (res: uWS.HttpResponse, result: Extract<AuthResult, { ok: false }> | { status: 503; body: unknown }): void => {
    const status = { 401: '401 Unauthorized', 403: '403 Forbidden', 429: '429 Too Many Requests', 503: '503 Service Unavailable' }[result.status];
    res.cork(() => {
      res.writeStatus(status).writeHeader('content-type', 'application/json').writeHeader('cache-control', 'no-store');
      if (result.status === 429) res.writeHeader('retry-after', '60');
      res.end(JSON.stringify(result.body));
    });
  };

  app.ws<ConnData>('/v1/realtime', {
    maxPayloadLength: config.limits.maxFrameBytes + 64 * 1024,
    maxBackpressure: config.limits.clientBufferHardBytes * 2,
    idleTimeout: config.limits.idleTimeoutSeconds,
    sendPingsAutomatically: true,
    compression: uWS.DISABLED,
    upgrade(res, req, context) {
      // `req` is only valid until the first await: read everything now.
      const request = {
        authorization: req.getHeader('authorization'),
        protocols: req.getHeader('sec-websocket-protocol'),
        origin: req.getHeader('origin'),
        remoteAddress: text(res.getRemoteAddressAsText()),
      };
      const key = req.getHeader('sec-websocket-key');
      const extensions = req.getHeader('sec-websocket-extensions');
      // earshot.v2 (the app's own link) or the verbatim path; a resume of a live session does not count twice.
      const linkOffer = appLinkOffer(request.protocols);
      const resumesSessionOf = linkOffer?.resume ? appLinks.registry.userOf(linkOffer.resume.token) : undefined;
      const model = (new URLSearchParams(req.getQuery() ?? '').get('model') ?? config.model).slice(0, 100);
      // MUST register onAborted before any await: the response dies if the client goes away meanwhile.
      let aborted = false;
      res.onAborted(() => {
        aborted = true;
      });
      if (draining) {
        writeReject(res, { status: 503, body: reject(401, 'shutting_down').body });
        return;
      }
      void authenticator.authenticate(resumesSessionOf ? { ...request, resumesSessionOf } : request).then(
        (result) => {
          if (aborted) return;
          if (!result.ok) {
            metrics.authFailures.inc({ reason: result.body.error.code });
            log.info({ reason: result.body.error.code, status: result.status, address: request.remoteAddress }, 'upgrade refused');
            writeReject(res, result);
            return;
          }
          perUser.set(result.user.id, (perUser.get(result.user.id) ?? 0) + 1);
          const data: ConnData = {
            info: { sessionId: randomUUID(), userId: result.user.id, tokenId: result.tokenId, startedAt: Date.now() },
            model,
            policyUpdate: JSON.stringify(initialSessionUpdate(config.policy, result.user, model)),
            ...(linkOffer ? { appLink: linkOffer } : {}),
          };
          res.cork(() => {
            res.upgrade<ConnData>(data, key, linkOffer ? APP_SUBPROTOCOL : (result.echoProtocol ?? ''), extensions, context);
          });
        },
        (err: unknown) => {
          log.error({ err }, 'authentication failed unexpectedly');
          if (!aborted) res.cork(() => res.writeStatus('500 Internal Server Error').end('{"error":{"code":"internal","message":"internal error"}}'));
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
          release(data.info.userId);
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
        .writeHeader('content-type', 'application/json')
        .writeHeader('cache-control', 'no-store')
        .end(JSON.stringify({ ok: !draining, sessions: sessions.size, backend: backendOf(config) }));
    });
  });

  app.get('/metrics', (res) => {
    let aborted = false;
    res.onAborted(() => {
      aborted = true;
    });
    void metrics.render().then((body) => {
      if (aborted) return;
      res.cork(() => {
        res.writeHeader('content-type', metrics.registry.contentType).writeHeader('cache-control', 'no-store').end(body);
      });
    });
  });

  app.get('/api/session-check', (res, req) => {
    const request = {
      authorization: req.getHeader('authorization'),
      origin: req.getHeader('origin'),
      remoteAddress: text(res.getRemoteAddressAsText()),
    };
    let aborted = false;
    res.onAborted(() => {
      aborted = true;
    });
    void authenticator.authenticate(request).then((result) => {
      if (aborted) return;
      if (!result.ok) {
        // A full user is still a valid login: the app shows "close a conversation elsewhere" only on connect.
        metrics.authFailures.inc({ reason: result.body.error.code });
        writeReject(res, result);
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
        res.writeHeader('content-type', 'application/json').writeHeader('cache-control', 'no-store').end(JSON.stringify(body));
      });
    });
  });

  app.get('/v1/realtime', (res) => {
    res.cork(() => {
      res.writeStatus('426 Upgrade Required').writeHeader('content-type', 'application/json').end('{"error":{"code":"upgrade_required","message":"Connect with a WebSocket."}}');
    });
  });

  app.any('/*', (res, req) => {
    const method = req.getMethod();
    const url = req.getUrl();
    const acceptsGzip = req.getHeader('accept-encoding').includes('gzip');
    const ifNoneMatch = req.getHeader('if-none-match');
    if (method !== 'get' && method !== 'head') {
      res.cork(() => res.writeStatus('405 Method Not Allowed').end());
      return;
    }
    const file = site.lookup(url);
    res.cork(() => {
      if (!file) {
        res.writeStatus('404 Not Found').writeHeader('content-type', 'text/plain').end('not found');
        return;
      }
      if (ifNoneMatch === file.headers.etag) {
        res.writeStatus('304 Not Modified').writeHeader('etag', file.headers.etag!).end();
        return;
      }
      res.writeStatus('200 OK');
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
  const scheme = config.tlsCert ? 'https' : 'http';
  const url = `${scheme}://${config.host.includes(':') ? `[${config.host}]` : config.host}:${port}`;

  let closing: Promise<void> | null = null;
  return {
    port,
    url,
    store,
    secret,
    metrics,
    sessions: () => sessions,
    appLinks,
    close() {
      closing ??= (async () => {
        draining = true;
        uWS.us_listen_socket_close(listenSocket);
        for (const session of [...sessions.values()]) session.endWith(CloseCode.GoingAway, 'relay shutting down');
        unwatch();
        store.close();
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
