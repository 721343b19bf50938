// The operator console's HTTP API (`/admin/api/…`): every request and answer shape, shared by the relay
// (relay/src/admin/routes.ts) and the console (client/src/admin/). Changes carry the session's CSRF token in
// the `x-earshot-csrf` header; refusals are `{"error":{"code","message"}}` with codes from relay-errors.ts.

/** The session cookie (Path=/admin, HttpOnly, Secure, SameSite=Strict): the phone app's routes refuse it. */
export const ADMIN_COOKIE = 'earshot_admin';
export const CSRF_HEADER = 'x-earshot-csrf';
/** An admin sign-in link is `<base>/admin/#signin=<secret>`: in the fragment, so no server log or Referer sees it. */
export const SIGNIN_FRAGMENT = 'signin';

export interface AdminMe {
  admin: string;
  csrf: string;
  /** Epoch ms. */
  expiresAt: number;
  /** The voices a person may be given (the relay's policy.voices). */
  voices: string[];
}

export interface PersonLimits {
  maxSessions: number;
  dailyMinutes: number | null;
  monthlyMinutes: number | null;
  dailyTokens: number | null;
  monthlyTokens: number | null;
  /** Empty string: the relay's default. */
  voice: string;
  instructions: string;
}

export interface Person extends PersonLimits {
  id: string;
  enabled: boolean;
  admin: boolean;
  createdAt: string;
  liveSessions: number;
}

export type LinkState = 'active' | 'expired' | 'revoked';

export interface Link {
  tokenId: string;
  user: string;
  createdAt: string;
  /** Epoch ms. */
  expiresAt: number;
  state: LinkState;
}

/** The answer to creating a link: the only time its secret is shown. */
export interface CreatedLink extends Link {
  url: string;
}

export interface UsageDay {
  /** UTC day, YYYY-MM-DD. */
  day: string;
  user: string;
  sessions: number;
  spokenMinutes: number;
  tokens: number;
}

export interface UsageAnswer {
  since: string;
  until: string;
  days: UsageDay[];
  prices: Prices;
}

/** What the operator pays the provider, for the month's estimate (configurable in the console). */
export interface Prices {
  perMinute: number;
  perMillionTokens: number;
  currency: string;
}

export interface LiveSession {
  sessionId: string;
  user: string;
  /** Epoch ms. */
  startedAt: number;
  connectedMinutes: number;
  link: 'v1' | 'v2';
  relay: string;
}

export interface Health {
  version: string;
  backend: 'simulator' | 'provider';
  upstream: string;
  store: string;
  uptimeSeconds: number;
  relay: string;
  metrics: { sessionsActive: number; connectionsTotal: number; authFailuresTotal: number; rejectedEventsTotal: number; upstreamErrorsTotal: number; rssBytes: number };
}

export interface AuditEntry {
  /** Epoch ms. */
  t: number;
  admin: string;
  action: AdminAction;
  target: string;
  detail?: string;
  address: string;
}

export type AdminAction =
  | 'sign_in'
  | 'sign_out'
  | 'person_add'
  | 'person_update'
  | 'person_enable'
  | 'person_disable'
  | 'person_delete'
  | 'link_create'
  | 'link_expire'
  | 'link_revoke'
  | 'session_end'
  | 'prices_set';

// ---- request bodies ----
export type PersonPatch = Partial<PersonLimits> & { enabled?: boolean; admin?: boolean };
export interface AddPersonBody extends PersonPatch {
  id: string;
}
export interface CreateLinkBody {
  user: string;
  days: number;
}
export interface SignInBody {
  link: string;
}
