// The two network namespaces of an emulated phone link (one for the browser, one for the relay), with names
// unique to this process so parallel CI runs and leftovers of killed runs never collide.
// Names: `esh-<pid>-<n>-b|r` for namespaces (the pid lets a later run tell a leftover from a live run),
// `es<8 hex>b|r` for the TUN devices (15 characters at most; they only exist while tun-pair.py runs).
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync } from 'node:fs';

const NETNS_DIR = '/run/netns';
const PREFIX = 'esh-';
let counter = 0;

export interface NamespacePair {
  browserNs: string;
  relayNs: string;
  browserTun: string;
  relayTun: string;
}

export function ip(args: string[]): string {
  return execFileSync('ip', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

export function newNames(): NamespacePair {
  const n = `${PREFIX}${process.pid}-${counter++}`;
  const tun = `es${randomBytes(4).toString('hex')}`;
  return { browserNs: `${n}-b`, relayNs: `${n}-r`, browserTun: `${tun}b`, relayTun: `${tun}r` };
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Deletes namespaces left by runs whose process is gone (a SIGKILLed test cannot clean up after itself). */
export function removeStaleNamespaces(): string[] {
  if (!existsSync(NETNS_DIR)) return [];
  const removed: string[] = [];
  for (const name of readdirSync(NETNS_DIR)) {
    const pid = Number(/^esh-(\d+)-/.exec(name)?.[1]);
    if (!Number.isInteger(pid) || pid === process.pid || alive(pid)) continue;
    deleteNamespace(name);
    removed.push(name);
  }
  return removed;
}

export function deleteNamespace(name: string): void {
  try {
    ip(['netns', 'del', name]);
  } catch {
    // already gone
  }
}

/** Runs a shell command inside a namespace (for the few /proc/sys knobs `ip` has no verb for). */
export function inNamespace(ns: string, command: string[]): string {
  return execFileSync('ip', ['netns', 'exec', ns, ...command], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

/**
 * Moves a TUN device into `ns` and brings it up with `address` (a /24 shared by both ends), with the namespace's
 * loopback up and IPv6 off (no router solicitations or link-local chatter on the emulated link).
 */
export function configureEnd(ns: string, tun: string, address: string): void {
  ip(['link', 'set', tun, 'netns', ns]);
  inNamespace(ns, ['sh', '-c', 'echo 1 > /proc/sys/net/ipv6/conf/all/disable_ipv6; echo 1 > /proc/sys/net/ipv6/conf/default/disable_ipv6']);
  ip(['-n', ns, 'link', 'set', 'lo', 'up']);
  ip(['-n', ns, 'addr', 'add', `${address}/24`, 'dev', tun]);
  ip(['-n', ns, 'link', 'set', tun, 'mtu', '1500', 'up']);
}

/** The tun device's IPv4 addresses in `ns`. */
export function addressesOf(ns: string, tun: string): string[] {
  return [...ip(['-n', ns, '-4', '-o', 'addr', 'show', 'dev', tun]).matchAll(/inet (\d+\.\d+\.\d+\.\d+)\//g)].map((m) => m[1]!);
}
