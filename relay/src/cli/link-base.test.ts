// Where onboarding links point, and when the operator is told a phone cannot open them.
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../config/config.ts';
import { isLoopbackHost, linkBase } from './link-base.ts';

const config = (raw: Record<string, unknown> = {}) => parseConfig({ dataDir: '/nonexistent', ...raw });

describe('linkBase', () => {
  it('uses PUBLIC_URL as it is (without a trailing slash) and warns about nothing', () => {
    expect(linkBase(config({ publicUrl: 'https://earshot.example.com/' }), { url: 'http://127.0.0.1:41234' })).toEqual({ url: 'https://earshot.example.com' });
  });

  it('without PUBLIC_URL uses the running relay’s real address, not the default :8080, and says a phone cannot open loopback', () => {
    const base = linkBase(config(), { url: 'http://127.0.0.1:41234' });
    expect(base.url).toBe('http://127.0.0.1:41234');
    expect(base.warning).toMatch(/only this machine can open: a phone cannot.*set PUBLIC_URL/);
  });

  it('with no relay running falls back to the configured host and port', () => {
    expect(linkBase(config({ host: '127.0.0.1', port: 9000 }), null).url).toBe('http://127.0.0.1:9000');
  });

  it('says a PORT=0 link has no real port when the relay is not running', () => {
    expect(linkBase(config({ port: 0 }), null).warning).toMatch(/not running and PORT is 0/);
  });

  it('warns that plain HTTP on a LAN address gets no microphone on a phone', () => {
    const base = linkBase(config({ host: '192.168.1.20' }), { url: 'http://192.168.1.20:8080' });
    expect(base.warning).toMatch(/only give the microphone to HTTPS/);
  });

  it('takes 127.x, ::1, localhost and wildcard addresses as loopback-only', () => {
    for (const host of ['127.0.0.1', '127.1.2.3', '[::1]', 'localhost', '0.0.0.0', '[::]']) expect(isLoopbackHost(host), host).toBe(true);
    for (const host of ['192.168.1.2', 'earshot.example.com', '10.0.0.1']) expect(isLoopbackHost(host), host).toBe(false);
  });
});
