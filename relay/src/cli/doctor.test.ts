// `earshot doctor` on tokens running out: the owner's link must not lapse without a word. The data is made by the
// built command in a real process; doctor's checks run here with an injected clock, so no test waits for days.
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runEarshot } from '../testing/built-earshot.ts';
import { tempDataDir } from '../testing/start-relay.ts';
import { runChecks } from './doctor.ts';

const DAY_MS = 86_400_000;

describe('earshot doctor on expiring tokens', () => {
  it('says nothing while a user has a token for more than two weeks, and warns (naming the command) once every token of theirs is within two weeks of its end', async () => {
    const dataDir = join(tempDataDir(), 'data');
    const created = await runEarshot(['token', 'create', '--user', 'owner', '--days', '30', '--json'], { EARSHOT_DATA_DIR: dataDir, PUBLIC_URL: 'https://earshot.example.com' });
    expect(created.code, created.stderr).toBe(0);
    const env = { EARSHOT_DATA_DIR: dataDir };
    const tokenWarnings = async (now: number) => (await runChecks(env, now)).filter((c) => c.check === 'tokens');

    expect(await tokenWarnings(Date.now())).toEqual([]);
    const soon = await tokenWarnings(Date.now() + 20 * DAY_MS);
    expect(soon).toHaveLength(1);
    expect(soon[0]).toMatchObject({ level: 'warn' });
    expect(soon[0]!.detail).toMatch(/every token of "owner" expires by \d{4}-\d{2}-\d{2}: run `earshot token create --user owner`/);
    // Once it has run out, nobody can sign in: said plainly too.
    const after = await tokenWarnings(Date.now() + 31 * DAY_MS);
    expect(after.map((c) => c.detail)).toEqual([expect.stringContaining('no active token: nobody can sign in')]);
  }, 180_000);
});
