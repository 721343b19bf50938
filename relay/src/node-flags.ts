// V8 flags the relay process MUST be started with (package.json `serve`/`start`, the Containerfile's ENTRYPOINT,
// the benches). They cannot be set from inside: V8 sizes its heap when the isolate is created, and
// `v8.setFlagsFromString('--max-semi-space-size=…')` afterwards changes nothing (tried).
//
// Why (issue 17, `npm run bench:alloc`, N = 300): the relay keeps a few hundred KB of in-flight frames alive across
// every scavenge, so V8 grows its young generation to the 16 MB cap under load. Its old generation is ~20 MB and
// flat, and V8 11 (Node 20) sets the old generation's limit only a few MB above that — less than the young
// generation's capacity — so it starts incremental marking after EVERY scavenge: 54 mark-compacts in 15 s with
// the old generation at 19.8 MB before and after, each ~40 ms of concurrent marking on V8's platform threads on
// the relay's own core (the ~25 % of extra CPU a per-thread count found). A forced or memory-reducing full GC
// (an idle relay, the bench's live-memory probe) tightens the limit again, so a smaller young generation alone
// does not hold (8 MB: 0 mark-compacts from a cold start, 63 after a forced GC).
//   --max-semi-space-size=8    young generation capped at 8 MB (V8's default cap is 16): scavenges 5.3/s at
//                              N = 300, the floor relay's rate.
//   --initial-old-space-size=64  the old generation's limit starts at 64 MB and a memory-reducing GC does not pull
//                              it back under: 0 mark-compacts in the window even after a forced GC. The heap may
//                              hold up to ~64 MB of old garbage before collecting it (~13 B promoted per frame
//                              pair: one mark-compact every few minutes at N = 300).
export const RELAY_NODE_FLAGS = ['--max-semi-space-size=8', '--initial-old-space-size=64'] as const;
