// elfuse as a library (mod.ts): every run is a child process running the elfuse command line.
//
// Why a child process and not the calling one: a guest owns the process it runs in. Its syscalls
// run on the main thread (the caller's event loop stalls while guest code runs), it takes over
// the host signals it handles (SIGINT, SIGCHLD, SIGALRM... are routed to the guest), its fds 0-2
// are the process's own, its fork children are host processes that re-run the elfuse command
// line (runtime/host/spawn.ts), and --timeout ends the whole process. A child process gives the
// caller piped or null stdio, a working directory without Deno.chdir, a clean kill on timeout or
// abort, and nothing left running in the caller once the run is over.
import { signalNames } from "./kernel/signals.ts";
import { processesWith } from "./host/proc_scan.ts";

/** Where a child's standard stream goes: the caller's own, a pipe, or /dev/null. */
export type Stdio = "inherit" | "piped" | "null";

/** The options of {@link spawn} and {@link run}. */
export interface SpawnOptions {
  /** argv[0] of the program (default: the program as given). */
  argv0?: string;
  /**
   * Environment variables for the guest, added to the calling process's environment (or
   * replacing it with `clearEnv`).
   */
  env?: Record<string, string>;
  /** Start the guest with only `env`, not the calling process's environment. */
  clearEnv?: boolean;
  /**
   * The guest's working directory (default: the caller's). The calling process's own working
   * directory never changes. A relative program path is taken from here, as a shell would after
   * `cd`.
   */
  cwd?: string;
  /** A host directory with the guest's system files (docs/sysroot.md), like `--sysroot`. */
  sysroot?: string;
  /** The CPU backend: "unicorn", "hvf" or "hvf-sim" (default: elfuse's choice). */
  backend?: "unicorn" | "hvf" | "hvf-sim";
  /** One line per syscall on the child's stderr (`--strace`). */
  strace?: boolean;
  /** elfuse's diagnostics on the child's stderr (`-v`). */
  verbose?: boolean;
  /** The guest's stdin (default "inherit"). */
  stdin?: Stdio;
  /** The guest's stdout (default "inherit"). */
  stdout?: Stdio;
  /** The guest's stderr (default "inherit"). */
  stderr?: Stdio;
  /**
   * Milliseconds after which the guest and every process it started are killed; the run then
   * ends with SIGKILL and `timedOut` set.
   */
  timeout?: number;
  /** Aborting it kills the guest and every process it started, as `timeout` does. */
  signal?: AbortSignal;
  /**
   * The elfuse command to start (default: `deno run -A --no-config` of this copy's cli.ts, with
   * the Deno that runs the caller), e.g. `["/usr/local/bin/elfuse"]` for a compiled elfuse.
   */
  command?: string[];
}

/** A running guest from {@link spawn}. */
export interface GuestProcess {
  /** The host pid of the elfuse process that runs the guest. */
  readonly pid: number;
  /** The guest's stdin when `stdin: "piped"` was asked for. */
  readonly stdin: WritableStream<Uint8Array> | null;
  /** The guest's stdout when `stdout: "piped"` was asked for. */
  readonly stdout: ReadableStream<Uint8Array> | null;
  /** The guest's stderr when `stderr: "piped"` was asked for. */
  readonly stderr: ReadableStream<Uint8Array> | null;
  /** How the guest ended, once it has (and every process of the run was killed, if it timed out). */
  readonly status: Promise<RunStatus>;
  /** Kills the guest and every process it started (as a timeout does). */
  kill(): void;
}

/** How a run ended. */
export interface RunStatus {
  /** The guest's exit code (0-255), or null when a signal killed it. */
  code: number | null;
  /** The Linux signal number that killed the guest (9 for SIGKILL), or null when it exited. */
  signal: number | null;
  /** True when the guest exited with code 0. */
  success: boolean;
  /** The status a shell would show: the exit code, or 128 + the signal number. */
  exitCode: number;
  /** True when `timeout` passed and the run was killed. */
  timedOut: boolean;
  /** True when the `signal` was aborted (or `kill()` called) and the run was killed. */
  aborted: boolean;
}

