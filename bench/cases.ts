// What `deno task bench` measures: the catalog's benchmark programs (fixtures/bench/, built like
// the other fixtures) plus start-up of a static hello. Arguments come from the catalog.
import { benchPrograms } from "../fixtures/catalog.ts";

export interface BenchCase {
  name: string;
  /** Binary under fixtures/build/. */
  program: string;
  /** `{text}` and `{lines}` name generated inputs (bench/inputs.ts; smaller with --quick). */
  args: string[];
  quickArgs: string[];
  /** Loops take an iteration count first: report a per-iteration cost (startup subtracted). */
  perIteration: boolean;
  group: "micro" | "startup" | "compute" | "process";
  /** The program is not under fixtures/build/ (busybox): its path from the repository root. */
  programPath?: string;
  /** Execs another aarch64 program, which qemu-user cannot follow without binfmt_misc. */
  needsExec?: boolean;
  /** Dynamically linked: run with the matrix's Debian sysroot (`--sysroot` / qemu's `-L`). */
  sysroot?: boolean;
  /**
   * An x86-64 program (fixtures/x86/): elfuse runs it through box64 from the x86 sysroot, and
   * the comparison is qemu-x86_64 (docs/x86_64.md has native numbers too).
   */
  x86?: boolean;
}

/** box64's sysroot, which tools/setup.sh builds (matrix/corpus_x86.ts). */
export const X86_SYSROOT = ".tools/x86-sysroot";

/** The Debian sysroot tools/setup.sh builds (matrix/corpus_sysroot.ts). */
export const SYSROOT = ".tools/sysroot";
const sqlScript = "create table t(a integer, b text); with recursive c(x) as (select 1 union all " +
  "select x + 1 from c where x < 20000) insert into t select x, hex(x * 7919) from c; " +
  "select count(*), sum(a), max(b) from t where a % 3 = 0;";

const BUSYBOX = ".tools/debs/busybox-static/bin/busybox";
/** Fetched by tools/setup.sh (arm64, Debian bookworm); run with the sysroot's libc. */
const MAKE = ".tools/debs/make/usr/bin/make";
const RCLONE = ".tools/debs/rclone/usr/bin/rclone";
/** A shell script with a pipeline, command substitution, a subshell and a loop of forks. */
const shScript = 'for i in $(seq 1 20); do echo "$i" | tr 0-9 a-j | wc -c >/dev/null; done; ' +
  'x=$( (echo sub) ); echo "$x"';

/** Programs whose first argument is an iteration count of one syscall pattern. */
const loops = new Set([
  "getppid_loop",
  "rw_devnull",
  "stat_loop",
  "openclose_loop",
  "mmap_loop",
  "clock_loop",
  "thread_create_loop",
  "mutex_pingpong",
  "yield_pingpong",
]);

export const benchCases: BenchCase[] = [
  {
    name: "hello",
    program: "hello",
    args: [],
    quickArgs: [],
    perIteration: false,
    group: "startup",
  },
  {
    name: "busybox true",
    program: "busybox",
    programPath: BUSYBOX,
    args: ["true"],
    quickArgs: ["true"],
    perIteration: false,
    group: "startup",
  },
  {
    name: "rclone version (52 MB Go)",
    program: "rclone",
    programPath: RCLONE,
    args: ["version"],
    quickArgs: ["version"],
    perIteration: false,
    group: "startup",
    sysroot: true,
  },
  {
    name: "fork+exit",
    program: "fork_loop",
    args: ["200"],
    quickArgs: ["20"],
    perIteration: true,
    group: "process",
  },
  {
    name: "fork+exec",
    program: "fork_loop",
    args: ["100", "fixtures/build/hello"],
    quickArgs: ["10", "fixtures/build/hello"],
    perIteration: true,
    group: "process",
    needsExec: true,
  },
  {
    name: "busybox sh script",
    program: "busybox",
    programPath: BUSYBOX,
    args: ["sh", "-c", shScript],
    quickArgs: ["sh", "-c", shScript],
    perIteration: false,
    group: "process",
  },
  {
    // Each recipe is a posix_spawn (clone(CLONE_VM|CLONE_VFORK)) and an execve of true.
    name: "make, 20 recipes",
    program: "make",
    programPath: MAKE,
    args: ["-s", "-f", "{makefile}"],
    quickArgs: ["-s", "-f", "{makefile}"],
    perIteration: false,
    group: "process",
    needsExec: true,
    sysroot: true,
  },
  {
    name: "python3 -c pass",
    program: "python3",
    programPath: `${SYSROOT}/usr/bin/python3`,
    args: ["-c", "pass"],
    quickArgs: ["-c", "pass"],
    perIteration: false,
    group: "startup",
    sysroot: true,
  },
  {
    name: "sqlite3 insert+query 20k rows",
    program: "sqlite3",
    programPath: `${SYSROOT}/usr/bin/sqlite3`,
    args: [":memory:", sqlScript],
    quickArgs: [":memory:", sqlScript],
    perIteration: false,
    group: "compute",
    sysroot: true,
  },
  {
    name: "busybox gzip -c of text",
    program: "busybox",
    programPath: BUSYBOX,
    args: ["gzip", "-c", "{text}"],
    quickArgs: ["gzip", "-c", "{text}"],
    perIteration: false,
    group: "compute",
  },
  {
    name: "busybox sort of lines",
    program: "busybox",
    programPath: BUSYBOX,
    args: ["sort", "{lines}"],
    quickArgs: ["sort", "{lines}"],
    perIteration: false,
    group: "compute",
  },
  {
    name: "coreutils sort of 23 MB",
    program: "sort",
    programPath: `${SYSROOT}/usr/bin/sort`,
    args: ["{biglines}"],
    quickArgs: ["{biglines}"],
    perIteration: false,
    group: "compute",
    sysroot: true,
  },
  {
    name: "busybox tar xzf",
    program: "busybox",
    programPath: BUSYBOX,
    args: ["tar", "xzf", "{tgz}", "-C", "{outdir}"],
    quickArgs: ["tar", "xzf", "{tgz}", "-C", "{outdir}"],
    perIteration: false,
    group: "compute",
  },
  {
    // x86_hello exits 7 (for the matrix); with 0 rounds the compute program is a hello.
    name: "x86-64 start-up (box64)",
    program: "x86_compute",
    args: ["0"],
    quickArgs: ["0"],
    perIteration: false,
    group: "startup",
    x86: true,
  },
  {
    name: "x86-64 compute checksum (box64)",
    program: "x86_compute",
    args: ["20000"],
    quickArgs: ["2000"],
    perIteration: false,
    group: "compute",
    x86: true,
  },
  ...benchPrograms.map((b): BenchCase => ({
    name: b.name,
    program: b.name,
    args: b.full,
    quickArgs: b.quick,
    perIteration: loops.has(b.name),
    group: loops.has(b.name) ? "micro" : "compute",
  })),
];
