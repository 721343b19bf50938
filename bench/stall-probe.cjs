// Preloaded into a relay by `npm run bench:stalls` (`node --require bench/stall-probe.cjs …`): what holds the
// relay's event loop, callback by callback (issue 17: Earshot holds fewer sessions per core in real time than its
// CPU per session-minute predicts). Every callback the loop runs is timed and labelled:
//   - Node callbacks through async_hooks before/after, labelled by resource type (TCPWRAP, Timeout, Immediate,
//     MESSAGEPORT, …); timers and immediates also by where they were created (the first stack frame outside Node);
//   - uWS's native callbacks (which bypass async_hooks) by wrapping each `app.ws()` behaviour's handlers.
// Callbacks less than GAP_US apart are joined into one "busy stretch": a frame that arrives during a stretch waits
// for its end, so the stretches' lengths are what the loop adds to a frame's latency (native work between
// callbacks, e.g. uWS's own epoll and sends, is not counted; the lengths are a lower bound). GC pauses come from
// a perf_hooks observer. SIGUSR2 once resets the counters (window start), twice writes the JSON report to
// STALL_PROBE_OUT (window end). Diagnostic only: the hooks cost ~1 µs per callback.
'use strict';
const { performance, PerformanceObserver } = require('node:perf_hooks');
const asyncHooks = require('node:async_hooks');
const { writeFileSync } = require('node:fs');

const GAP_US = Number(process.env.STALL_PROBE_GAP_US ?? 50);
const LONG_MS = Number(process.env.STALL_PROBE_LONG_MS ?? 1);
const now = () => performance.now();

let labels = new Map(); // label -> { n, ms, max }
let stretches = []; // { at, ms, top: label -> ms }
let gcs = [];
let stretch = null; // the stretch being built: { start, end, by: Map }
let depth = 0;
let started = 0;

function site() {
  const lines = (new Error().stack || '').split('\n').slice(2);
  for (const l of lines) {
    if (l.includes('stall-probe') || l.includes('node:')) continue;
    const m = /\(?([^()\s]+:\d+):\d+\)?$/.exec(l.trim());
    const fn = /at (\S+) \(/.exec(l.trim());
    if (m) return `${fn ? fn[1] + ' ' : ''}${m[1].replace(process.cwd() + '/', '').replace('file://', '')}`;
  }
  return '?';
}

function enter() {
  if (depth++ > 0) return -1;
  return now();
}
function leave(label, t) {
  if (--depth > 0 || t < 0) return;
  const e = now();
  const d = e - t;
  let s = labels.get(label);
  if (!s) labels.set(label, (s = { n: 0, ms: 0, max: 0 }));
  s.n++;
  s.ms += d;
  if (d > s.max) s.max = d;
  if (stretch && t - stretch.end < GAP_US / 1000) {
    stretch.end = e;
  } else {
    closeStretch();
    stretch = { start: t, end: e, by: new Map() };
  }
  stretch.by.set(label, (stretch.by.get(label) || 0) + d);
}
function closeStretch() {
  if (!stretch) return;
  const ms = stretch.end - stretch.start;
  if (ms >= LONG_MS && stretches.length < 20000) {
    const top = [...stretch.by].sort((a, b) => b[1] - a[1]).slice(0, 4).map(([l, v]) => `${l} ${v.toFixed(2)}`);
    stretches.push({ at: stretch.start - started, ms, top });
  }
  stretch = null;
}

const HOOKS = process.env.STALL_PROBE_HOOKS !== '0';
// Node callbacks. Timers and immediates carry their creation site (cheap enough: a few hundred a second).
const typeOf = new Map();
const starts = new Map();
const siteByText = new Map();
if (HOOKS) asyncHooks
  .createHook({
    init(id, type, _trigger, resource) {
      if (type !== 'Timeout' && type !== 'Immediate') return void typeOf.set(id, type);
      // A stack per timer would cost more than the timer (tsx's source maps): one per distinct callback source.
      const fn = type === 'Timeout' ? resource._onTimeout : resource._onImmediate;
      const text = typeof fn === 'function' ? Function.prototype.toString.call(fn) : '';
      let label = siteByText.get(text);
      if (label === undefined) siteByText.set(text, (label = `${type} ${site()}`));
      typeOf.set(id, label);
    },
    before(id) {
      const label = typeOf.get(id);
      if (label === undefined) return;
      starts.set(id, enter());
    },
    after(id) {
      const label = typeOf.get(id);
      if (label === undefined) return;
      leave(label, starts.get(id) ?? -1);
      starts.delete(id);
    },
    destroy(id) {
      typeOf.delete(id);
    },
  })
  .enable();

// uWS: its callbacks come straight from native code.
if (HOOKS) try {
  const uws = require('uWebSockets.js');
  for (const name of ['App', 'SSLApp']) {
    const make = uws[name];
    uws[name] = function (...args) {
      const app = make.apply(this, args);
      const ws = app.ws;
      app.ws = function (pattern, behavior) {
        const wrapped = { ...behavior };
        for (const h of ['open', 'message', 'drain', 'close', 'upgrade', 'dropped']) {
          const f = behavior[h];
          if (typeof f !== 'function') continue;
          const label = `uws.${h} ${pattern}`;
          wrapped[h] = function (...a) {
            const t = enter();
            try {
              return f.apply(this, a);
            } finally {
              leave(label, t);
            }
          };
        }
        return ws.call(this, pattern, wrapped);
      };
      return app;
    };
  }
} catch {
  // not a uWS relay
}

new PerformanceObserver((list) => {
  for (const e of list.getEntries()) if (started) gcs.push({ at: e.startTime - started, ms: e.duration, kind: e.detail && e.detail.kind });
}).observe({ entryTypes: ['gc'] });

let marks = 0;
process.on('SIGUSR2', () => {
  marks++;
  if (marks === 1) {
    labels = new Map();
    stretches = [];
    gcs = [];
    stretch = null;
    started = now();
    return;
  }
  closeStretch();
  const windowMs = now() - started;
  const out = {
    windowMs,
    labels: [...labels].map(([label, s]) => ({ label, ...s })).sort((a, b) => b.ms - a.ms),
    stretches,
    gcs,
  };
  writeFileSync(process.env.STALL_PROBE_OUT || '/tmp/stall-probe.json', JSON.stringify(out));
});
