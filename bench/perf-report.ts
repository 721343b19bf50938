// What `perf report --stdio --no-children --sort dso,sym -n -q` prints, read back as samples per function and
// grouped into the parts of a Node process a relay's frame costs split into (bench/instr-pair.ts, INSTR_TOOL=perf).

export interface PerfRow {
  samples: number;
  dso: string;
  kernel: boolean;
  sym: string;
}

/** One row per (library, function); lines that are not rows (headers, blank) are left out. */
export function parsePerfReport(text: string): PerfRow[] {
  const rows: PerfRow[] = [];
  for (const line of text.split('\n')) {
    // "    25.86%           526  node                  [.] Builtins_RecordWriteSaveFP": the library may hold
    // spaces ("[JIT] tid 28477"), so it ends at the last " [.] " or " [k] ".
    const m = /^\s*[\d.]+%\s+(\d+)\s+(.+?)\s+\[([.k])\]\s+(.*?)\s*$/.exec(line);
    if (m) rows.push({ samples: Number(m[1]), dso: m[2]!, kernel: m[3] === 'k', sym: m[4]! });
  }
  return rows;
}

export type PerfPart = 'kernel' | 'JavaScript (JIT)' | 'V8 builtins' | 'GC' | 'V8 runtime and compiler' | 'Node C++' | 'uWS' | 'libc' | 'SQLite' | 'other';

/**
 * Which part of the process a row is. GC is told by V8's own namespaces and names (Scavenger, MarkCompact, Heap…);
 * anything else in V8's namespace is the runtime or the compilers; Node's own C++ is `node::`; uWS and SQLite are
 * their addons (uws_*.node, better_sqlite3.node).
 */
export function perfPart(row: PerfRow): PerfPart {
  if (row.kernel || row.dso === '[kernel.kallsyms]') return 'kernel';
  if (row.dso.startsWith('[JIT]') || row.dso.startsWith('perf-')) return 'JavaScript (JIT)';
  if (/uws_.*\.node$/.test(row.dso)) return 'uWS';
  if (/better_sqlite3\.node$/.test(row.dso)) return 'SQLite';
  if (/^lib(c|m|pthread)[.-]/.test(row.dso) || row.dso.startsWith('ld-linux')) return 'libc';
  if (row.dso === 'node') {
    if (row.sym.startsWith('Builtins_')) return 'V8 builtins';
    if (/Scaveng|MarkCompact|Sweep|Marking|Heap::|heap::|Evacuat|RecordWrite|GCTracer|Collector|ConcurrentMarking|MemoryAllocator|PagedSpace|NewSpace|RememberedSet/.test(row.sym)) return 'GC';
    if (row.sym.startsWith('v8::') || row.sym.startsWith('Runtime_') || row.sym.startsWith('cppgc::')) return 'V8 runtime and compiler';
    if (row.sym.startsWith('node::') || row.sym.startsWith('uv_') || row.sym.startsWith('napi_')) return 'Node C++';
  }
  return 'other';
}

/** Samples per part, largest first. */
export function perfParts(rows: PerfRow[]): Array<[PerfPart, number]> {
  const by = new Map<PerfPart, number>();
  for (const r of rows) by.set(perfPart(r), (by.get(perfPart(r)) ?? 0) + r.samples);
  return [...by].sort((a, b) => b[1] - a[1]);
}
