// The user's relay token: taken from the onboarding link (`…/#token=…`, removed from the address bar at once so
// it is not left in history or screenshots), or pasted; kept in localStorage.
const KEY = 'earshot.token';

export interface TokenStorage {
  getItem(key: string): string | null;
  setItem(key: string, value: string): void;
  removeItem(key: string): void;
}

/** Reads `#token=` from a hash; returns the token and the hash without it. */
export function takeTokenFromHash(hash: string): { token: string | null; rest: string } {
  const params = new URLSearchParams(hash.replace(/^#/, ''));
  const token = params.get('token');
  params.delete('token');
  const rest = params.toString();
  return { token: token && token.trim().length > 0 ? token.trim() : null, rest: rest ? `#${rest}` : '' };
}

export function makeTokenStore(storage: TokenStorage) {
  return {
    get: (): string | null => storage.getItem(KEY),
    set: (token: string): void => storage.setItem(KEY, token.trim()),
    clear: (): void => storage.removeItem(KEY),
  };
}

export type TokenStore = ReturnType<typeof makeTokenStore>;

/**
 * Move a token from the URL into storage and clean the address bar: on startup, and on `hashchange` (a second
 * onboarding link opened in the same tab). Returns whether a token was taken.
 */
export function adoptTokenFromLocation(store: TokenStore, location: Pick<Location, 'hash' | 'pathname' | 'search'>, history: Pick<History, 'state' | 'replaceState'>): boolean {
  const { token, rest } = takeTokenFromHash(location.hash);
  if (token === null) return false;
  store.set(token);
  history.replaceState(history.state, '', `${location.pathname}${location.search}${rest}`);
  return true;
}
