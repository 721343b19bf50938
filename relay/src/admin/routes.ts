// The operator console on the relay's uWS app: the page at /admin (the `admin.html` entry of the Vite build)
// and its API under /admin/api/…. Mounted by server.ts with one call; everything storage-shaped goes through
// the Directory (directory.ts), every change is audit-logged (audit-log.ts) before it is answered.
//
// uWS rules, where they bite: every header is read before the first await (the request dies then); onAborted
// is registered before any body read or await, and nothing touches `res` once it fired.
import { z } from 'zod';
import type uWS from 'uWebSockets.js';
import { ADMIN_COOKIE, CSRF_HEADER, type AdminAction, type AdminMe, type Health, type UsageAnswer } from '../../../protocol/admin-api.ts';
import type { RefusalCode } from '../../../protocol/relay-errors.ts';
import { reject } from '../auth/authenticator.ts';
import type { Store } from '../store/store.ts';
import { backendOf, PROVIDER_URL, type RelayConfig } from '../config/config.ts';
import type { Metrics } from '../http/metrics.ts';
import { API_HEADERS, STATIC_HEADERS, writeHeaders } from '../http/security-headers.ts';
import type { StaticSite } from '../http/static-site.ts';
import { STATUS_LINES } from '../http/status-lines.ts';
import type { Logger } from '../log.ts';
import { RELEASE_VERSION } from '../release.ts';
import { checkAdminRequest, csrfToken, originAllowed, type AdminCaller, type AdminRequestHeaders } from './admin-auth.ts';
import { AdminState } from './admin-state.ts';
import { AuditLog } from './audit-log.ts';
import { createDirectory, DirectoryError, type AdminDirectory } from './directory.ts';
import type { RelaySession } from '../session/bridge.ts';
import { readBody } from './http-body.ts';

/** Console requests are small JSON documents; anything larger is refused unread. */
export const MAX_ADMIN_BODY_BYTES = 64 * 1024;

export interface AdminDeps {
  config: RelayConfig;
  store: Store;
  secret: Uint8Array;
  metrics: Metrics;
  site: StaticSite;
  directory: AdminDirectory;
  state: AdminState;
  audit: AuditLog;
  log: Logger;
  /** The client's address as far as it can be trusted (server.ts's addressOf); `req` MUST still be valid. */
  addressOf: (res: uWS.HttpResponse, req: uWS.HttpRequest) => string;
  startedAt: number;
}

type Answer = { status: 200 | 201; body: unknown; headers?: Record<string, string> } | { refuse: RefusalCode; detail?: string };

const DAY = /^\d{4}-\d{2}-\d{2}$/;
const limitMinutes = z.number().finite().min(0).max(1_000_000).nullable();
const limitTokens = z.number().int().min(0).max(1e12).nullable();
const patchSchema = z
  .object({
    maxSessions: z.number().int().min(0).max(1000),
    dailyMinutes: limitMinutes,
    monthlyMinutes: limitMinutes,
    dailyTokens: limitTokens,
    monthlyTokens: limitTokens,
    voice: z.string().max(64),
    instructions: z.string().max(8000),
    enabled: z.boolean(),
    admin: z.boolean(),
  })
  .partial()
  .strict();
const addSchema = patchSchema.extend({ id: z.string().regex(/^[A-Za-z0-9_.@-]{1,64}$/, 'use 1-64 letters, digits, _ . @ -') }).strict();
const linkSchema = z.object({ user: z.string().min(1).max(64), days: z.number().positive().max(3650) }).strict();
const signInSchema = z.object({ link: z.string().min(1).max(200) }).strict();
const pricesSchema = z.object({ perMinute: z.number().finite().min(0).max(1000), perMillionTokens: z.number().finite().min(0).max(100_000), currency: z.string().regex(/^[A-Z]{3}$/) }).strict();

function cookieHeader(value: string, maxAgeSeconds: number): string {
  // Path=/admin: the browser never sends it to the phone app's routes. Secure: browsers also keep it on
  // http://localhost and http://127.0.0.1 (secure contexts); on any other plain-HTTP address they drop it.
  return `${ADMIN_COOKIE}=${value}; Path=/admin; Max-Age=${maxAgeSeconds}; HttpOnly; Secure; SameSite=Strict`;
}

