/**
 * The matrix's shared vocabulary: what a case is, what a run observed, and how a case was judged.
 * Nothing here does anything; every other matrix module speaks these types.
 *
 * @module
 */

import type { Environment } from "./environment.ts";

/** How one process ended. */
export type Status =
  | { kind: "exit"; code: number }
  | { kind: "signal"; name: string }
  | { kind: "timeout"; seconds: number }
  | { kind: "error"; message: string };

/** What one runner reported for one process. */
export interface RunResult {
  /** The runner's name, e.g. `qemu-user`. */
  runner: string;
  /** How the process ended. */
  status: Status;
  /** Everything the process wrote to stdout. */
  stdout: Uint8Array;
  /** Everything the process wrote to stderr. */
  stderr: Uint8Array;
  /** Wall-clock time from spawn to exit, in milliseconds. */
  wallMs: number;
  /** True when the run was killed for running past its timeout. */
  timedOut: boolean;
}

/** One guest process to start: the runner decides how (elfuse, qemu-user, natively). */
export interface Invocation {
  /** Absolute path of the aarch64 program. */
  program: string;
  /** Arguments after the program (argv[1..]). */
  args: string[];
  /** Bytes for stdin; without them stdin is /dev/null. */
  stdin?: Uint8Array;
  /** Working directory of the guest. */
  cwd: string;
  /** The guest's whole environment (nothing is inherited). */
  env: Record<string, string>;
  /** Seconds before the process is killed and the run counts as timed out. */
  timeoutSeconds: number;
  /** Host directory with the guest's loader and libraries (elfuse --sysroot, qemu -L). */
  sysroot?: string;
}

/** What a case may need from a runner beyond running a static binary. */
export interface Needs {
  /** The program execve()s another aarch64 program, and its result depends on that. */
  needsExec?: boolean;
  /**
   * The program may execve() aarch64 programs but copes when that fails: busybox's shell
   * re-executes itself for applets and runs them in-process when it cannot. Right on a reference
   * that cannot follow an exec at all, wrong on one that follows it badly (matrix/binfmt.ts).
   */
  mayExec?: boolean;
}

/** The one interface every runner implements. */
export interface Runner {
  /** Short stable name: `elfuse`, `qemu-user`, `native`, or a fake's. */
  readonly name: string;
  /** Longer human description, e.g. `elfuse (--backend unicorn)`. */
  readonly description: string;
  /** Null when the runner can run at all here, else why not. */
  unavailable(): Promise<string | null>;
  /** Null when the runner can run a case with these needs, else why not. */
  cannotRun(needs: Needs): Promise<string | null>;
  /** Runs one process and reports how it ended. */
  run(inv: Invocation): Promise<RunResult>;
  /**
   * The shell command that runs `inv` by hand from its working directory (environment,
   * options, program and arguments, quoted; no `cd`, no stdin), for reports.
   */
  shellCommand?(inv: Invocation): string;
  /**
   * What the host does when a program under this runner execs an aarch64 program, as one line
   * (qemu-user: binfmt_misc). A case that may exec is not judged against a run during which it
   * changed.
   */
  execState?(): Promise<string>;
}

/** A file, directory or symlink created in the case's fresh working directory before it runs. */
export interface FileSpec {
  /** Relative path inside the working directory; parents are created as needed. */
  path: string;
  /** File contents (default: a file). A function is called once and its bytes cached. */
  content?: string | Uint8Array | (() => Uint8Array);
  /** `dir` makes a directory, `symlink` a symlink to `target`. */
  type?: "file" | "dir" | "symlink";
  /** The symlink's target (for `type: "symlink"`). */
  target?: string;
  /** Permission bits (default 0o644 for files, 0o755 for directories). */
  mode?: number;
  /** Modification time, seconds since the epoch (default {@linkcode DEFAULT_MTIME}). */
  mtime?: number;
}

/** 2001-02-03 04:05:06 UTC: the mtime every created file gets unless its spec says otherwise. */
export const DEFAULT_MTIME = 981173106;

/** A named normaliser (see normalise.ts for what each replaces). */
export type NormaliserName =
  | "pids"
  | "times"
  | "durations"
  | "addresses"
  | "temp-names"
  | "sort-lines"
  | "trailing-space";

