// V8 flags the relay process MUST be started with (package.json `serve`/`start`, the Containerfile's ENTRYPOINT,
// the benches). They cannot be set from inside: V8 sizes its heap when the isolate is created, and
// `v8.setFlagsFromString('--max-semi-space-size=…')` afterwards changes nothing (tried).
//
// --max-semi-space-size=8 (MB; V8's default cap on 64-bit is 16): the relay keeps a few hundred KB of in-flight
// frames alive across every scavenge, so V8 grows its young generation to the 16 MB cap within minutes of load.
// With a ~20 MB old generation, V8 11 (Node 20) then finds the old generation's headroom (limit − size, ~23 MB)
// smaller than the young generation's capacity and starts incremental marking after EVERY scavenge: at N = 300 on
// one core, 54 mark-compacts in 15 s with the old generation flat at 19.8 MB, each ~40 ms of concurrent marking on
// V8's platform threads (issue 17: the ~25 % of extra CPU on the pinned core). At 8 MB: no mark-compact in the
// same window, scavenges 5.5/s (the floor relay's rate), CPU per session-minute −16 % (`npm run bench:alloc`).
export const RELAY_NODE_FLAGS = ['--max-semi-space-size=8'] as const;
