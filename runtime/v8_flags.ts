// The V8 flags every elfuse process starts with: the launcher (./elfuse), `deno task run`, fork
// children and spares (host/spawn.ts), `deno compile` (tools/compile.ts), and the matrix, bench and
// test runners, so that what is measured and tested is what runs.
//
// Why (docs/internals.md, "Start-up"): the guest slab is one 64 GiB external ArrayBuffer
// (memory/slab.ts), and V8 answers that much external memory by starting incremental marking,
// which ends in a Mark-Compact a few milliseconds later (3-5 ms of main thread at the slab, more
// across threads); without incremental marking it only scavenges. A 16 MiB semi-space (default 1)
// leaves the scavenges of module loading out. Measured on a static hello, 60 runs interleaved:
// CPU 96.6 ms median (IQR 92.9-102.0) before, 76.1 ms (72.1-80.8) with both flags; 95.5 ms with
// only the first. elfuse's JS heap stays small (a few MB), so full collections, now atomic,
// stay short.
// --no-lazy compiles every function of a module when the module is compiled, so Deno's V8 code
// cache (made after compilation) holds their bytecode, and a run no longer compiles each function
// on its first call: static hello, 30 runs interleaved, wall median 92.5 -> 85.1 ms (CPU 87.5 ->
// 85.2 ms); long runs are unchanged (tar xzf 300 ms either way).

/** The V8 flags, in the order given to V8. */
export const V8_FLAGS: readonly string[] = [
  "--no-incremental-marking",
  "--min-semi-space-size=16",
  "--no-lazy",
];

/** The one `deno run` / `deno compile` argument that passes them. */
export const V8_FLAGS_ARG = `--v8-flags=${V8_FLAGS.join(",")}`;
