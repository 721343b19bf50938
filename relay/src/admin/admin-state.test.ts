import { mkdirSync, readFileSync, utimesSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { tempDataDir } from '../testing/start-relay.ts';
import { AdminState, SESSION_HOURS } from './admin-state.ts';

describe('the console sign-in state (admin.json)', () => {
  it('never loses another writer’s edit: two processes’ views each mint a link, both links work', () => {
    const dir = tempDataDir();
    const relay = new AdminState(dir);
    const cli = new AdminState(dir);
    const a = relay.mintLink('owner');
    const b = cli.mintLink('ops');
    expect(relay.exchangeLink(b.secret)).toMatchObject({ ok: true, userId: 'ops' });
    expect(cli.exchangeLink(a.secret)).toMatchObject({ ok: true, userId: 'owner' });
    expect(new AdminState(dir).admins().sort()).toEqual(['ops', 'owner']);
  });

  it('spends a link once and keeps only hashes', () => {
    const dir = tempDataDir();
    const state = new AdminState(dir);
    const { secret } = state.mintLink('owner');
    const first = state.exchangeLink(secret);
    expect(first.ok).toBe(true);
    expect(state.exchangeLink(secret).ok).toBe(false);
    const file = readFileSync(state.path, 'utf8');
    expect(file).not.toContain(secret);
    expect(file).not.toContain(first.ok ? first.cookie : 'x');
  });

  it('ends a session after SESSION_HOURS, by the clock it is given', () => {
    let now = Date.parse('2026-12-01T00:00:00Z');
    const state = new AdminState(tempDataDir(), () => now);
    const signed = state.exchangeLink(state.mintLink('owner').secret);
    if (!signed.ok) throw new Error('sign-in failed');
    expect(state.session(signed.cookie)).toMatchObject({ ok: true, userId: 'owner' });
    now += SESSION_HOURS * 3_600_000;
    expect(state.session(signed.cookie)).toEqual({ ok: false, reason: 'expired' });
  });

  it('takes over a lock left by a writer that died mid-edit', () => {
    const dir = tempDataDir();
    const state = new AdminState(dir);
    mkdirSync(`${state.path}.lock`);
    const past = new Date(Date.now() - 60_000);
    utimesSync(`${state.path}.lock`, past, past);
    expect(state.mintLink('owner').secret).toMatch(/^[A-Za-z0-9_-]{43}$/);
  });
});