/** What {@link run} returns: the status and, for piped streams, what the guest wrote. */
export interface RunResult extends RunStatus {
  /** The guest's stdout (empty unless `stdout: "piped"`). */
  stdout: Uint8Array;
  /** The guest's stderr (empty unless `stderr: "piped"`). */
  stderr: Uint8Array;
}

/** The options of {@link run}: those of {@link spawn}, and stdin given as data. */
export interface RunOptions extends Omit<SpawnOptions, "stdin" | "stdout" | "stderr"> {
  /**
   * The guest's stdin: "inherit" (the default), "null", or the bytes (or text, or a stream) to
   * feed it; its stdin is closed after them.
   */
  stdin?: "inherit" | "null" | string | Uint8Array | ReadableStream<Uint8Array>;
  /**
   * The guest's stdout: "inherit" (the default), "piped" (collected into the result), "null",
   * or a stream to write it to as it comes (then not collected).
   */
  stdout?: Stdio | WritableStream<Uint8Array>;
  /** The guest's stderr, as `stdout`. */
  stderr?: Stdio | WritableStream<Uint8Array>;
}

const cliPath = new URL("../cli.ts", import.meta.url);

/** The elfuse command line that `opts` asks for (exported for tests). */
export function cliArgs(program: string, args: string[], opts: SpawnOptions): string[] {
  const a: string[] = ["--clear-env"];
  const env = opts.clearEnv ? {} : Deno.env.toObject();
  for (const [k, v] of Object.entries({ ...env, ...opts.env })) a.push("--env", `${k}=${v}`);
  if (opts.argv0 !== undefined) a.push("--argv0", opts.argv0);
  if (opts.sysroot !== undefined) {
    // A host path: the caller's, whatever the guest's working directory.
    const abs = opts.sysroot.startsWith("/") ? opts.sysroot : `${Deno.cwd()}/${opts.sysroot}`;
    a.push("--sysroot", abs);
  }
  if (opts.backend !== undefined) a.push("--backend", opts.backend);
  if (opts.strace) a.push("--strace");
  if (opts.verbose) a.push("--verbose");
  a.push("--", program, ...args);
  return a;
}

/**
 * Starts `program` under elfuse in a child process and returns it while it runs.
 * @param program the program's path or a bare name (looked up in the guest's PATH, the sysroot's first)
 * @param args its arguments after argv[0]
 * @param opts how to run it
 */
