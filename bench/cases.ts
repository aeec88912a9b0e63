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
  group: "micro" | "startup" | "compute";
}

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
  ...benchPrograms.map((b): BenchCase => ({
    name: b.name,
    program: b.name,
    args: b.full,
    quickArgs: b.quick,
    perIteration: loops.has(b.name),
    group: loops.has(b.name) ? "micro" : "compute",
  })),
];
