// Everything the operator console reads or changes in storage, behind one interface: people and their limits,
// onboarding links (user tokens), usage per person per day, live sessions. The console's routes (routes.ts)
// only ever talk to a Directory, so moving storage (users.json + the usage log today) means re-implementing
// this one module. Async throughout, so a store that answers asynchronously (SQLite behind a worker, PostgreSQL)
// fits the same interface. It does what the CLIs do (cli/users.ts, token.ts, usage.ts), on the same store the running
// relay enforces from: a change here reaches live sessions through the store's listeners (auth/live-access.ts,
// accounts/accounting.ts), exactly as a CLI's change does.
import { hostname } from 'node:os';
import { join } from 'node:path';
import type { Link, LiveSession, Person, PersonPatch, UsageDay } from '../../../protocol/admin-api.ts';
import { CloseCode } from '../../../protocol/close-codes.ts';
import { relayErrorMessage } from '../../../protocol/relay-errors.ts';
import { billedTokens, spokenSeconds, zeroCounters, addCounters, type UsageCounters } from '../accounts/meter.ts';
import { utcDay } from '../accounts/totals.ts';
import { countersFromRecord, listMonths, readMonth, USAGE_DIR } from '../accounts/usage-log.ts';
import { StoreError, type TokenRecord, type UserRecord, type UserStore } from '../auth/store.ts';
import { issueToken } from '../auth/tokens.ts';
import type { RelaySession } from '../session/bridge.ts';
import type { AdminState } from './admin-state.ts';

/** A refusal the console can show: `conflict` (exists), `not_found`, `invalid` (bad value). */
export class DirectoryError extends Error {
  override readonly name = 'DirectoryError';
  constructor(
    readonly reason: 'conflict' | 'not_found' | 'invalid',
    message: string,
  ) {
    super(message);
  }
}

export interface Directory {
  listPeople(): Promise<Person[]>;
  /** Enabled and present: the console's sign-in checks this on every request. */
  isEnabled(id: string): Promise<boolean>;
  addPerson(id: string, patch: PersonPatch): Promise<Person>;
  updatePerson(id: string, patch: PersonPatch): Promise<Person>;
  /** Deletes the person, their links and their admin role; their live sessions end. */
  removePerson(id: string): Promise<{ tokens: string[] }>;
  /** A new onboarding link (user token) for `user`; `base` is where the phone opens it. */
  createLink(user: string, days: number, base: string): Promise<Link & { url: string }>;
  listLinks(): Promise<Link[]>;
  /** Revoke: the link stops working and its live sessions end (4001 token_revoked). */
  revokeLink(tokenId: string): Promise<Link>;
  /** Expire now: as revoke, but recorded as an expiry (4001 token_expired for its live sessions). */
  expireLink(tokenId: string): Promise<Link>;
  /** Usage per person per UTC day in [since, until] (inclusive). */
  usage(since: string, until: string): Promise<UsageDay[]>;
  liveSessions(): Promise<LiveSession[]>;
  /** Ends one live session (4011 ended_by_operator: the person keeps their link); false when it is gone already. */
  endSession(sessionId: string): Promise<boolean>;
  /** What storage is, for the Health page. */
  describeStore(): string;
  /** This relay's name on the Now and Health pages. */
  readonly relayName: string;
}

export interface DirectoryDeps {
  store: UserStore;
  admin: AdminState;
  secret: Uint8Array;
  dataDir: string;
  sessions: () => ReadonlyMap<string, RelaySession>;
  /** Names this relay on the Now page (a household may run more than one). */
  relayName?: string;
  now?: () => number;
}

const round3 = (n: number): number => Math.round(n * 1000) / 1000;

