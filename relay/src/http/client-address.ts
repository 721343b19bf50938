// Who is really asking: the socket peer, or — only when that peer is one of the operator's trusted proxies —
// the client a proxy names in `X-Forwarded-For` (rightmost hop that is not itself trusted) or, when there is
// no `X-Forwarded-For`, RFC 7239 `Forwarded: for=`. A header from anyone else is ignored: it is a claim anyone
// can type. The failed-sign-in throttle counts per this address, so behind Caddy or nginx one stranger's bad
// tokens no longer count against everyone the proxy carries. Runs on the relay's event loop (pure functions).
import { BlockList, isIPv4, isIPv6 } from 'node:net';

/**
 * The canonical text of an IP address, or null if `text` is not one: IPv4 dotted, IPv6 lowercase and compressed
 * (RFC 5952), IPv4-mapped IPv6 (`::ffff:1.2.3.4`, or uWS's `0000:…:ffff:0102:0304`) as the IPv4 it carries —
 * so one client has one key however it is written.
 */
export function canonicalIp(text: string): string | null {
  const s = text.trim();
  if (isIPv4(s)) return s.split('.').map((o) => String(Number(o))).join('.');
  if (!isIPv6(s) || s.includes('%')) return null;
  const groups = ipv6Groups(s);
  if (groups.slice(0, 5).every((g) => g === 0) && groups[5] === 0xffff) {
    const [hi, lo] = [groups[6]!, groups[7]!];
    return `${hi >> 8}.${hi & 255}.${lo >> 8}.${lo & 255}`;
  }
  // Compress the longest run (length >= 2) of zero groups, leftmost on a tie.
  let best = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen) [best, bestLen] = [i, j - i];
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (best < 0) return hex.join(':');
  return `${hex.slice(0, best).join(':')}::${hex.slice(best + bestLen).join(':')}`;
}

/** Eight 16-bit groups of an address `isIPv6` accepted (with `::` and an embedded IPv4 tail). */
function ipv6Groups(s: string): number[] {
  let text = s.toLowerCase();
  const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (v4) {
    const [a, b, c, d] = v4[1]!.split('.').map(Number) as [number, number, number, number];
    text = `${text.slice(0, v4.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head, tail] = text.includes('::') ? (text.split('::') as [string, string]) : [text, undefined];
  const left = head ? head.split(':') : [];
  const right = tail ? tail.split(':') : [];
  const zeros = tail === undefined ? [] : Array<string>(8 - left.length - right.length).fill('0');
  return [...left, ...zeros, ...right].map((g) => parseInt(g, 16));
}

export class TrustedProxyError extends Error {
  override readonly name = 'TrustedProxyError';
}

/** The operator's trusted proxies: addresses and CIDR ranges (`127.0.0.1`, `::1`, `10.0.0.0/8`, `fd00::/8`). */
export class TrustedProxies {
  private readonly list = new BlockList();
  readonly size: number;

  /** Throws TrustedProxyError naming the first entry that is neither an address nor a CIDR range. */
  constructor(entries: readonly string[]) {
    for (const entry of entries) {
      const [addr = '', bits, extra] = entry.trim().split('/');
      const ip = canonicalIp(addr);
      const family = ip === null ? null : isIPv4(ip) ? 'ipv4' : 'ipv6';
      const prefix = bits === undefined ? undefined : /^\d{1,3}$/.test(bits) ? Number(bits) : NaN;
      if (ip === null || family === null || extra !== undefined || (prefix !== undefined && !(prefix <= (family === 'ipv4' ? 32 : 128)))) {
        throw new TrustedProxyError(`'${entry}' is not an IP address or a CIDR range (e.g. 127.0.0.1, ::1, 10.0.0.0/8)`);
      }
      if (prefix === undefined) this.list.addAddress(ip, family);
      else this.list.addSubnet(ip, prefix, family);
    }
    this.size = entries.length;
  }

  /** Whether `ip` (canonical, see canonicalIp) is one of the trusted proxies. */
  trusts(ip: string): boolean {
    if (this.size === 0) return false;
    return this.list.check(ip, isIPv4(ip) ? 'ipv4' : 'ipv6');
  }
}

export interface ForwardingHeaders {
  xForwardedFor: string;
  forwarded: string;
}

/** At most this many hops are looked at: a header is the client's to make as long as it likes. */
const MAX_HOPS = 32;

/** The `for=` values of a `Forwarded` header, leftmost first (quotes, brackets and ports removed). */
export function forwardedFor(header: string): string[] {
  const out: string[] = [];
  for (const element of header.split(',').slice(-MAX_HOPS)) {
    for (const pair of element.split(';')) {
      const eq = pair.indexOf('=');
      if (eq < 0 || pair.slice(0, eq).trim().toLowerCase() !== 'for') continue;
      let value = pair.slice(eq + 1).trim().replace(/^"(.*)"$/, '$1');
      const bracketed = /^\[([^\]]+)\](?::\d+)?$/.exec(value);
      if (bracketed) value = bracketed[1]!;
      else if (/^[\d.]+:\d+$/.test(value)) value = value.slice(0, value.lastIndexOf(':'));
      out.push(value);
    }
  }
  return out;
}

/**
 * The address to throttle and log. `peer` is the socket's remote address; the headers count only if `peer` is
 * trusted. Walking right to left, every trusted hop is skipped; the first untrusted one is the client. A hop that
 * is not an address (`unknown`, garbage) stops the walk: the last hop known good is used.
 */
export function clientAddress(peer: string, headers: ForwardingHeaders, trusted: TrustedProxies): string {
  const socketIp = canonicalIp(peer) ?? peer;
  if (!trusted.trusts(socketIp)) return socketIp;
  const hops = headers.xForwardedFor.trim() !== '' ? headers.xForwardedFor.split(',').slice(-MAX_HOPS) : forwardedFor(headers.forwarded);
  let client = socketIp;
  for (let i = hops.length - 1; i >= 0; i--) {
    const ip = canonicalIp(hops[i]!);
    if (ip === null) break;
    client = ip;
    if (!trusted.trusts(ip)) break;
  }
  return client;
}
