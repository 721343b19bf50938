// Set-up shared by the compatibility suite: the real relay on loopback (in-process simulator) with its default
// operator policy, optionally over TLS with a throwaway certificate.
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { startTestRelay, tempDataDir, type TestRelay } from '../testing/start-relay.ts';

export function selfSignedCert(): { cert: string; key: string } {
  const dir = tempDataDir('earshot-compat-tls-');
  const tls = { cert: join(dir, 'cert.pem'), key: join(dir, 'key.pem') };
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', tls.key, '-out', tls.cert, '-days', '1', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1'], { stdio: 'ignore' });
  return tls;
}

/** The relay with its default policy: SDKs must work unchanged against what an operator gets out of the box. */
export async function startCompatRelay(options: { tls?: { cert: string; key: string } } = {}): Promise<TestRelay> {
  return startTestRelay(options.tls ? { tlsCert: options.tls.cert, tlsKey: options.tls.key } : {});
}

/** Lets this process trust the throwaway certificate for the duration of `run` (Node reads the variable per connection). */
export async function trustingSelfSigned<T>(run: () => Promise<T>): Promise<T> {
  const previous = process.env.NODE_TLS_REJECT_UNAUTHORIZED;
  process.env.NODE_TLS_REJECT_UNAUTHORIZED = '0';
  try {
    return await run();
  } finally {
    if (previous === undefined) delete process.env.NODE_TLS_REJECT_UNAUTHORIZED;
    else process.env.NODE_TLS_REJECT_UNAUTHORIZED = previous;
  }
}
