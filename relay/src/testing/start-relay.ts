// Test helpers shared by the whole suite: a relay in this process on an ephemeral port with a temp data dir
// (in-process simulator unless told otherwise), and a relay as a child process for crash/signal tests.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import pino from 'pino';
import { parseConfig, type RelayConfig } from '../config/config.ts';
import { startRelay, type Relay, type RelayDeps } from '../server.ts';
import { issueToken } from '../auth/tokens.ts';
import type { UserPatch } from '../store/store.ts';
import type { UpstreamFactory } from '../upstream/upstream.ts';
import { createSimulatorUpstreamFactory } from '../simulator/in-process.ts';

export const REPO_ROOT = resolve(import.meta.dirname, '../../..');

/** Test relays serve /metrics behind this bearer (without a token /metrics is off): read it with fetchMetrics. */
export const TEST_METRICS_TOKEN = 'test-metrics-token-0123456789';

/** GET `${baseUrl}/metrics` with the test relays' metrics bearer. */
export function fetchMetrics(baseUrl: string, token = TEST_METRICS_TOKEN): Promise<Response> {
  return fetch(`${baseUrl}/metrics`, { headers: { authorization: `Bearer ${token}` } });
}

export function tempDataDir(prefix = 'earshot-test-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

export type DeepPartial<T> = { [K in keyof T]?: T[K] extends object ? (T[K] extends unknown[] ? T[K] : DeepPartial<T[K]>) : T[K] };

export interface TestRelay extends Relay {
  config: RelayConfig;
  /** Creates (or updates) the user and returns a fresh token for them. */
  mint(userId: string, options?: { days?: number; user?: Omit<UserPatch, 'id'> }): Promise<string>;
  /** ws URL of the Realtime endpoint. */
  wsUrl: string;
  /** How many times the upstream factory ran (proves that a rejected client opened no upstream). */
  upstreamsOpened(): number;
  stop(): Promise<void>;
}

export async function startTestRelay(overrides: DeepPartial<RelayConfig> & Record<string, unknown> = {}, deps: RelayDeps = {}): Promise<TestRelay> {
  const dataDir = (overrides.dataDir as string | undefined) ?? tempDataDir();
  const config = parseConfig({ host: '127.0.0.1', port: 0, staticDir: join(REPO_ROOT, 'dist/client'), metricsToken: TEST_METRICS_TOKEN, ...overrides, dataDir });
  let opened = 0;
  const inner: UpstreamFactory = deps.upstreamFactory ?? createSimulatorUpstreamFactory({ pitchShift: config.simulator.pitchShift });
  const counting: UpstreamFactory = (o, h) => {
    opened++;
    return inner(o, h);
  };
  const relay = await startRelay(config, { log: pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' }), ...deps, upstreamFactory: counting });
  const wsBase = relay.url.replace(/^http/, 'ws');
  return Object.assign(relay, {
    config,
    wsUrl: `${wsBase}/v1/realtime?model=gpt-realtime`,
    upstreamsOpened: () => opened,
    async mint(userId: string, options: { days?: number; user?: Omit<UserPatch, 'id'> } = {}) {
      await relay.store.upsertUser({ id: userId, ...options.user });
      const issued = await issueToken(relay.secret, { userId, days: options.days ?? 1 });
      await relay.store.addToken({ id: issued.tokenId, userId, createdAt: new Date().toISOString(), expiresAt: issued.expiresAt });
      return issued.token;
    },
    async stop() {
      await relay.close();
      if (overrides.dataDir === undefined) rmSync(dataDir, { recursive: true, force: true });
    },
  });
}

export interface RelayProcess {
  child: ChildProcess;
  url: string;
  port: number;
  /** Every stdout line so far (JSON logs). */
  lines: string[];
  /** Sends `signal` and resolves with the exit code (null if killed by a signal). */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
  exited: Promise<number | null>;
  /** The DevTools endpoint when started with `nodeArgs: ['--inspect=127.0.0.1:0']` (see testing/live-memory.ts). */
  inspectorUrl?: string;
}

/**
 * Runs `relay/src/main.ts` as a child (or `script`, e.g. the built `earshot.js serve`, from `cwd`); resolves
 * once it logs `listening`.
 */
export function spawnRelayProcess(env: Record<string, string>, options: { timeoutMs?: number; nodeArgs?: string[]; script?: string[]; cwd?: string } = {}): Promise<RelayProcess> {
  const nodeArgs = options.nodeArgs ?? [];
  const script = options.script ?? ['--import', 'tsx', join(REPO_ROOT, 'relay/src/main.ts')];
  const child = spawn(process.execPath, [...nodeArgs, ...script], {
    cwd: options.cwd ?? REPO_ROOT,
    env: { PATH: process.env.PATH ?? '', HOST: '127.0.0.1', PORT: '0', LOG_LEVEL: 'info', METRICS_TOKEN: TEST_METRICS_TOKEN, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: string[] = [];
  let stderr = '';
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  return new Promise((resolvePromise, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`relay did not start in time; stderr: ${stderr}; stdout: ${lines.join('\n')}`));
    }, options.timeoutMs ?? 20_000);
    let buffer = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      buffer += chunk.toString();
      let nl;
      while ((nl = buffer.indexOf('\n')) >= 0) {
        const line = buffer.slice(0, nl);
        buffer = buffer.slice(nl + 1);
        lines.push(line);
        try {
          const entry = JSON.parse(line) as { msg?: string; url?: string };
          if (entry.msg === 'listening' && entry.url) {
            clearTimeout(timer);
            const port = Number(new URL(entry.url).port);
            // Node prints the inspector's address on stderr before any of the relay's code runs.
            const inspectorUrl = /Debugger listening on (ws:\/\/\S+)/.exec(stderr)?.[1];
            if (nodeArgs.some((a) => a.startsWith('--inspect')) && !inspectorUrl) reject(new Error(`no inspector address on stderr: ${stderr}`));
            resolvePromise({
              child,
              url: entry.url,
              inspectorUrl,
              port,
              lines,
              exited,
              stop(signal = 'SIGTERM') {
                if (child.exitCode === null && child.signalCode === null) child.kill(signal);
                return exited;
              },
            });
          }
        } catch {
          // not a JSON line
        }
      }
    });
    child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`relay exited with ${code} before listening; stderr: ${stderr}`));
    });
  });
}
