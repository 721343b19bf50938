import { describe, expect, it } from 'vitest';
import { parsePerfReport, perfPart, perfParts } from './perf-report.ts';

// Lines as perf 6 prints them for a node process run with --perf-basic-prof (trimmed to the columns asked for).
const REPORT = `
    25.86%           526  node                  [.] Builtins_RecordWriteSaveFP
    16.18%           329  [JIT] tid 28477       [.] 0x00007f201a7c606a
     9.10%           185  perf-28477.map        [.] JS:*clientMessage file:///work/relay/src/session/bridge.ts:128:16
     4.33%            88  node                  [.] v8::internal::ScavengerCollector::CollectGarbage()
     3.00%            61  [kernel.kallsyms]     [k] tcp_sendmsg_locked
     2.00%            41  uws_linux_x64_115.node  [.] us_socket_write
     1.50%            30  libc.so.6             [.] __memmove_avx_unaligned_erms
     1.00%            20  node                  [.] v8::internal::Runtime_AllocateInYoungGeneration(int, unsigned long*, v8::internal::Isolate*)
     0.50%            10  node                  [.] node::Buffer::(anonymous namespace)::IndexOfString(v8::FunctionCallbackInfo<v8::Value> const&)
     0.40%             8  better_sqlite3.node   [.] sqlite3VdbeExec
`;

describe('perf report rows', () => {
  it('reads samples, library and function from each row, whatever spaces the library name holds', () => {
    const rows = parsePerfReport(REPORT);
    expect(rows).toHaveLength(10);
    expect(rows[1]).toEqual({ samples: 329, dso: '[JIT] tid 28477', kernel: false, sym: '0x00007f201a7c606a' });
    expect(rows[4]).toEqual({ samples: 61, dso: '[kernel.kallsyms]', kernel: true, sym: 'tcp_sendmsg_locked' });
  });

  it('puts each row in the part of the process it belongs to', () => {
    const parts = parsePerfReport(REPORT).map(perfPart);
    expect(parts).toEqual(['V8 builtins', 'JavaScript (JIT)', 'JavaScript (JIT)', 'GC', 'kernel', 'uWS', 'libc', 'V8 runtime and compiler', 'Node C++', 'SQLite']);
  });

  it('sums samples per part, largest first', () => {
    expect(perfParts(parsePerfReport(REPORT)).slice(0, 2)).toEqual([
      ['V8 builtins', 526],
      ['JavaScript (JIT)', 514],
    ]);
  });
});
