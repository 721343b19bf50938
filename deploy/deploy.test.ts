// The example deployment files, checked for real: nginx is started with deploy/nginx.conf and a Realtime session
// runs through it over TLS; Caddy validates deploy/Caddyfile; systemd verifies deploy/earshot.service.
// (.ci/run installs nginx and caddy.)
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { RealtimeTestClient } from '../relay/src/testing/realtime-client.ts';
import { REPO_ROOT, startTestRelay, tempDataDir, type TestRelay } from '../relay/src/testing/start-relay.ts';

const here = join(REPO_ROOT, 'deploy');

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

describe('deployment examples', () => {
  let nginx: ChildProcess | undefined;
  let relay: TestRelay | undefined;
  afterAll(async () => {
    nginx?.kill('SIGQUIT');
    await relay?.stop();
  });

  it('nginx with deploy/nginx.conf proxies a WebSocket session over TLS to the relay', async () => {
    relay = await startTestRelay();
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
  });

  it('Caddy accepts deploy/Caddyfile', () => {
    const out = execFileSync('caddy', ['validate', '--adapter', 'caddyfile', '--config', join(here, 'Caddyfile')], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    expect(out).toContain('Valid configuration');
  });

  it('systemd accepts deploy/earshot.service, which drains on SIGTERM and keeps state in /var/lib/earshot', () => {
    const unit = readFileSync(join(here, 'earshot.service'), 'utf8');
    for (const line of ['KillSignal=SIGTERM', 'StateDirectory=earshot', 'Environment=EARSHOT_DATA_DIR=/var/lib/earshot', 'ProtectSystem=strict', 'NoNewPrivileges=yes', 'Restart=on-failure', 'EnvironmentFile=-/etc/earshot/env']) {
      expect(unit).toContain(line);
    }
    execFileSync('systemd-analyze', ['verify', join(here, 'earshot.service')], { stdio: 'pipe' });
  });
});