export function mountAdmin(app: uWS.TemplatedApp, deps: AdminDeps): void {
  const { config, state, audit, directory, log } = deps;

  const servePage = (res: uWS.HttpResponse, req: uWS.HttpRequest): void => {
    const head = req.getMethod() === 'head';
    const file = deps.site.lookup('/admin.html');
    res.cork(() => {
      if (!file) {
        res.writeStatus('404 Not Found').writeHeader('content-type', 'text/plain; charset=utf-8');
        writeHeaders(res, STATIC_HEADERS);
        res.end('the operator console is not built: run `npm run build`');
        return;
      }
      res.writeStatus('200 OK');
      writeHeaders(res, STATIC_HEADERS);
      res.writeHeader('content-type', 'text/html; charset=utf-8').writeHeader('cache-control', 'no-store');
      if (head) res.endWithoutBody();
      else res.end(file.body);
    });
  };
  app.get('/admin', servePage);
  app.get('/admin/', servePage);

  app.any('/admin/api/*', (res, req) => {
    // `req` is only valid until the first await: read everything now.
    const method = req.getMethod().toLowerCase();
    const path = req.getUrl().replace(/\/+$/, '');
    const query = new URLSearchParams(req.getQuery() ?? '');
    const headers: AdminRequestHeaders = {
      method,
      cookie: req.getHeader('cookie'),
      authorization: req.getHeader('authorization'),
      origin: req.getHeader('origin'),
      host: req.getHeader('host'),
      csrf: req.getHeader(CSRF_HEADER),
    };
    const address = deps.addressOf(res, req);
    // MUST register onAborted before reading the body or any await.
    let aborted = false;
    res.onAborted(() => {
      aborted = true;
    });

    const send = (answer: Answer): void => {
      if (aborted) return;
      res.cork(() => {
        if ('refuse' in answer) {
          const refusal = reject(answer.refuse, answer.detail);
          res.writeStatus(STATUS_LINES[refusal.status]).writeHeader('content-type', 'application/json');
          writeHeaders(res, API_HEADERS);
          res.end(JSON.stringify(refusal.body));
          return;
        }
        res.writeStatus(answer.status === 201 ? '201 Created' : '200 OK').writeHeader('content-type', 'application/json');
        writeHeaders(res, API_HEADERS);
        for (const [k, v] of Object.entries(answer.headers ?? {})) res.writeHeader(k, v);
        res.end(JSON.stringify(answer.body));
      });
    };

    const withBody = <T>(schema: z.ZodType<T>, then: (body: T) => Answer | Promise<Answer>): void => {
      readBody(res, MAX_ADMIN_BODY_BYTES, (result) => {
        if (!result.ok) return send({ refuse: 'admin_body_too_large', detail: `At most ${MAX_ADMIN_BODY_BYTES} bytes.` });
        let json: unknown;
        try {
          json = JSON.parse(result.text);
        } catch {
          return send({ refuse: 'admin_bad_request', detail: 'The body is not JSON.' });
        }
        const parsed = schema.safeParse(json);
        if (!parsed.success) {
          return send({ refuse: 'admin_bad_request', detail: parsed.error.issues.map((i) => `${i.path.join('.') || 'body'}: ${i.message}`).join('; ') });
        }
        run(() => then(parsed.data));
      });
    };

    /** Runs a handler; a Directory refusal becomes its code, anything else a logged 500 — never a dead relay. */
    const run = (handler: () => Answer | Promise<Answer>): void => {
      const fail = (err: unknown): void => {
        if (err instanceof DirectoryError) {
          const code: RefusalCode = err.reason === 'conflict' ? 'admin_conflict' : err.reason === 'not_found' ? 'not_found' : 'admin_bad_request';
          send({ refuse: code, detail: err.message });
          return;
        }
        log.error({ err, path, method }, 'admin API request failed');
        send({ refuse: 'internal_error' });
      };
      try {
        void Promise.resolve(handler()).then(send, fail);
      } catch (err) {
        fail(err);
      }
    };

    // Sign-in: no session yet, so no CSRF token; the Origin check stops another site signing a browser in.
    if (path === '/admin/api/session' && method === 'post') {
      if (headers.authorization.trim() !== '') return send({ refuse: 'admin_user_token_refused' });
      if (!originAllowed(headers.origin, headers.host, config.publicUrl)) return send({ refuse: 'admin_origin_refused' });
      return withBody(signInSchema, ({ link }) => {
        const exchanged = state.exchangeLink(link);
        if (!exchanged.ok) {
          log.info({ address }, 'admin sign-in refused: unknown, used or expired link');
          return { refuse: 'admin_link_invalid' };
        }
        audit.append({ t: Date.now(), admin: exchanged.userId, action: 'sign_in', target: exchanged.userId, address });
        const me: AdminMe = { admin: exchanged.userId, csrf: csrfToken(deps.secret, exchanged.cookie), expiresAt: exchanged.expiresAt, voices: config.policy.voices };
        return { status: 200, body: me, headers: { 'set-cookie': cookieHeader(exchanged.cookie, Math.floor((exchanged.expiresAt - Date.now()) / 1000)) } };
      });
    }

    const handle = (caller: Extract<AdminCaller, { ok: true }>): void => {
      const admin = caller.admin;
      const record = (action: AdminAction, target: string, detail?: string): void => {
        audit.append({ t: Date.now(), admin, action, target, ...(detail !== undefined ? { detail } : {}), address });
      };
      const ok = (body: unknown, status: 200 | 201 = 200): Answer => ({ status, body });
      // After '', 'admin', 'api'. A malformed escape (%E0%A4%A) is a bad request, never an exception out of the handler.
      let segments: string[];
      try {
        segments = path.split('/').slice(3).map(decodeURIComponent);
      } catch {
        return send({ refuse: 'admin_bad_request', detail: 'The address is not valid.' });
      }
      const [resource, id, verb] = segments;
      const route = `${method} ${resource ?? ''}${id !== undefined ? '/:id' : ''}${verb !== undefined ? `/${verb}` : ''}`;

      switch (route) {
        case 'get me':
          return send(ok({ admin, csrf: csrfToken(deps.secret, caller.cookie), expiresAt: caller.expiresAt, voices: config.policy.voices } satisfies AdminMe));
        case 'delete session':
          return run(async () => {
            state.endSession(caller.cookie);
            record('sign_out', admin);
            return { status: 200, body: { ok: true }, headers: { 'set-cookie': cookieHeader('', 0) } };
          });
        case 'get people':
          return run(async () => ok(await directory.listPeople()));
        case 'post people':
          return withBody(addSchema, async ({ id: newId, ...patch }) => {
            if (patch.voice && !config.policy.voices.includes(patch.voice)) return { refuse: 'admin_bad_request', detail: `voice must be one of ${config.policy.voices.join(', ')}` };
            const person = await directory.addPerson(newId, patch);
            record('person_add', newId, JSON.stringify(patch));
            return ok(person, 201);
          });
        case 'patch people/:id':
          return withBody(patchSchema, async (patch) => {
            if (patch.voice && !config.policy.voices.includes(patch.voice)) return { refuse: 'admin_bad_request', detail: `voice must be one of ${config.policy.voices.join(', ')}` };
            if (id === admin && (patch.admin === false || patch.enabled === false)) return { refuse: 'admin_bad_request', detail: 'You cannot switch off or demote yourself; ask another operator.' };
            const person = await directory.updatePerson(id!, patch);
            const action: AdminAction = patch.enabled === true && Object.keys(patch).length === 1 ? 'person_enable' : patch.enabled === false && Object.keys(patch).length === 1 ? 'person_disable' : 'person_update';
            record(action, id!, JSON.stringify(patch));
            return ok(person);
          });
        case 'delete people/:id':
          return run(async () => {
            if (id === admin) return { refuse: 'admin_bad_request', detail: 'You cannot delete yourself; ask another operator.' };
            const removed = await directory.removePerson(id!);
            record('person_delete', id!, `${removed.tokens.length} link(s) removed`);
            return ok(removed);
          });
        case 'get links':
          return run(async () => ok(await directory.listLinks()));
        case 'post links':
          return withBody(linkSchema, async ({ user, days }) => {
            // Where the phone opens it: PUBLIC_URL, else the address this console was opened at (its checked Origin).
            const base = config.publicUrl ?? headers.origin;
            const link = await directory.createLink(user, days, base);
            record('link_create', user, `${link.tokenId}, ${days} day(s)`);
            return ok(link, 201);
          });
        case 'post links/:id/revoke':
          return run(async () => {
            const link = await directory.revokeLink(id!);
            record('link_revoke', link.user, link.tokenId);
            return ok(link);
          });
        case 'post links/:id/expire':
          return run(async () => {
            const link = await directory.expireLink(id!);
            record('link_expire', link.user, link.tokenId);
            return ok(link);
          });
        case 'get usage':
          return run(async () => {
            const today = new Date().toISOString().slice(0, 10);
            const since = query.get('since') ?? `${today.slice(0, 8)}01`;
            const until = query.get('until') ?? today;
            if (!DAY.test(since) || !DAY.test(until) || Number.isNaN(Date.parse(since)) || Number.isNaN(Date.parse(until))) return { refuse: 'admin_bad_request', detail: 'since and until are UTC days like 2026-11-01.' };
            return ok({ since, until, days: await directory.usage(since, until), prices: state.prices() } satisfies UsageAnswer);
          });
        case 'put prices':
          return withBody(pricesSchema, (prices) => {
            state.setPrices(prices);
            record('prices_set', 'prices', JSON.stringify(prices));
            return ok(prices);
          });
        case 'get sessions':
          return run(async () => ok(await directory.liveSessions()));
        case 'delete sessions/:id':
          return run(async () => {
            const session = (await directory.liveSessions()).find((s) => s.sessionId === id);
            if (!session || !(await directory.endSession(id!))) return { refuse: 'not_found', detail: 'That session has ended already.' };
            record('session_end', session.user, session.sessionId);
            return ok({ ended: id });
          });
        case 'get health':
          return run(async () => ok(await health(deps)));
        case 'get audit':
          return run(() => ok(audit.recent(Math.min(Number(query.get('limit') ?? 500) || 500, 5000))));
        default:
          return send({ refuse: SAFE_METHODS_OR_KNOWN.has(resource ?? '') ? 'method_not_allowed' : 'not_found' });
      }
    };

    void checkAdminRequest(headers, { state, userEnabled: (id) => directory.isEnabled(id), secret: deps.secret, publicUrl: config.publicUrl }).then(
      (caller) => (caller.ok ? handle(caller) : send({ refuse: caller.code })),
      (err: unknown) => {
        log.error({ err, path, method }, 'admin API sign-in check failed');
        send({ refuse: 'internal_error' });
      },
    );
  });
}

