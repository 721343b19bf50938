// Who is calling the admin API, decided from the request's headers alone (read before any await): the console
// session cookie (looked up by its hash in admin-state.ts), the admin role, and for every change the Origin and
// the per-session CSRF token. Pure apart from the state lookups, so each refusal is one branch a test names.
import { createHmac } from 'node:crypto';
import { ADMIN_COOKIE } from '../../../protocol/admin-api.ts';
import type { RefusalCode } from '../../../protocol/relay-errors.ts';
import { sameSecret, secretHash, type AdminState } from './admin-state.ts';

export interface AdminRequestHeaders {
  method: string;
  cookie: string;
  authorization: string;
  origin: string;
  host: string;
  csrf: string;
}

export type AdminCaller = { ok: true; admin: string; cookie: string; expiresAt: number } | { ok: false; code: RefusalCode };

/** The value of our cookie in a Cookie header, or '' (a browser sends `a=1; b=2`). */
export function adminCookieValue(header: string): string {
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === ADMIN_COOKIE) return part.slice(eq + 1).trim();
  }
  return '';
}

/** True when a request carries the console's cookie at all: the phone app's routes refuse those. */
export function hasAdminCookie(header: string): boolean {
  return adminCookieValue(header) !== '';
}

/** The CSRF token of a console session: an HMAC of its cookie's hash under the relay's secret, so nothing more is stored. */
export function csrfToken(secret: Uint8Array, cookie: string): string {
  return createHmac('sha256', secret).update(`earshot-admin-csrf:${secretHash(cookie)}`).digest('base64url');
}

/**
 * The Origin a change may come from: this host as the browser addressed it (its Host header), or PUBLIC_URL's
 * origin. A missing Origin is refused: every browser sends one on a POST/PATCH/DELETE from fetch().
 */
export function originAllowed(origin: string, host: string, publicUrl: string | undefined): boolean {
  if (origin === '' || origin === 'null') return false;
  let parsed: URL;
  try {
    parsed = new URL(origin);
  } catch {
    return false;
  }
  if (publicUrl !== undefined && parsed.origin === new URL(publicUrl).origin) return true;
  return host !== '' && parsed.host === host.toLowerCase() && (parsed.protocol === 'http:' || parsed.protocol === 'https:');
}

export const SAFE_METHODS = new Set(['get', 'head']);

export interface CheckOptions {
  state: AdminState;
  /** The person exists and is switched on (the Directory asks the store). */
  userEnabled: (userId: string) => Promise<boolean>;
  secret: Uint8Array;
  publicUrl: string | undefined;
}

/** Decides whether this request may use the admin API, in order: a user token, the cookie, the role, then Origin and CSRF for changes. */
export async function checkAdminRequest(h: AdminRequestHeaders, o: CheckOptions): Promise<AdminCaller> {
  // A person's token (or any bearer) is never an admin credential, even beside a valid cookie.
  if (h.authorization.trim() !== '') return { ok: false, code: 'admin_user_token_refused' };
  const cookie = adminCookieValue(h.cookie);
  if (cookie === '') return { ok: false, code: 'admin_sign_in_required' };
  const session = o.state.session(cookie);
  if (!session.ok) return { ok: false, code: session.reason === 'expired' ? 'admin_session_expired' : 'admin_sign_in_required' };
  if (!o.state.isAdmin(session.userId) || !(await o.userEnabled(session.userId))) return { ok: false, code: 'admin_not_admin' };
  if (!SAFE_METHODS.has(h.method)) {
    if (!originAllowed(h.origin, h.host, o.publicUrl)) return { ok: false, code: 'admin_origin_refused' };
    if (h.csrf === '' || !sameSecret(h.csrf, csrfToken(o.secret, cookie))) return { ok: false, code: 'admin_csrf_failed' };
  }
  return { ok: true, admin: session.userId, cookie, expiresAt: session.expiresAt };
}