/** How the subject's result is compared with the reference's. */
export type Comparison =
  /** Same stdout bytes and exit status (the default). */
  | { mode: "exact" }
  /** Both print `N passed, 0 failed` (the last such line) and exit 0. */
  | { mode: "self-check" }
  /** Both stdouts match the pattern, and the exit statuses are the same. */
  | { mode: "regex"; pattern: string; flags?: string }
  /** Same stdout and status after the named normalisers ran on both stdouts (and stderrs). */
  | { mode: "normalised"; normalisers: NormaliserName[] };

/** What a fixture promises about its own result, checked on both runners when given. */
export interface Expected {
  /** The exit status it must end with. */
  exit?: number;
  /** The signal that must end it, by name (e.g. `SIGSEGV`). */
  signal?: string;
  /** The exact stdout it must print. */
  stdout?: string;
}

/** One guest invocation of a case; a case has one or more, run in order in the same directory. */
export interface Step {
  /** Arguments after the program. */
  args: string[];
  /** Bytes for stdin (a function is called once per run); none: /dev/null. */
  stdin?: string | Uint8Array | (() => Uint8Array);
}

/** One row of the matrix: a program, its inputs, and how its result is judged. */
export interface Case extends Needs {
  /** Unique name, `group/short-name`, e.g. `busybox/sort-numeric`. */
  name: string;
  /** `fixture` or `busybox` (or a test's own). */
  group: string;
  /** Absolute path of the aarch64 program. */
  program: string;
  /**
   * The invocations, run in order in one working directory; after the first one that does not
   * exit 0 the rest are not run. Their stdouts (and stderrs) are concatenated.
   */
  steps: Step[];
  /** Extra guest environment on top of the matrix's fixed one (see run.ts). */
  env?: Record<string, string>;
  /** Files created in the fresh working directory, with deterministic content and mtimes. */
  files?: FileSpec[];
  /** Seconds per step before it counts as hung (default 60). */
  timeout?: number;
  /** Default `{ mode: "exact" }`. */
  compare?: Comparison;
  /** Compare stderr too (only where it is deterministic). */
  compareStderr?: boolean;
  /**
   * After the run, compare the working directory's tree (paths, types, modes, sizes, content
   * hashes, symlink targets); `with-mtime` adds regular files' modification times.
   */
  snapshot?: boolean | "with-mtime";
  /** The fixture's own promise, checked on each runner's result. */
  expect?: Expected;
  /** In the fast subset (`--quick`, used by the tests). */
  quick?: boolean;
  /** When set, the case cannot run here and is skipped with this reason. */
  skip?: string;
  /** Host directory with the guest's loader and libraries, for dynamically linked programs. */
  sysroot?: string;
  /**
   * The program's architecture when it is not aarch64: an `x86_64` case runs on elfuse through
   * its translator (box64 from `sysroot`) and is compared with the x86-64 reference, native
   * execution on an x86-64 Linux host (corpus_x86.ts).
   */
  guest?: "x86_64";
}

/** A case's result on one runner: its steps' results folded together. */
export interface Observed {
  /** The runner's name. */
  runner: string;
  /** The status of the last step that ran. */
  status: Status;
  /** How many steps ran. */
  stepsRun: number;
  /** How many steps the case has. */
  stepsTotal: number;
  /** The steps' stdouts, concatenated. */
  stdout: Uint8Array;
  /** The steps' stderrs, concatenated. */
  stderr: Uint8Array;
  /** The working directory snapshot after the run, when the case asks for one. */
  files?: string;
  /** Wall time of all steps, in milliseconds. */
  wallMs: number;
  /** True when a step was killed for running past its timeout. */
  timedOut: boolean;
  /** The working directory it ran in (for the `workdir` substitution). */
  workdir: string;
}

/** One way two results (or a result and an expectation) differ. */
export interface Difference {
  /** What differs: `status`, `stdout`, `stderr`, `files`, `self-check`, `expected`... */
  what: string;
  /** Which side it concerns: both runners, or only one against an expectation. */
  side: "both" | "subject" | "reference";
  /** A one-line account. */
  summary: string;
  /** What the difference looks like on the subject's side (normalised, cut to an excerpt). */
  subject?: string;
  /** What the difference looks like on the reference's side. */
  reference?: string;
  /**
   * Column names for `subject` and `reference` when they are not the two runners (an expectation
   * check shows the runner's output against `expected`).
   */
  labels?: [string, string];
}

