// Preloaded into every relay under benchmark (`node --require bench/gc-probe.cjs …`), the same for Earshot, the
// reference and the floor: counts GC pauses with a perf_hooks observer, so the bench can read the GC share of a
// measured window through the inspector (globalThis.__benchGc). CommonJS so it loads before any ESM loader hook.
const { PerformanceObserver } = require('node:perf_hooks');
const gc = { ms: 0, count: 0, scavenges: 0 };
globalThis.__benchGc = gc;
new PerformanceObserver((list) => {
  for (const e of list.getEntries()) {
    gc.ms += e.duration;
    gc.count++;
    // detail.kind 1 = minor (scavenge) in Node's perf_hooks constants.
    if (e.detail && e.detail.kind === 1) gc.scavenges++;
  }
}).observe({ entryTypes: ['gc'] });
