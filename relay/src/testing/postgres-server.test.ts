// The PostgreSQL test harness: a real server, reachable over TCP, gone without a trace after stop().
import { existsSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { startPostgres, type PostgresServer } from './postgres-server.ts';

let server: PostgresServer | undefined;
afterAll(async () => {
  await server?.stop();
});

describe('startPostgres', () => {
  it('serves fresh databases on loopback, survives a halt and resume, and leaves no files after stop', async () => {
    server = await startPostgres();
    const a = await server.createDatabase();
    const b = await server.createDatabase();
    expect(a).not.toBe(b);
    await server.psql(a, 'CREATE TABLE t (x int); INSERT INTO t VALUES (41)');
    expect(await server.psql(a, 'SELECT x + 1 FROM t')).toBe('42');
    // A fresh database holds nothing of another's.
    expect(await server.psql(b, "SELECT count(*) FROM pg_tables WHERE tablename = 't'")).toBe('0');
    await server.halt();
    await expect(server.psql(a, 'SELECT 1')).rejects.toThrow();
    await server.resume();
    expect(await server.psql(a, 'SELECT x FROM t')).toBe('41');
    const dir = server.socketDir;
    await server.stop();
    expect(existsSync(dir)).toBe(false);
  });
});
