// The console's calls to /admin/api/… (main thread). The session cookie travels by itself (HttpOnly: this code
// never sees it); every change adds the session's CSRF token, which only GET /admin/api/me or the sign-in hands out.
import { CSRF_HEADER, type AdminMe, type SignInBody } from '../../../protocol/admin-api.ts';

export class ApiError extends Error {
  override readonly name = 'ApiError';
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

let csrf = '';

async function request<T>(method: 'GET' | 'POST' | 'PATCH' | 'PUT' | 'DELETE', path: string, body?: unknown): Promise<T> {
  const headers: Record<string, string> = {};
  if (method !== 'GET') headers[CSRF_HEADER] = csrf;
  if (body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(`/admin/api/${path}`, { method, headers, credentials: 'same-origin', ...(body !== undefined ? { body: JSON.stringify(body) } : {}) });
  const text = await res.text();
  const json: unknown = text ? JSON.parse(text) : null;
  if (!res.ok) {
    const error = (json as { error?: { code?: string; message?: string } } | null)?.error;
    throw new ApiError(res.status, error?.code ?? 'unknown', error?.message ?? `The Earshot server answered ${res.status}.`);
  }
  return json as T;
}

export const api = {
  get: <T>(path: string) => request<T>('GET', path),
  post: <T>(path: string, body?: unknown) => request<T>('POST', path, body ?? {}),
  patch: <T>(path: string, body: unknown) => request<T>('PATCH', path, body),
  put: <T>(path: string, body: unknown) => request<T>('PUT', path, body),
  delete: <T>(path: string) => request<T>('DELETE', path),
};

/** Who is signed in (and this session's CSRF token), or null when nobody is. */
export async function whoAmI(): Promise<AdminMe | null> {
  try {
    const me = await api.get<AdminMe>('me');
    csrf = me.csrf;
    return me;
  } catch (err) {
    if (err instanceof ApiError && err.status === 401) return null;
    throw err;
  }
}

export async function signIn(link: string): Promise<AdminMe> {
  const me = await request<AdminMe>('POST', 'session', { link } satisfies SignInBody);
  csrf = me.csrf;
  return me;
}

export async function signOut(): Promise<void> {
  await api.delete('session');
  csrf = '';
}
