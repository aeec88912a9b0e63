/**
 * The x86-64 lane: programs from fixtures/x86/, built by the host's gcc on an x86-64 Linux host,
 * run by elfuse through box64 (from the sysroot tools/setup.sh makes in .tools/x86-sysroot) and
 * compared with the same programs run natively. This is the analog of the original's Rosetta
 * acceptance suite (docs/x86_64.md).
 *
 * @module
 */

import type { Case, Comparison, Expected, Step } from "./types.ts";

/** Where tools/setup.sh builds the sysroot that holds box64 (relative to the repository). */
export const X86_SYSROOT_PATH = ".tools/x86-sysroot";

interface Def {
  name: string;
  /** The fixture (default: x86_NAME with dashes as underscores). */
  binary?: string;
  steps: Step[];
  expect?: Expected;
  compare?: Comparison;
  quick?: boolean;
  about: string;
}

const selfCheck: Comparison = { mode: "self-check" };

const defs: Def[] = [
  {
    name: "hello",
    steps: [{ args: ["one", "two words", ""] }],
    quick: true,
    about: "dynamic hello: argv, stdout, exit status 7",
  },
  {
    name: "files",
    steps: [{ args: [] }],
    compare: selfCheck,
    quick: true,
    about: "open, read, write, stat, rename, readdir, unlink",
  },
  {
    name: "process",
    steps: [{ args: [] }],
    compare: selfCheck,
    quick: true,
    about: "fork, pipes, execve of an x86-64 program (libc's and the raw syscall), wait statuses",
  },
  {
    name: "signals",
    steps: [{ args: [] }],
    compare: selfCheck,
    about: "handlers, SA_SIGINFO, masks, pending signals",
  },
  {
    name: "threads",
    steps: [{ args: [] }],
    compare: selfCheck,
    about: "pthread create/join, a mutex counter, a condition variable, thread-local storage",
  },
  {
    name: "dlopen",
    steps: [{ args: [] }],
    compare: selfCheck,
    about: "dlopen/dlsym of an x86-64 shared library, which box64 runs emulated",
  },
  {
    name: "cpp",
    steps: [{ args: [] }],
    about: "C++ on the x86-64 libstdc++ (emulated): containers, streams, exceptions",
  },
  {
    name: "segv",
    binary: "x86_exits",
    steps: [{ args: ["segv"] }],
    expect: { signal: "SIGSEGV", stdout: "segv: before\n" },
    quick: true,
    about: "a bad pointer: box64 delivers SIGSEGV, and elfuse dies of it as the native run does",
  },
  {
    name: "abort",
    binary: "x86_exits",
    steps: [{ args: ["abort"] }],
    expect: { signal: "SIGABRT", stdout: "abort: before\n" },
    about: "abort(): killed by SIGABRT",
  },
  {
    name: "exit-status",
    binary: "x86_exits",
    steps: [{ args: ["exit"] }],
    expect: { exit: 42 },
    about: "exit(42) after a flushed line",
  },
  {
    name: "stdin",
    binary: "x86_exits",
    steps: [{ args: ["cat"], stdin: "one\ntwo\n" + "x".repeat(100000) + "\nend\n" }],
    about: "stdin through a pipe to the end",
  },
  {
    name: "compute",
    steps: [{ args: ["300"] }],
    about: "an integer and floating-point checksum, bit for bit",
  },
  {
    name: "proc-self",
    steps: [{ args: ["x", "y"] }],
    about: "argv[0], /proc/self/exe, /proc/self/cmdline, /proc/self/comm as the program sees them",
  },
];

/** The fixture binary a case runs: fixtures/build/x86_NAME (dashes become underscores). */
function binary(repo: string, d: Def): string {
  return `${repo}/fixtures/build/${d.binary ?? `x86_${d.name.replaceAll("-", "_")}`}`;
}

function present(path: string): boolean {
  try {
    return Deno.statSync(path).isFile;
  } catch {
    return false;
  }
}

/**
 * The x86_64/* cases. Skipped, with the reason, where the host cannot build or check them (not
 * x86-64 Linux), or when box64's sysroot or the built fixtures are missing.
 */
export function x86Cases(repo: string): Case[] {
  const sysroot = `${repo}/${X86_SYSROOT_PATH}`;
  const hostOk = Deno.build.os === "linux" && Deno.build.arch === "x86_64";
  const box64 = present(`${sysroot}/usr/bin/box64`);
  return defs.map((d) => {
    const program = binary(repo, d);
    const skip = !hostOk
      ? `x86-64 fixtures are built and checked only on an x86-64 Linux host`
      : !box64
      ? `no box64 in ${X86_SYSROOT_PATH} (./dev setup fetches it)`
      : !present(program)
      ? `${program} is not built (deno task fixtures)`
      : undefined;
    return {
      name: `x86_64/${d.name}`,
      group: "x86_64",
      program,
      steps: d.steps,
      compare: d.compare,
      expect: d.expect,
      quick: d.quick,
      sysroot,
      guest: "x86_64" as const,
      ...(skip ? { skip } : {}),
    };
  });
}
