import { describe, expect, it } from 'vitest';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError, backendOf, loadConfig } from './config.ts';
import { tempDataDir } from '../testing/start-relay.ts';

describe('config', () => {
  it('has working defaults: loopback:8080, simulator backend', () => {
    const c = loadConfig({});
    expect([c.host, c.port, c.dataDir, backendOf(c)]).toEqual(['127.0.0.1', 8080, './data', 'simulator']);
    expect(c.limits.maxSessionMs).toBe(60 * 60 * 1000);
    expect(c.policy.allowedClientEvents).toContain('input_audio_buffer.append');
  });

  it('layers env over the file', () => {
    const file = join(tempDataDir(), 'earshot.json');
    writeFileSync(file, JSON.stringify({ port: 9000, policy: { voice: 'cedar' }, limits: { maxMessagesPerSecond: 99 } }));
    const c = loadConfig({ EARSHOT_CONFIG: file, PORT: '9100', OPENAI_API_KEY: 'sk-x', ALLOWED_ORIGINS: 'https://a.example, https://b.example' });
    expect([c.port, c.policy.voice, c.limits.maxMessagesPerSecond, backendOf(c)]).toEqual([9100, 'cedar', 99, 'provider']);
    expect(c.allowedOrigins).toEqual(['https://a.example', 'https://b.example']);
  });

  it('refuses invalid values naming each bad key', () => {
    expect(() => loadConfig({ PORT: '70000' })).toThrow(ConfigError);
    expect(() => loadConfig({ PORT: 'x', UPSTREAM_URL: 'not a url' })).toThrow(/port[\s\S]*upstreamUrl/);
    expect(() => loadConfig({ TLS_CERT: '/c.pem' })).toThrow(/TLS_KEY/);
    expect(() => loadConfig({ EARSHOT_CONFIG: '/nonexistent.json' })).toThrow(/Cannot read config file/);
  });
});
