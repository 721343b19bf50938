// `node --import tsx bench/cpu-prof-blocks.ts <file.cpuprofile> [minMs]`: the synchronous blocks of a V8 CPU
// profile (bench:event-loop with ELD_CPU_PROF=1 writes one per relay). A block is a run of consecutive samples
// that are not `(idle)`: the event loop busy without a break. Blocks of at least `minMs` (default 2) are grouped
// by what ran in them — the heaviest JavaScript function of the block by self time, with the callback chain
// that led to it — so "what holds the loop for 10 ms every 500 ms" reads off the table. Also prints the whole
// profile's self time by function (top 25), the cost a fix cannot remove when it is a library or a syscall.
// LIMIT: uWS dispatches its callbacks while V8 marks the thread idle, so a relay's frame path (and anything it
// calls) is counted as `(idle)` here; it sees timers, immediates and startup. For the frame path use perf
// (`ELD_PERF=1 npm run bench:event-loop`, then `perf report -i bench/results/cpu-prof/<name>.perf.data`).
import { readFileSync } from 'node:fs';

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
}
interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

const label = (f: CallFrame): string => `${f.functionName || '(anonymous)'} ${f.url.replace(/^.*\/(node_modules\/|relay\/src\/|bench\/)/, '$1')}${f.url ? `:${f.lineNumber + 1}` : ''}`;

export function blocks(profile: Profile, minMs: number) {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const stackOf = (id: number): ProfileNode[] => {
    const out: ProfileNode[] = [];
    for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) out.unshift(byId.get(at)!);
    return out.slice(1); // without (root)
  };
  const isIdle = (id: number) => byId.get(id)!.callFrame.functionName === '(idle)';
  const selfUs = new Map<string, number>();
  let totalUs = 0;
  const found: Array<{ ms: number; at: number; top: string; chain: string }> = [];
  let run: Array<{ id: number; us: number }> = [];
  let t = profile.startTime;
  let runStart = t;
  const close = () => {
    const us = run.reduce((s, x) => s + x.us, 0);
    if (us >= minMs * 1000) {
      // The block's heaviest function by self time, and the chain of the first sample that ran it.
      const self = new Map<number, number>();
      for (const x of run) self.set(x.id, (self.get(x.id) ?? 0) + x.us);
      const byLabel = new Map<string, number>();
      for (const [id, v] of self) byLabel.set(label(byId.get(id)!.callFrame), (byLabel.get(label(byId.get(id)!.callFrame)) ?? 0) + v);
      const top = [...byLabel].sort((a, b) => b[1] - a[1])[0]![0];
      const first = run.find((x) => label(byId.get(x.id)!.callFrame) === top)!;
      const chain = stackOf(first.id)
        .filter((n) => n.callFrame.url !== '' || n.callFrame.functionName.startsWith('('))
        .map((n) => n.callFrame.functionName || '(anonymous)')
        .slice(0, 8)
        .join(' > ');
      found.push({ ms: us / 1000, at: (runStart - profile.startTime) / 1000, top, chain });
    }
    run = [];
  };
  for (let i = 0; i < profile.samples.length; i++) {
    const id = profile.samples[i]!;
    const us = profile.timeDeltas[i + 1] ?? 0; // a sample's time is the gap to the next one
    t += profile.timeDeltas[i]!;
    if (isIdle(id)) {
      close();
      continue;
    }
    if (run.length === 0) runStart = t;
    run.push({ id, us });
    totalUs += us;
    const l = label(byId.get(id)!.callFrame);
    selfUs.set(l, (selfUs.get(l) ?? 0) + us);
  }
  close();
  return { found, selfUs, totalUs, wallMs: (profile.endTime - profile.startTime) / 1000 };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const file = process.argv[2];
  if (!file) throw new Error('usage: cpu-prof-blocks.ts <file.cpuprofile> [minMs]');
  const minMs = Number(process.argv[3] ?? 2);
  const { found, selfUs, totalUs, wallMs } = blocks(JSON.parse(readFileSync(file, 'utf8')) as Profile, minMs);
  const groups = new Map<string, number[]>();
  for (const b of found) groups.set(`${b.top} | ${b.chain}`, [...(groups.get(`${b.top} | ${b.chain}`) ?? []), b.ms]);
  console.log(`${file}: ${(wallMs / 1000).toFixed(1)} s profiled, ${(totalUs / 1e6).toFixed(2)} s busy; ${found.length} blocks ≥ ${minMs} ms`);
  console.log('\n| blocks | total ms | max ms | heaviest function (self) | callback chain |\n|---|---|---|---|---|');
  for (const [k, ms] of [...groups].sort((a, b) => b[1].reduce((s, x) => s + x, 0) - a[1].reduce((s, x) => s + x, 0)).slice(0, 20)) {
    const [top, chain] = k.split(' | ');
    console.log(`| ${ms.length} | ${ms.reduce((s, x) => s + x, 0).toFixed(1)} | ${Math.max(...ms).toFixed(1)} | ${top} | ${chain} |`);
  }
  console.log('\n| self % of busy | function |\n|---|---|');
  for (const [l, us] of [...selfUs].sort((a, b) => b[1] - a[1]).slice(0, 25)) console.log(`| ${((us / totalUs) * 100).toFixed(1)} | ${l} |`);
}
