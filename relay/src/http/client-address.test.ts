import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { canonicalIp, clientAddress, forwardedFor, TrustedProxies } from './client-address.ts';

const none = { xForwardedFor: '', forwarded: '' };

describe('canonicalIp', () => {
  it('writes one address one way: uWS hex IPv6, mapped IPv4, compressed IPv6', () => {
    expect(canonicalIp('127.0.0.1')).toBe('127.0.0.1');
    expect(canonicalIp('0000:0000:0000:0000:0000:ffff:7f00:0001')).toBe('127.0.0.1');
    expect(canonicalIp('::ffff:10.1.2.3')).toBe('10.1.2.3');
    expect(canonicalIp('0000:0000:0000:0000:0000:0000:0000:0001')).toBe('::1');
    expect(canonicalIp('2001:DB8:0:0:1:0:0:1')).toBe('2001:db8::1:0:0:1');
    expect(canonicalIp(' 203.0.113.9 ')).toBe('203.0.113.9');
  });

  it('says null for anything that is not an address', () => {
    for (const s of ['', 'unknown', '1.2.3', '203.0.113.9:443', 'fe80::1%eth0', '_hidden', '1.2.3.4.5']) expect(canonicalIp(s), s).toBeNull();
  });

  it('is stable: a canonical address is its own canonical form', () => {
    fc.assert(
      fc.property(fc.oneof(fc.ipV4(), fc.ipV6()), (ip) => {
        const c = canonicalIp(ip);
        expect(c).not.toBeNull();
        expect(canonicalIp(c!)).toBe(c);
      }),
      { numRuns: 2000 },
    );
  });
});

describe('TrustedProxies', () => {
  it('matches addresses and CIDR ranges of both families', () => {
    const t = new TrustedProxies(['127.0.0.1', '::1', '10.0.0.0/8', 'fd00::/8']);
    for (const ip of ['127.0.0.1', '::1', '10.200.3.4', 'fd12::5']) expect(t.trusts(ip), ip).toBe(true);
    for (const ip of ['127.0.0.2', '11.0.0.1', '2001:db8::1', '192.168.1.1']) expect(t.trusts(ip), ip).toBe(false);
    expect(new TrustedProxies([]).trusts('127.0.0.1')).toBe(false);
  });

  it('names the entry it cannot read', () => {
    for (const bad of ['localhost', '10.0.0.0/33', '::1/129', '1.2.3.4/8/1', '10.0.0.0/x']) expect(() => new TrustedProxies([bad]), bad).toThrow(`'${bad}'`);
  });
});

describe('clientAddress', () => {
  const proxy = new TrustedProxies(['127.0.0.1', '10.0.0.0/8']);

  it('ignores forwarding headers from a peer that is not a trusted proxy (anyone can type them)', () => {
    expect(clientAddress('203.0.113.9', { xForwardedFor: '198.51.100.1', forwarded: 'for=198.51.100.2' }, proxy)).toBe('203.0.113.9');
    expect(clientAddress('127.0.0.1', { xForwardedFor: '198.51.100.1', forwarded: '' }, new TrustedProxies([]))).toBe('127.0.0.1');
  });

  it('takes the rightmost hop that is not a trusted proxy, so a forged left part changes nothing', () => {
    expect(clientAddress('127.0.0.1', { xForwardedFor: '198.51.100.7', forwarded: '' }, proxy)).toBe('198.51.100.7');
    expect(clientAddress('127.0.0.1', { xForwardedFor: '1.1.1.1, 198.51.100.7', forwarded: '' }, proxy)).toBe('198.51.100.7');
    expect(clientAddress('127.0.0.1', { xForwardedFor: '1.1.1.1, 198.51.100.7, 10.0.0.5', forwarded: '' }, proxy)).toBe('198.51.100.7');
    expect(clientAddress('0000:0000:0000:0000:0000:ffff:7f00:0001', { xForwardedFor: '::ffff:198.51.100.7', forwarded: '' }, proxy)).toBe('198.51.100.7');
  });

  it('stops at a hop that is not an address and keeps the last good one', () => {
    expect(clientAddress('127.0.0.1', { xForwardedFor: 'garbage', forwarded: '' }, proxy)).toBe('127.0.0.1');
    expect(clientAddress('127.0.0.1', { xForwardedFor: '198.51.100.7, unknown, 10.0.0.5', forwarded: '' }, proxy)).toBe('10.0.0.5');
  });

  it('reads RFC 7239 Forwarded only when there is no X-Forwarded-For', () => {
    expect(forwardedFor('for=192.0.2.60;proto=http;by=203.0.113.43, for="[2001:db8:cafe::17]:4711", For=198.51.100.1:80')).toEqual(['192.0.2.60', '2001:db8:cafe::17', '198.51.100.1']);
    expect(clientAddress('127.0.0.1', { xForwardedFor: '', forwarded: 'for="[2001:db8:cafe::17]:4711"' }, proxy)).toBe('2001:db8:cafe::17');
    expect(clientAddress('127.0.0.1', { xForwardedFor: '198.51.100.7', forwarded: 'for=192.0.2.1' }, proxy)).toBe('198.51.100.7');
  });

  it('never throws, and from an untrusted peer always answers the peer', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 200 }), fc.string({ maxLength: 200 }), (xff, fwd) => {
        expect(clientAddress('203.0.113.9', { xForwardedFor: xff, forwarded: fwd }, proxy)).toBe('203.0.113.9');
        expect(typeof clientAddress('127.0.0.1', { xForwardedFor: xff, forwarded: fwd }, proxy)).toBe('string');
      }),
      { numRuns: 1000 },
    );
    expect(clientAddress('127.0.0.1', none, proxy)).toBe('127.0.0.1');
  });
});