const SAFE_METHODS_OR_KNOWN = new Set(['me', 'session', 'people', 'links', 'usage', 'prices', 'sessions', 'health', 'audit']);

async function health(deps: AdminDeps): Promise<Health> {
  const json = await deps.metrics.registry.getMetricsAsJSON();
  const total = (name: string): number => json.find((m) => m.name === name)?.values.reduce((a, v) => a + v.value, 0) ?? 0;
  const backend = backendOf(deps.config);
  return {
    version: RELEASE_VERSION,
    backend,
    upstream: backend === 'simulator' ? 'in-process simulator' : (deps.config.upstreamUrl ?? PROVIDER_URL),
    store: deps.directory.describeStore(),
    uptimeSeconds: Math.round((Date.now() - deps.startedAt) / 1000),
    relay: deps.directory.relayName,
    metrics: {
      sessionsActive: total('earshot_sessions_active'),
      connectionsTotal: total('earshot_connections_total'),
      authFailuresTotal: total('earshot_auth_failures_total'),
      rejectedEventsTotal: total('earshot_rejected_events_total'),
      upstreamErrorsTotal: total('earshot_upstream_errors_total'),
      rssBytes: process.memoryUsage().rss,
    },
  };
}

export interface ConsoleDeps {
  config: RelayConfig;
  store: Store;
  secret: Uint8Array;
  metrics: Metrics;
  site: StaticSite;
  log: Logger;
  addressOf: AdminDeps['addressOf'];
  sessions: () => ReadonlyMap<string, RelaySession>;
}

/** server.ts's one call: the console's state, audit log and directory on the relay's store and data dir, mounted on `app`. */
export function mountAdminConsole(app: uWS.TemplatedApp, deps: ConsoleDeps): void {
  const state = new AdminState(deps.config.dataDir);
  const directory = createDirectory({ store: deps.store, admin: state, secret: deps.secret, sessions: deps.sessions });
  mountAdmin(app, { ...deps, state, audit: new AuditLog(deps.config.dataDir), directory, startedAt: Date.now() });
}
