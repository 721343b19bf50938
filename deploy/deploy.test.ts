// The example deployment files, checked for real: nginx is started with deploy/nginx.conf and Caddy with
// deploy/Caddyfile and compose.yaml's deploy/compose.Caddyfile (on loopback, plain HTTP instead of its automatic HTTPS); a Realtime session runs through
// each, /metrics is not reachable through them, and the relay — trusting them as deploy/earshot.service says —
// counts failed sign-ins per real client: clients bind distinct loopback addresses (127.0.0.2, 127.0.0.3) so
// the proxy sees two people. Caddy runs deploy/compose.Caddyfile the same way (its upstream, compose's `earshot`
// service, pointed at the test relay), and compose.yaml is checked against the Containerfile and that Caddyfile.
// systemd verifies deploy/earshot.service. (.ci/run installs nginx and caddy.)
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { RealtimeTestClient } from '../relay/src/testing/realtime-client.ts';
import { REPO_ROOT, startTestRelay, tempDataDir, TEST_METRICS_TOKEN, type TestRelay } from '../relay/src/testing/start-relay.ts';
import { until } from '../relay/src/testing/until.ts';
import { RELAY_NODE_FLAGS } from '../relay/src/node-flags.ts';

const here = join(REPO_ROOT, 'deploy');

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

