// `users add|set --voice` as an operator runs it (a child process on a data dir): only a voice the provider has
// and the policy offers is stored; anything else is refused with a sentence and changes nothing.
import { afterAll, describe, expect, it } from 'vitest';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { UserRecord } from '../store/store.ts';
import { runCli } from '../testing/operator-cli.ts';
import { tempDataDir } from '../testing/start-relay.ts';
import { parseConfig } from '../config/config.ts';

const dataDir = tempDataDir('earshot-users-voice-');
afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

describe('users --voice', () => {
  it('stores a provider voice, and refuses one the provider does not have without changing the user', { timeout: 60_000 }, async () => {
    expect((await runCli('users', dataDir, ['add', 'vic', '--voice', 'cedar'])).code).toBe(0);
    for (const args of [['set', 'vic', '--voice', 'nosuchvoice'], ['add', 'val', '--voice', 'Cedar']]) {
      const r = await runCli('users', dataDir, args);
      expect(r.code, args.join(' ')).toBe(1);
      expect(r.stderr).toMatch(/^error: --voice must be one of the voices this server offers: alloy, .*cedar/);
    }
    const users = JSON.parse((await runCli('users', dataDir, ['list', '--json'])).stdout) as UserRecord[];
    expect(users.map((u) => [u.id, u.voice])).toEqual([['vic', 'cedar']]);
  });

  it('follows the operator’s own narrower list (policy.voices in the config file)', { timeout: 60_000 }, async () => {
    const config = join(dataDir, 'config.json');
    writeFileSync(config, JSON.stringify({ policy: { voices: ['marin', 'cedar'] } }));
    const r = await runCli('users', dataDir, ['set', 'vic', '--voice', 'alloy'], { EARSHOT_CONFIG: config });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/offers: marin, cedar \(not "alloy"\)/);
    expect((await runCli('users', dataDir, ['set', 'vic', '--voice', 'marin'], { EARSHOT_CONFIG: config })).code).toBe(0);
  });
});

describe('policy voices in the config', () => {
  it('refuses a voice the provider does not have, naming the key', () => {
    expect(() => parseConfig({ policy: { voices: ['marin', 'nosuchvoice'] } })).toThrow(/policy\.voices.*provider's voices/s);
    expect(() => parseConfig({ policy: { voice: 'robot' } })).toThrow(/policy\.voice/);
    expect(parseConfig({ policy: { voices: ['marin', 'cedar'], voice: 'cedar' } }).policy.voices).toEqual(['marin', 'cedar']);
  });
});
