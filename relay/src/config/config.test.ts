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

  it('takes the client-event allow-list as open strings: GA events the installed types lack, and newer ones', () => {
    expect(loadConfig({}).policy.allowedClientEvents).toEqual(expect.arrayContaining(['session.close', 'session.input_audio_buffer.append', 'response.create']));
    const file = join(tempDataDir(), 'earshot.json');
    const listed = ['session.update', 'session.close', 'session.input_audio_buffer.append', 'conversation.item.future_event'];
    writeFileSync(file, JSON.stringify({ policy: { allowedClientEvents: listed } }));
    expect(loadConfig({ EARSHOT_CONFIG: file }).policy.allowedClientEvents).toEqual(listed);
    writeFileSync(file, JSON.stringify({ policy: { allowedClientEvents: [''] } }));
    expect(() => loadConfig({ EARSHOT_CONFIG: file })).toThrow(/allowedClientEvents/);
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

  it('allows only the configured model unless told more, and always the configured one', () => {
    expect(loadConfig({}).allowedModels).toEqual(['gpt-realtime']);
    expect(loadConfig({ MODEL: 'gpt-realtime-mini' }).allowedModels).toEqual(['gpt-realtime-mini']);
    expect(loadConfig({ ALLOWED_MODELS: 'gpt-realtime-mini, gpt-realtime' }).allowedModels).toEqual(['gpt-realtime-mini', 'gpt-realtime']);
    expect(loadConfig({ ALLOWED_MODELS: 'gpt-realtime-mini' }).allowedModels).toEqual(['gpt-realtime', 'gpt-realtime-mini']);
  });

  it('trusts no proxy by default, reads TRUSTED_PROXIES, and names an entry it cannot read', () => {
    expect(loadConfig({}).trustedProxies).toEqual([]);
    expect(loadConfig({ TRUSTED_PROXIES: '127.0.0.1, ::1, 10.0.0.0/8' }).trustedProxies).toEqual(['127.0.0.1', '::1', '10.0.0.0/8']);
    expect(() => loadConfig({ TRUSTED_PROXIES: '127.0.0.1,localhost' })).toThrow(/trustedProxies: 'localhost' is not an IP address/);
  });

  it('reads the metrics settings and refuses a guessable metrics token', () => {
    const c = loadConfig({ METRICS_TOKEN: 'a-long-enough-metrics-token', METRICS_PORT: '9464' });
    expect([c.metricsToken, c.metricsHost, c.metricsPort]).toEqual(['a-long-enough-metrics-token', '127.0.0.1', 9464]);
    expect(loadConfig({}).metricsToken).toBeUndefined();
    expect(() => loadConfig({ METRICS_TOKEN: 'short' })).toThrow(/metricsToken/);
  });
});