/** GET through a proxy (self-signed TLS accepted); status and body. */
function get(url: string, headers: Record<string, string> = {}): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const request = url.startsWith('https:') ? httpsRequest : httpRequest;
    const req = request(url, { headers, rejectUnauthorized: false }, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

/** The relay's code for an upgrade refused through the proxy, from a client bound to `localAddress`. */
async function refusedCode(url: string, token: string, localAddress: string, headers: Record<string, string> = {}): Promise<string> {
  try {
    const c = await RealtimeTestClient.connect(url, { headers: { authorization: `Bearer ${token}`, ...headers }, rejectUnauthorized: false, localAddress });
    await c.close();
    return 'accepted';
  } catch (err) {
    const e = err as { status?: number; body?: string };
    if (e.status === undefined) throw err;
    return (JSON.parse(e.body!) as { error: { code: string } }).error.code;
  }
}

/**
 * Through `proxyWs`: a stranger (127.0.0.3) fails until blocked — also when forging the family's address — while
 * the family member (127.0.0.2) still gets in with a good token and is told the truth about a typo; and the proxy
 * answers /metrics itself with 404, the metrics bearer notwithstanding.
 */
async function checkProxiedEdge(relay: TestRelay, proxyWs: string, proxyHttp: string): Promise<void> {
  const token = await relay.mint(`family-${relay.upstreamsOpened()}`);
  const stranger: string[] = [];
  for (let i = 0; i < 4; i++) stranger.push(await refusedCode(proxyWs, 'x.y.z', '127.0.0.3', i % 2 ? { 'x-forwarded-for': '127.0.0.2' } : {}));
  expect(stranger).toEqual(['token_malformed', 'token_malformed', 'token_malformed', 'too_many_failed_attempts']);
  const family = await RealtimeTestClient.connect(proxyWs, { headers: { authorization: `Bearer ${token}` }, rejectUnauthorized: false, localAddress: '127.0.0.2' });
  await family.waitFor('session.created');
  await family.close();
  expect(await refusedCode(proxyWs, 'x.y.z', '127.0.0.2')).toBe('token_malformed');
  const metrics = await get(`${proxyHttp}/metrics`, { authorization: `Bearer ${TEST_METRICS_TOKEN}` });
  expect(metrics.status).toBe(404);
  expect(metrics.body).not.toContain('earshot_');
}

describe('deployment examples', () => {
  let nginx: ChildProcess | undefined;
  let caddy: ChildProcess | undefined;
  let relay: TestRelay | undefined;
  afterAll(async () => {
    nginx?.kill('SIGQUIT');
    caddy?.kill('SIGTERM');
    await relay?.stop();
  });

  it('nginx with deploy/nginx.conf proxies a WebSocket session over TLS to the relay, keeps /metrics in, and forwards who the client is', async () => {
    // As deploy/earshot.service runs it: trusting the proxy on loopback.
    relay = await startTestRelay({ trustedProxies: ['127.0.0.1', '::1'], limits: { failedAuthPerMinute: 3 } });
    const dir = tempDataDir('earshot-nginx-');
    for (const sub of ['logs', 'tmp']) mkdirSync(join(dir, sub));
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem'), '-days', '1', '-subj', '/CN=127.0.0.1'], { stdio: 'ignore' });
    const [tlsPort, plainPort] = [await freePort(), await freePort()];
    const site = readFileSync(join(here, 'nginx.conf'), 'utf8')
      .replace('listen 443 ssl http2;', `listen 127.0.0.1:${tlsPort} ssl http2;`)
      .replace('listen 80;', `listen 127.0.0.1:${plainPort};`)
      .replace(/\/etc\/letsencrypt\/live\/earshot\.example\.com\/fullchain\.pem/, join(dir, 'cert.pem'))
      .replace(/\/etc\/letsencrypt\/live\/earshot\.example\.com\/privkey\.pem/, join(dir, 'key.pem'))
      .replace('http://127.0.0.1:8080', `http://127.0.0.1:${relay.port}`);
    expect(site).toContain(`127.0.0.1:${relay.port}`);
    writeFileSync(join(dir, 'site.conf'), site);
    writeFileSync(
      join(dir, 'nginx.conf'),
      `worker_processes 1;\npid ${dir}/nginx.pid;\nerror_log ${dir}/logs/error.log;\nevents {}\nhttp {\n access_log off;\n client_body_temp_path ${dir}/tmp/body;\n proxy_temp_path ${dir}/tmp/proxy;\n fastcgi_temp_path ${dir}/tmp/fcgi;\n uwsgi_temp_path ${dir}/tmp/uwsgi;\n scgi_temp_path ${dir}/tmp/scgi;\n include ${dir}/site.conf;\n}\n`,
    );
    execFileSync('nginx', ['-t', '-p', dir, '-c', join(dir, 'nginx.conf')], { stdio: 'pipe' });
    nginx = spawn('nginx', ['-p', dir, '-c', join(dir, 'nginx.conf'), '-g', 'daemon off;'], { stdio: 'ignore' });
    const url = `wss://127.0.0.1:${tlsPort}/v1/realtime?model=gpt-realtime`;
    const token = await relay.mint('proxied');
    let client: RealtimeTestClient | undefined;
    for (let i = 0; i < 50 && !client; i++) {
      client = await RealtimeTestClient.connect(url, { headers: { authorization: `Bearer ${token}` }, rejectUnauthorized: false }).catch(async () => {
        await new Promise((r) => setTimeout(r, 100));
        return undefined;
      });
    }
    expect(client).toBeDefined();
    client!.send({ type: 'conversation.item.create', item: { type: 'message', role: 'user', content: [{ type: 'input_text', text: 'through nginx' }] } });
    client!.send({ type: 'response.create' });
    expect((await client!.waitFor('response.output_audio_transcript.done')).transcript).toBe('Echo: you wrote "through nginx"');
    await client!.close();
    // Plain HTTP redirects to HTTPS.
    const redirect = await fetch(`http://127.0.0.1:${plainPort}/`, { redirect: 'manual' });
    expect(redirect.status).toBe(301);
    await checkProxiedEdge(relay, url, `https://127.0.0.1:${tlsPort}`);
  });

  /** Runs `file` with real Caddy on loopback (`site` and `upstream` rewritten to this test's), then checks the edge through it. */
  async function throughCaddy(file: string, site: string, upstream: string): Promise<void> {
    const out = execFileSync('caddy', ['validate', '--adapter', 'caddyfile', '--config', join(here, file)], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, EARSHOT_DOMAIN: 'earshot.example.com' } });
    expect(out).toContain('Valid configuration');
    const r = await startTestRelay({ trustedProxies: ['127.0.0.1', '::1'], limits: { failedAuthPerMinute: 3 } });
    let proc: ChildProcess | undefined;
    try {
      const dir = tempDataDir('earshot-caddy-');
      const port = await freePort();
      // The same file on loopback: plain HTTP (no certificate to fetch), no admin endpoint (tests run side by side).
      const text = readFileSync(join(here, file), 'utf8').replace(`${site} {`, `{\n\tadmin off\n\tstorage file_system ${dir}\n}\nhttp://127.0.0.1:${port} {`).replace(`reverse_proxy ${upstream}`, `reverse_proxy 127.0.0.1:${r.port}`);
      expect(text).toContain(`127.0.0.1:${r.port}`);
      expect(text).toContain(`http://127.0.0.1:${port} {`);
      writeFileSync(join(dir, 'Caddyfile'), text);
      proc = caddy = spawn('caddy', ['run', '--adapter', 'caddyfile', '--config', join(dir, 'Caddyfile')], { stdio: 'ignore', env: { ...process.env, HOME: dir, XDG_DATA_HOME: dir, XDG_CONFIG_HOME: dir } });
      await until('caddy to proxy /healthz', async () => (await get(`http://127.0.0.1:${port}/healthz`).catch(() => ({ status: 0 }))).status === 200, 60_000, 100);
      const session = await RealtimeTestClient.connect(`ws://127.0.0.1:${port}/v1/realtime`, { headers: { authorization: `Bearer ${await r.mint('through-caddy')}` } });
      await session.waitFor('session.created');
      await session.close();
      await checkProxiedEdge(r, `ws://127.0.0.1:${port}/v1/realtime`, `http://127.0.0.1:${port}`);
    } finally {
      proc?.kill('SIGTERM');
      await r.stop();
    }
  }

  it('Caddy accepts deploy/Caddyfile, and with it proxies a session, keeps /metrics in, and forwards who the client is', async () => {
    await throughCaddy('Caddyfile', 'earshot.example.com', '127.0.0.1:8080');
  });

  it("Caddy accepts compose.yaml's deploy/compose.Caddyfile, and with it keeps /metrics in and forwards who the client is too", async () => {
    await throughCaddy('compose.Caddyfile', '{$EARSHOT_DOMAIN}', 'earshot:8080');
  });

  it('compose.yaml wires the image, its /data volume and Caddy together as the Containerfile and compose.Caddyfile expect', () => {
    const compose = parseYaml(readFileSync(join(REPO_ROOT, 'compose.yaml'), 'utf8')) as {
      services: Record<string, { build?: { context: string; dockerfile: string }; image: string; environment?: Record<string, string>; volumes?: string[]; expose?: string[]; ports?: string[]; depends_on?: string[] }>;
      volumes: Record<string, unknown>;
    };
    const containerfile = readFileSync(join(REPO_ROOT, 'Containerfile'), 'utf8');
    const caddyfile = readFileSync(join(here, 'compose.Caddyfile'), 'utf8');
    const version = (JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { version: string }).version;
    const { earshot, caddy: proxy } = compose.services;
    expect(earshot?.build).toEqual({ context: '.', dockerfile: 'Containerfile' });
    // The default tag is this release, so `compose up --build` and an upgrade by EARSHOT_VERSION name the same images.
    expect(earshot?.image).toBe(`earshot:\${EARSHOT_VERSION:-${version}}`);
    // The relay keeps its data where the image declares its volume, and listens where Caddy sends requests.
    expect(containerfile).toContain('VOLUME ["/data"]');
    expect(earshot?.volumes).toContain('earshot-data:/data');
    const port = /^\s*PORT=(\d+)/m.exec(containerfile)?.[1];
    expect(port).toBe('8080');
    expect(earshot?.expose).toEqual([port]);
    expect(caddyfile).toMatch(new RegExp(`^\\s*reverse_proxy earshot:${port} \\{`, 'm'));
    // Only Caddy is published; it serves $EARSHOT_DOMAIN, the host PUBLIC_URL and ALLOWED_ORIGINS name.
    expect(earshot?.ports).toBeUndefined();
    expect(proxy?.ports).toEqual(expect.arrayContaining(['80:80', '443:443']));
    expect(proxy?.depends_on).toEqual(['earshot']);
    expect(proxy?.volumes).toContain('./deploy/compose.Caddyfile:/etc/caddy/Caddyfile:ro');
    expect(caddyfile).toMatch(/^\{\$EARSHOT_DOMAIN\} \{/m);
    expect(proxy?.environment?.EARSHOT_DOMAIN).toBe('${EARSHOT_DOMAIN}');
    expect(earshot?.environment?.PUBLIC_URL).toMatch(/^https:\/\/\$\{EARSHOT_DOMAIN[:}]/);
    expect(earshot?.environment?.ALLOWED_ORIGINS).toBe('https://${EARSHOT_DOMAIN}');
    // Caddy reaches the relay from the compose network's private range: trusted for X-Forwarded-For.
    expect(earshot?.environment?.TRUSTED_PROXIES).toContain('172.16.0.0/12');
    expect(Object.keys(compose.volumes)).toEqual(expect.arrayContaining(['earshot-data']));
  });

  it('systemd accepts deploy/earshot.service, which drains on SIGTERM and keeps state in /var/lib/earshot', () => {
    const unit = readFileSync(join(here, 'earshot.service'), 'utf8');
    for (const line of ['KillSignal=SIGTERM', 'StateDirectory=earshot', 'Environment=EARSHOT_DATA_DIR=/var/lib/earshot', 'ProtectSystem=strict', 'NoNewPrivileges=yes', 'Restart=on-failure', 'EnvironmentFile=-/etc/earshot/env', 'Environment=TRUSTED_PROXIES=127.0.0.1,::1']) {
      expect(unit).toContain(line);
    }
    // The relay's V8 flags (relay/src/node-flags.ts), as every other way of starting it passes them.
    expect(unit).toContain(`ExecStart=/usr/bin/node ${RELAY_NODE_FLAGS.join(' ')} /opt/earshot/current/dist/relay/earshot.js serve`);
    execFileSync('systemd-analyze', ['verify', join(here, 'earshot.service')], { stdio: 'pipe' });
  });
});
