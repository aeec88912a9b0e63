// What `deno task bench` measures. Guest programs are built from fixtures/ like the others.

export interface BenchCase {
  name: string;
  /** Binary under fixtures/build/. */
  program: string;
  args: string[];
  quickArgs?: string[];
  /** Operations the run performs, to report a per-operation cost (after subtracting startup). */
  ops?: number;
  quickOps?: number;
  group: "micro" | "startup" | "compute";
}

const loop = (name: string, program: string, n: number, quick: number): BenchCase => ({
  name,
  program,
  args: [String(n)],
  quickArgs: [String(quick)],
  ops: n,
  quickOps: quick,
  group: "micro",
});

export const benchCases: BenchCase[] = [
  { name: "static hello", program: "hello", args: [], group: "startup" },
  loop("getppid", "getppid_loop", 1_000_000, 200_000),
  loop("read+write 1 byte /dev/null", "rw_devnull", 200_000, 50_000),
  loop("stat", "stat_loop", 100_000, 20_000),
  loop("open+close", "openclose_loop", 100_000, 20_000),
  loop("mmap+munmap 64 KiB", "mmap_loop", 50_000, 10_000),
  loop("clock_gettime", "clock_loop", 500_000, 100_000),
  { name: "sha256 64 MiB", program: "sha256", args: ["64"], quickArgs: ["8"], group: "compute" },
  { name: "sieve 32 MiB", program: "sieve", args: ["32"], quickArgs: ["4"], group: "compute" },
  {
    name: "coremark-like",
    program: "coremark_like",
    args: ["2000"],
    quickArgs: ["200"],
    group: "compute",
  },
  {
    name: "memcpy 256 MiB",
    program: "memcpy_bench",
    args: ["256"],
    quickArgs: ["32"],
    group: "compute",
  },
];