/** The verdict of a case. */
export type Verdict =
  /** Same result. */
  | "pass"
  /** An unexpected difference: fails the run. */
  | "fail"
  /** A difference listed in known_differences.ts: does not fail the run. */
  | "known"
  /** Listed in known_differences.ts but no longer differs: fails the run until removed. */
  | "fixed"
  /** Not run, with a reason (reference unavailable, binary not built...). */
  | "skip";

/** A known difference: a case that is expected to differ against a reference. */
export interface KnownDifference {
  /** The case's exact name. */
  case: string;
  /** The reference runner's name, or `*` for any. */
  reference: string;
  /** Why it differs, and what would fix it. */
  reason: string;
  /**
   * The difference comes and goes with timing (the reference's own race): a run where it does
   * not show is a pass, not "fixed". Say why in `reason`.
   */
  intermittent?: boolean;
  /**
   * The reference is what is wrong here (its own bug): the case is judged on the subject alone,
   * by its self-check or expectation, as when the reference cannot run it. The reference still
   * runs when it can; a run where it no longer differs reports the entry fixed.
   */
  judgeAlone?: boolean;
}

/** Everything the matrix learnt about one case. */
export interface Outcome {
  /** The case's name. */
  case: string;
  /** The case's group (`fixture`, `busybox`...). */
  group: string;
  /** The verdict. */
  verdict: Verdict;
  /** Why this verdict (the first difference, the skip reason, the known entry's reason...). */
  reason: string;
  /** Every difference found (empty for a pass). */
  differences: Difference[];
  /** The subject's result, when it ran. */
  subject?: Observed;
  /** The reference's result, when it ran. */
  reference?: Observed;
  /** subject wall time / reference wall time, when both ran. */
  ratio?: number;
  /** The command line, for reports. */
  command: string;
  /**
   * Set when the case was judged on the subject alone although a reference was chosen: why
   * (the reference cannot run it, or a known bug of the reference's).
   */
  judgedAlone?: string;
  /** Shell command lines that run the case's steps again, per runner (see reproduce.ts). */
  reproduce?: Reproduction;
}

/** How to run a case again by hand. */
export interface Reproduction {
  /** The matrix command that runs just this case again and keeps its working directories. */
  matrix: string;
  /** One shell line: into the working directory, then the subject's steps joined by `&&`. */
  subject?: string;
  /** The same for the reference, when it ran. */
  reference?: string;
  /** What the lines need that they do not say (the case's files, generated stdin). */
  note?: string;
}

/** A whole matrix run. */
export interface MatrixResult {
  /** The runner under test (normally elfuse). */
  subject: RunnerInfo;
  /** The reference runner, or null when the host has none. */
  reference: RunnerInfo | null;
  /** The host, as `os/arch`. */
  host: string;
  /** When the run started (ISO 8601). */
  startedAt: string;
  /** How long the run took, in milliseconds. */
  wallMs: number;
  /** One outcome per case, in case order. */
  outcomes: Outcome[];
  /** Known-difference entries naming no case at all (they fail the run). */
  staleEntries: KnownDifference[];
  /** Lines worth telling the user (missing builds, no reference...). */
  notes: string[];
  /** Where the run was made (versions, host, binfmt_misc), when the caller collected it. */
  environment?: Environment;
}

/** A runner as reports name it. */
export interface RunnerInfo {
  /** The runner's short name (`elfuse`, `qemu-user`...). */
  name: string;
  /** The runner's longer description. */
  description: string;
}

/** The counts a summary line reports. */
export interface Counts {
  /** Cases that gave the same result. */
  passed: number;
  /** Unexpected differences, fixed known differences and stale entries. */
  failed: number;
  /** Cases not run, and known differences. */
  skipped: number;
  /** Known differences (included in skipped). */
  known: number;
  /** Known differences that no longer differ (included in failed). */
  fixed: number;
}
