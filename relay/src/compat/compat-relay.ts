// Set-up shared by the compatibility suite: the real relay on loopback (in-process simulator) with an
// operator policy that lets agents bring their own tools, optionally over TLS with a throwaway certificate,
// and speech as pcm16 24 kHz for spoken turns.
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { startTestRelay, tempDataDir, type TestRelay } from '../testing/start-relay.ts';
import type { RelayConfig } from '../config/config.ts';

/** The default mutable fields plus `tools`/`tool_choice`: what an operator sets to let agent SDKs bring their tools. */
export const AGENT_MUTABLE_FIELDS = [
  'type',
  'audio.output.voice',
  'instructions',
  'audio.input.turn_detection',
  'audio.input.noise_reduction',
  'audio.input.transcription',
  'output_modalities',
  'tools',
  'tool_choice',
  // TEMPORARY, until policy-by-outcome (issue 13, another branch) is merged: the plumbing fields the SDKs always
  // send with the session's own values. With that work they pass as equal to the effective session, and these
  // lines go, so the suite proves SDKs work under the default lock.
  'model',
  'tracing',
  'audio.input.format',
  'audio.output.format',
  'audio.output.speed',
  'max_output_tokens',
];

export function selfSignedCert(): { cert: string; key: string } {
  const dir = tempDataDir('earshot-compat-tls-');
  const tls = { cert: join(dir, 'cert.pem'), key: join(dir, 'key.pem') };
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', tls.key, '-out', tls.cert, '-days', '1', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1'], { stdio: 'ignore' });
  return tls;
}

export async function startCompatRelay(options: { tls?: { cert: string; key: string } } = {}): Promise<TestRelay> {
  const policy: Partial<RelayConfig['policy']> = { clientMutableFields: AGENT_MUTABLE_FIELDS };
  return startTestRelay({ policy, ...(options.tls ? { tlsCert: options.tls.cert, tlsKey: options.tls.key } : {}) });
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
