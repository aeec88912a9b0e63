// What `deno task bench` measures: the catalog's benchmark programs (fixtures/bench/, built like
// the other fixtures) plus start-up of a static hello. Arguments come from the catalog.
import { benchPrograms } from "../fixtures/catalog.ts";

export interface BenchCase {
  name: string;
  /** Binary under fixtures/build/. */
  program: string;
  args: string[];
  quickArgs: string[];
  /** Loops take an iteration count first: report a per-iteration cost (startup subtracted). */
  perIteration: boolean;
  group: "micro" | "startup" | "compute" | "process";
  /** The program is not under fixtures/build/ (busybox): its path from the repository root. */
  programPath?: string;
  /** Execs another aarch64 program, which qemu-user cannot follow without binfmt_misc. */
  needsExec?: boolean;
}

const BUSYBOX = ".tools/debs/busybox-static/bin/busybox";
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
  ...benchPrograms.map((b): BenchCase => ({
    name: b.name,
    program: b.name,
    args: b.full,
    quickArgs: b.quick,
    perIteration: loops.has(b.name),
    group: loops.has(b.name) ? "micro" : "compute",
  })),
];
