// Everything the operator console reads or changes in storage, behind one interface: people and their limits,
// onboarding links (user tokens), usage per person per day, live sessions. The console's routes (routes.ts)
// only ever talk to an AdminDirectory, so a change of storage means re-implementing this one module. It does
// what the CLIs do (cli/users.ts, token.ts, usage.ts), on the same Store the running relay enforces from: a
// change here reaches live sessions through the store's change feed (store/directory.ts, auth/live-access.ts,
// accounts/accounting.ts), exactly as a CLI's change does.
import { hostname } from 'node:os';
import type { Link, LiveSession, Person, PersonPatch, UsageDay } from '../../../protocol/admin-api.ts';
import { CloseCode } from '../../../protocol/close-codes.ts';
import { relayErrorMessage } from '../../../protocol/relay-errors.ts';
import { billedTokens, spokenSeconds } from '../accounts/meter.ts';
import { issueToken } from '../auth/tokens.ts';
import type { RelaySession } from '../session/bridge.ts';
import { StoreError, type Store, type TokenRecord, type UserPatch, type UserRecord } from '../store/store.ts';
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

export interface AdminDirectory {
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
  /**
   * Expire now. The Store keeps a token's expiry as signed (it has no call to change it), so this revokes it:
   * the link stops working and its live sessions end (4001) — recorded in the audit log as an expiry.
   */
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
  store: Store;
  admin: AdminState;
  secret: Uint8Array;
  sessions: () => ReadonlyMap<string, RelaySession>;
  /** Names this relay on the Now page (a household may run more than one). */
  relayName?: string;
  now?: () => number;
}

export function createDirectory(deps: DirectoryDeps): AdminDirectory {
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

  /** The Store's patch for a console patch; an empty voice or instructions clears the override (the relay's default). */
  const storePatch = (id: string, patch: PersonPatch): UserPatch => {
    const out: UserPatch = { id };
    for (const key of ['maxSessions', 'dailyMinutes', 'monthlyMinutes', 'dailyTokens', 'monthlyTokens', 'enabled'] as const) {
      if (patch[key] !== undefined) (out as Record<string, unknown>)[key] = patch[key];
    }
    if (patch.voice !== undefined) out.voice = patch.voice === '' ? null : patch.voice;
    if (patch.instructions !== undefined) out.instructions = patch.instructions === '' ? null : patch.instructions;
    return out;
  };

  /** Store refusals become the console's (a StoreError's sentence is meant for a person already). */
  const translate = async <T>(fn: () => Promise<T>): Promise<T> => {
    try {
      return await fn();
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

  const existingToken = async (tokenId: string): Promise<TokenRecord> => {
    const t = await store.getToken(tokenId);
    if (!t) throw new DirectoryError('not_found', `no link with id "${tokenId}"`);
    return t;
  };

  const revoke = async (tokenId: string): Promise<Link> => {
    await existingToken(tokenId);
    await store.revoke(tokenId, new Date(now()));
    return linkOf(await existingToken(tokenId));
  };

  return {
    relayName,
    async isEnabled(id) {
      return (await store.getUser(id))?.enabled === true;
    },
    async listPeople() {
      const counts = live();
      return (await store.listUsers()).map((u) => view(u, counts));
    },
    async addPerson(id, patch) {
      const user = await translate(() => store.addUser(storePatch(id, patch)));
      if (patch.admin !== undefined) admin.setAdmin(id, patch.admin);
      return view(user);
    },
    async updatePerson(id, patch) {
      const user = await translate(() => store.updateUser(storePatch(id, patch)));
      if (patch.admin !== undefined) admin.setAdmin(id, patch.admin);
      return view(user);
    },
    async removePerson(id) {
      const tokens = await translate(() => store.removeUser(id));
      admin.forget(id);
      return { tokens };
    },
    async createLink(user, days, base) {
      const person = await store.getUser(user);
      if (!person) throw new DirectoryError('not_found', `no such person "${user}"; add them first`);
      if (!person.enabled) throw new DirectoryError('invalid', `"${user}" is switched off; enable them first`);
      const issued = await issueToken(deps.secret, { userId: user, days, now: now() });
      const record: TokenRecord = { id: issued.tokenId, userId: user, createdAt: new Date(now()).toISOString(), expiresAt: issued.expiresAt };
      await store.addToken(record);
      return { ...linkOf(record), url: `${base.replace(/\/+$/, '')}/#token=${issued.token}` };
    },
    async listLinks() {
      return (await store.listTokens()).map(linkOf).reverse();
    },
    revokeLink: revoke,
    expireLink: revoke,
    async usage(since, until) {
      const round3 = (n: number): number => Math.round(n * 1000) / 1000;
      return (await store.usageByDay({ since, until })).map((d) => ({ day: d.day, user: d.userId, sessions: d.sessions, spokenMinutes: round3(spokenSeconds(d) / 60), tokens: billedTokens(d) }));
    },
    async liveSessions() {
      const t = now();
      return [...deps.sessions().values()]
        .map((s) => ({
          sessionId: s.info.sessionId,
          user: s.info.userId,
          startedAt: s.info.startedAt,
          connectedMinutes: Math.round((Math.max(0, t - s.info.startedAt) / 60_000) * 1000) / 1000,
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
    describeStore() {
      return `${store.kind} (${store.location})`;
    },
  };
}