export function createDirectory(deps: DirectoryDeps): Directory {
  const { store, admin } = deps;
  const now = deps.now ?? Date.now;
  const relayName = deps.relayName ?? hostname();

  const live = (): Map<string, number> => {
    const counts = new Map<string, number>();
    for (const s of deps.sessions().values()) counts.set(s.info.userId, (counts.get(s.info.userId) ?? 0) + 1);
    return counts;
  };

  const view = (u: UserRecord, counts = live()): Person => ({
    id: u.id,
    enabled: u.enabled,
    admin: admin.isAdmin(u.id),
    createdAt: u.createdAt,
    liveSessions: counts.get(u.id) ?? 0,
    maxSessions: u.maxSessions,
    dailyMinutes: u.dailyMinutes,
    monthlyMinutes: u.monthlyMinutes,
    dailyTokens: u.dailyTokens,
    monthlyTokens: u.monthlyTokens,
    voice: u.voice ?? '',
    instructions: u.instructions ?? '',
  });

  /** The UserRecord fields a patch sets; an empty voice or instructions means "the relay's default". */
  const recordPatch = (patch: PersonPatch): Partial<UserRecord> => {
    const out: Partial<UserRecord> = {};
    for (const key of ['maxSessions', 'dailyMinutes', 'monthlyMinutes', 'dailyTokens', 'monthlyTokens', 'enabled'] as const) {
      if (patch[key] !== undefined) (out as Record<string, unknown>)[key] = patch[key];
    }
    if (patch.voice !== undefined) out.voice = patch.voice === '' ? undefined! : patch.voice;
    if (patch.instructions !== undefined) out.instructions = patch.instructions === '' ? undefined! : patch.instructions;
    return out;
  };

  /** Store refusals become the console's (a StoreError's sentence is meant for a person already). */
  const translate = <T>(fn: () => T): T => {
    try {
      return fn();
    } catch (err) {
      if (err instanceof StoreError) {
        if (err.reason === 'user_exists') throw new DirectoryError('conflict', err.message);
        if (err.reason === 'no_such_user') throw new DirectoryError('not_found', err.message);
        if (err.reason === 'invalid_user_id') throw new DirectoryError('invalid', err.message);
      }
      throw err;
    }
  };

  const linkOf = (t: TokenRecord): Link => ({
    tokenId: t.id,
    user: t.userId,
    createdAt: t.createdAt,
    expiresAt: t.expiresAt * 1000,
    state: t.revokedAt !== undefined ? 'revoked' : t.expiresAt * 1000 <= now() ? 'expired' : 'active',
  });

  const existingToken = (tokenId: string): TokenRecord => {
    store.refresh();
    const t = store.getToken(tokenId);
    if (!t) throw new DirectoryError('not_found', `no link with id "${tokenId}"`);
    return t;
  };

  return {
    async isEnabled(id) {
      store.refresh();
      return store.getUser(id)?.enabled === true;
    },
    async listPeople() {
      store.refresh();
      const counts = live();
      return store.listUsers().map((u) => view(u, counts));
    },
    async addPerson(id, patch) {
      const user = translate(() => store.addUser({ id, ...recordPatch(patch) }));
      if (patch.admin !== undefined) admin.setAdmin(id, patch.admin);
      return view(user);
    },
    async updatePerson(id, patch) {
      const user = translate(() => store.updateUser({ id, ...recordPatch(patch) }));
      if (patch.admin !== undefined) admin.setAdmin(id, patch.admin);
      return view(user);
    },
    async removePerson(id) {
      const tokens = translate(() => store.removeUser(id));
      admin.forget(id);
      return { tokens };
    },
    async createLink(user, days, base) {
      store.refresh();
      const person = store.getUser(user);
      if (!person) throw new DirectoryError('not_found', `no such person "${user}"; add them first`);
      if (!person.enabled) throw new DirectoryError('invalid', `"${user}" is switched off; enable them first`);
      const issued = await issueToken(deps.secret, { userId: user, days, now: now() });
      const record: TokenRecord = { id: issued.tokenId, userId: user, createdAt: new Date(now()).toISOString(), expiresAt: issued.expiresAt };
      store.addToken(record);
      return { ...linkOf(record), url: `${base.replace(/\/+$/, '')}/#token=${issued.token}` };
    },
    async listLinks() {
      store.refresh();
      return store.listTokens().map(linkOf).reverse();
    },
    async revokeLink(tokenId) {
      existingToken(tokenId);
      store.revoke(tokenId, new Date(now()));
      return linkOf(existingToken(tokenId));
    },
    async expireLink(tokenId) {
      const t = existingToken(tokenId);
      if (t.revokedAt !== undefined) throw new DirectoryError('invalid', 'that link is revoked already');
      // The store keeps the expiry the token was signed with; the upgrade and live checks read this record too.
      store.addToken({ ...t, expiresAt: Math.min(t.expiresAt, Math.floor(now() / 1000)) });
      return linkOf(existingToken(tokenId));
    },
    async usage(since, until) {
      const dir = join(deps.dataDir, USAGE_DIR);
      const from = Date.parse(`${since}T00:00:00Z`);
      const to = Date.parse(`${until}T00:00:00Z`) + 86_400_000;
      const cells = new Map<string, { day: string; user: string; counters: UsageCounters; sessions: number }>();
      for (const month of listMonths(dir)) {
        if (month < since.slice(0, 7) || month > until.slice(0, 7)) continue;
        for (const r of readMonth(dir, month).records) {
          if (r.t < from || r.t >= to) continue;
          const day = utcDay(r.t);
          const key = `${day}|${r.u}`;
          let cell = cells.get(key);
          if (!cell) cells.set(key, (cell = { day, user: r.u, counters: zeroCounters(), sessions: 0 }));
          addCounters(cell.counters, countersFromRecord(r));
          if (r.f === 1) cell.sessions++;
        }
      }
      return [...cells.values()]
        .sort((a, b) => a.day.localeCompare(b.day) || a.user.localeCompare(b.user))
        .map((c) => ({ day: c.day, user: c.user, sessions: c.sessions, spokenMinutes: round3(spokenSeconds(c.counters) / 60), tokens: billedTokens(c.counters) }));
    },
    async liveSessions() {
      const t = now();
      return [...deps.sessions().values()]
        .map((s) => ({
          sessionId: s.info.sessionId,
          user: s.info.userId,
          startedAt: s.info.startedAt,
          connectedMinutes: round3(Math.max(0, t - s.info.startedAt) / 60_000),
          link: s.isAppLink ? ('v2' as const) : ('v1' as const),
          relay: relayName,
        }))
        .sort((a, b) => a.startedAt - b.startedAt);
    },
    async endSession(sessionId) {
      const session = deps.sessions().get(sessionId);
      if (!session) return false;
      session.terminate(CloseCode.EndedByOperator, 'ended_by_operator', relayErrorMessage('ended_by_operator'));
      return true;
    },
    relayName,
    describeStore() {
      return `users.json + usage log in ${deps.dataDir}`;
    },
  };
}
