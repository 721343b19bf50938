// The container image, built and run for real with podman: Containerfile on a Node 20 base made locally
// (.ci/container-base.sh: debootstrap'd Debian bookworm + this machine's Node 20, since registries are out of
// reach), then a container with its data volume serves a spoken turn, reports healthy through its HEALTHCHECK,
// runs as a non-root user and stops cleanly on SIGTERM, and a second container finds the data in the volume.
// What this cannot prove: that the official docker.io/library/node:20-bookworm-slim base (the default) builds
// the same way — it is never pulled here — nor compose.yaml with Caddy and real certificates (deploy/deploy.test.ts
// runs Caddy with compose.Caddyfile and checks compose.yaml; compose itself is not run).
import { execFile, execFileSync } from 'node:child_process';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bearer } from '../relay/src/testing/operator-cli.ts';
import { RealtimeTestClient, speechPcm16 } from '../relay/src/testing/realtime-client.ts';
import { REPO_ROOT } from '../relay/src/testing/start-relay.ts';
import { until } from '../relay/src/testing/until.ts';
import { freePort } from '../relay/src/testing/free-port.ts';
import { RELAY_NODE_FLAGS } from '../relay/src/node-flags.ts';

const exec = promisify(execFile);
const env = { ...process.env, CONTAINERS_CONF: join(REPO_ROOT, '.ci/containers.conf') };
const version = (JSON.parse(execFileSync('node', ['-p', 'JSON.stringify(require("./package.json"))'], { cwd: REPO_ROOT, encoding: 'utf8' })) as { version: string }).version;
const image = `localhost/earshot:${version}`;
const name = `earshot-ci-${process.pid}`;
const volume = `earshot-ci-data-${process.pid}`;

const podman = async (...args: string[]): Promise<string> => (await exec('podman', args, { env, timeout: 420_000, maxBuffer: 64 * 1024 * 1024 })).stdout;
const podmanExitCode = (...args: string[]): Promise<number> =>
  exec('podman', args, { env, timeout: 60_000 }).then(
    () => 0,
    (err: { code?: number }) => err.code ?? -1,
  );

beforeAll(async () => {
  const base = execFileSync(join(REPO_ROOT, '.ci/container-base.sh'), { env, encoding: 'utf8', timeout: 300_000 }).trim();
  // --format docker: the OCI image format has no HEALTHCHECK. The host's npm cache is lent to the build stage so
  // `npm ci` fetches only what it lacks; --network host lets it reach the registry for that.
  await podman('build', '--format', 'docker', '--network', 'host', '--volume', `${join(homedir(), '.npm')}:/root/.npm`, '--build-arg', `BASE_IMAGE=${base}`, '--build-arg', 'NPM_CONFIG_PREFER_OFFLINE=true', '--tag', image, '--file', join(REPO_ROOT, 'Containerfile'), REPO_ROOT);
}, 480_000);

afterAll(async () => {
  await podmanExitCode('rm', '--force', '--time', '0', name);
  await podmanExitCode('volume', 'rm', '--force', volume);
});

describe('the container image', () => {
  it('declares a non-root user, the /data volume and a HEALTHCHECK on /healthz', async () => {
    const inspected = JSON.parse(await podman('image', 'inspect', image)) as Array<{ Config: { User: string; Volumes: Record<string, unknown>; Entrypoint: string[] }; Healthcheck?: { Test: string[] } }>;
    const config = inspected[0]!;
    expect(config.Config.User).toBe('earshot');
    expect(Object.keys(config.Config.Volumes)).toEqual(['/data']);
    expect(config.Config.Entrypoint).toEqual(['node', ...RELAY_NODE_FLAGS, '/app/dist/relay/earshot.js']);
    expect(config.Healthcheck?.Test.join(' ')).toContain('/healthz');
  });

  it('serves a spoken turn, is healthy, runs as non-root, drains on stop, and keeps its data in the volume', async () => {
    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    // Host networking: the sandbox has no container network; the relay binds the port given by PORT.
    await podman('run', '--detach', '--name', name, '--network', 'host', '--env', `PORT=${port}`, '--env', `PUBLIC_URL=${url}`, '--volume', `${volume}:/data`, image);
    await until('the container to report healthy', async () => (await podmanExitCode('healthcheck', 'run', name)) === 0, 30_000, 250);
    expect((await podman('exec', name, 'id', '-u')).trim()).toBe('10001');

    const created = JSON.parse(await podman('exec', name, 'earshot', 'token', 'create', '--user', 'alice', '--json')) as { token: string; link: string };
    expect(created.link.startsWith(`${url}/#token=`)).toBe(true);
    const client = await RealtimeTestClient.connect(`${url.replace('http', 'ws')}/v1/realtime?model=gpt-realtime`, bearer(created.token));
    await client.waitFor('session.updated');
    client.appendAudio(speechPcm16('hello from inside a container', 0.6));
    const done = await client.waitFor('response.done', { timeoutMs: 30_000 });
    expect(done.response.status).toBe('completed');
    expect(client.of('response.output_audio.delta').length).toBeGreaterThan(0);
    const closed = client.closed;

    const doctor = await podmanExitCode('exec', name, 'earshot', 'doctor');
    expect(doctor).toBe(0);

    await podman('stop', '--time', '20', name);
    expect((await closed).code).toBe(1001); // drained: "relay shutting down — reconnect"
    expect((await podman('inspect', '--format', '{{.State.ExitCode}}', name)).trim()).toBe('0');

    const users = JSON.parse(await podman('run', '--rm', '--network', 'none', '--volume', `${volume}:/data`, image, 'users', 'list', '--json')) as Array<{ id: string }>;
    expect(users.map((u) => u.id).sort()).toEqual(['alice', 'owner']);
  }, 120_000);
});