export function spawn(program: string, args: string[] = [], opts: SpawnOptions = {}): GuestProcess {
  if (opts.cwd !== undefined) {
    let st: Deno.FileInfo | undefined;
    try {
      st = Deno.statSync(opts.cwd);
    } catch { /* reported below */ }
    if (!st?.isDirectory) throw new Error(`elfuse: cwd ${opts.cwd}: no such directory`);
  }
  if (opts.timeout !== undefined && !(opts.timeout >= 0 && opts.timeout < 2 ** 31)) {
    throw new RangeError(`elfuse: timeout ${opts.timeout}: milliseconds from 0 to 2^31-1`);
  }
  const base = opts.command ??
    [
      Deno.execPath(),
      "run",
      "-A",
      "--no-config",
      cliPath.protocol === "file:" ? cliPath.pathname : cliPath.href,
    ];
  // Every host process of this run inherits the marker (elfuse passes its own environment to
  // the processes it starts; the guest's environment is separate), so all can be found and killed.
  const marker = `${Deno.pid}-${crypto.randomUUID()}`;
  const child = new Deno.Command(base[0], {
    args: [...base.slice(1), ...cliArgs(program, args, opts)],
    cwd: opts.cwd,
    env: { ELFUSE_RUN: marker },
    stdin: opts.stdin ?? "inherit",
    stdout: opts.stdout ?? "inherit",
    stderr: opts.stderr ?? "inherit",
  }).spawn();
  let timedOut = false, aborted = false, ended = false;
  const killAll = () => {
    if (ended) return;
    for (let sweep = 0; sweep < 2; sweep++) { // twice: a process may fork during the first
      try {
        child.kill("SIGKILL");
      } catch { /* already gone */ }
      for (const pid of processesWith("environ", `ELFUSE_RUN=${marker}`)) {
        try {
          Deno.kill(pid, "SIGKILL");
        } catch { /* exited meanwhile */ }
      }
    }
  };
  const timer = opts.timeout === undefined ? undefined : setTimeout(() => {
    timedOut = true;
    killAll();
  }, opts.timeout);
  const onAbort = () => {
    aborted = true;
    killAll();
  };
  if (opts.signal?.aborted) onAbort();
  else opts.signal?.addEventListener("abort", onAbort, { once: true });
  const status = child.status.then((s): RunStatus => {
    ended = true;
    if (timer !== undefined) clearTimeout(timer);
    opts.signal?.removeEventListener("abort", onAbort);
    // A killed run leaves nothing behind: fork children that outlived the elfuse process too.
    if (timedOut || aborted) {
      for (const pid of processesWith("environ", `ELFUSE_RUN=${marker}`)) {
        try {
          Deno.kill(pid, "SIGKILL");
        } catch { /* exited meanwhile */ }
      }
    }
    const n = s.signal === null ? -1 : signalNames.indexOf(s.signal);
    const signal = s.signal === null ? null : n > 0 ? n : s.code - 128;
    return {
      code: signal === null ? s.code : null,
      signal,
      success: signal === null && s.code === 0,
      exitCode: signal === null ? s.code : 128 + signal,
      timedOut,
      aborted,
    };
  });
  return {
    pid: child.pid,
    stdin: opts.stdin === "piped" ? child.stdin : null,
    stdout: opts.stdout === "piped" ? child.stdout : null,
    stderr: opts.stderr === "piped" ? child.stderr : null,
    status,
    kill: () => {
      aborted = true;
      killAll();
    },
  };
}

/** Reads a stream to its end (empty for none). */
async function collect(s: ReadableStream<Uint8Array> | null): Promise<Uint8Array> {
  if (s === null) return new Uint8Array(0);
  return new Uint8Array(await new Response(s).arrayBuffer());
}

/**
 * Runs `program` under elfuse in a child process to its end: the status, and what it wrote to
 * piped streams.
 * @param program the program's path or a bare name (looked up in the guest's PATH, the sysroot's first)
 * @param args its arguments after argv[0]
 * @param opts how to run it
 */
export async function run(
  program: string,
  args: string[] = [],
  opts: RunOptions = {},
): Promise<RunResult> {
  const input = opts.stdin;
  const data = typeof input === "string" ? new TextEncoder().encode(input) : input;
  const feed = data instanceof Uint8Array || data instanceof ReadableStream;
  const out = opts.stdout, err = opts.stderr;
  const p = spawn(program, args, {
    ...opts,
    stdin: feed ? "piped" : (input as Stdio | undefined),
    stdout: out instanceof WritableStream ? "piped" : out,
    stderr: err instanceof WritableStream ? "piped" : err,
  });
  const drain = (s: ReadableStream<Uint8Array> | null, to: Stdio | WritableStream | undefined) =>
    to instanceof WritableStream ? s!.pipeTo(to).then(() => new Uint8Array(0)) : collect(s);
  const feeding = feed
    ? (data instanceof ReadableStream ? data : new Blob([data as Uint8Array<ArrayBuffer>]).stream())
      .pipeTo(p.stdin!).catch(() => {/* the guest closed its stdin first: EPIPE, as in a shell */})
    : Promise.resolve();
  const [stdout, stderr, status] = await Promise.all([
    drain(p.stdout, out),
    drain(p.stderr, err),
    p.status,
    feeding,
  ]);
  return { ...status, stdout, stderr };
}
