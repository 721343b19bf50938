// Drives a probe-agent.ts process inside one of the emulator's namespaces from the test's process.
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type { LinkEmulator } from './emulator.ts';
import type { ProbeCommand } from './probe-agent.ts';
import { REPO_ROOT } from '../../relay/src/testing/start-relay.ts';

type WithoutId<T> = T extends unknown ? Omit<T, 'id'> : never;

export interface Probe {
  call<T extends Record<string, unknown>>(command: WithoutId<ProbeCommand>): Promise<T>;
}

export async function startProbe(emulator: LinkEmulator, where: 'browser' | 'relay'): Promise<Probe> {
  const child = emulator.spawnIn(where, process.execPath, ['--import', 'tsx', join(import.meta.dirname, 'probe-agent.ts')], {
    cwd: REPO_ROOT,
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const waiting = new Map<number, (reply: Record<string, unknown>) => void>();
  let nextId = 1;
  const ready = new Promise<void>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`probe agent in the ${where} namespace exited with ${code}`)));
    createInterface({ input: child.stdout! }).on('line', (line) => {
      const msg = JSON.parse(line) as Record<string, unknown>;
      if (msg.ready) return resolve();
      const id = msg.id as number;
      waiting.get(id)?.(msg);
      waiting.delete(id);
    });
  });
  await ready;
  return {
    call<T extends Record<string, unknown>>(command: WithoutId<ProbeCommand>): Promise<T> {
      const id = nextId++;
      return new Promise<T>((resolve, reject) => {
        waiting.set(id, (reply) => (typeof reply.error === 'string' ? reject(new Error(`probe ${command.cmd}: ${reply.error}`)) : resolve(reply as T)));
        child.stdin!.write(`${JSON.stringify({ ...command, id })}\n`);
      });
    },
  };
}
