// Where onboarding links point: PUBLIC_URL when set; otherwise the address the relay really listens on (the
// running relay's address file, else the config's host and port), with a plain warning when a phone cannot
// open it — a loopback address, or plain HTTP (browsers only give the microphone to HTTPS pages).
import { isIP } from 'node:net';
import type { RelayConfig } from '../config/config.ts';
import { readRunningRelayAddress, type RelayAddress } from '../data-dir/address-file.ts';

export interface LinkBase {
  url: string;
  /** Set when the link will not open on a phone; says what to do. */
  warning?: string;
}

export function isLoopbackHost(hostname: string): boolean {
  const host = hostname.replace(/^\[|\]$/g, '');
  return host === 'localhost' || host.endsWith('.localhost') || host === '::1' || host === '0.0.0.0' || host === '::' || (isIP(host) === 4 && host.startsWith('127.'));
}

const SET_PUBLIC_URL = 'set PUBLIC_URL (e.g. PUBLIC_URL=https://earshot.example.com) to the HTTPS address phones use, behind Caddy or with TLS_CERT/TLS_KEY';

export function linkBase(config: RelayConfig, running: Pick<RelayAddress, 'url'> | null = readRunningRelayAddress(config.dataDir)): LinkBase {
  if (config.publicUrl) return { url: config.publicUrl.replace(/\/+$/, '') };
  const host = config.host.includes(':') ? `[${config.host}]` : config.host;
  const url = (running?.url ?? `${config.tlsCert ? 'https' : 'http'}://${host}:${config.port}`).replace(/\/+$/, '');
  const parsed = new URL(url);
  if (!running && config.port === 0) {
    return { url, warning: `the relay is not running and PORT is 0 (any free port), so this link has no real port; start the relay first, or ${SET_PUBLIC_URL}` };
  }
  if (isLoopbackHost(parsed.hostname)) {
    return { url, warning: `PUBLIC_URL is not set, so this link points at ${parsed.host}, which only this machine can open: a phone cannot. Open it in a browser here, or ${SET_PUBLIC_URL}` };
  }
  if (parsed.protocol !== 'https:') {
    return { url, warning: `PUBLIC_URL is not set and this link is plain HTTP: phones only give the microphone to HTTPS pages; ${SET_PUBLIC_URL}` };
  }
  return { url };
}
