/**
 * elfuse as a library: run Linux AArch64 ELF programs from Deno.
 *
 * Every run is a child process running the elfuse command line, never the calling process: a
 * guest takes over the process it runs in (its signals, fds 0-2, the main thread while guest code
 * runs, and its fork children re-run elfuse's command line), so in a child process it can have
 * piped or null stdio, its own working directory, and be killed on a timeout or an abort with
 * every process it started, leaving nothing running in the caller.
 *
 * @example Capture a program's output
 * ```ts
 * import { run } from "./mod.ts";
 *
 * const r = await run("./fixtures/build/hello", [], { stdout: "piped" });
 * console.log(r.exitCode, new TextDecoder().decode(r.stdout)); // 0 "hello, world\n"
 * ```
 *
 * @module
 */
import {
  type GuestProcess,
  run as runChild,
  type RunOptions,
  type RunResult,
  type RunStatus,
  spawn as spawnChild,
  type SpawnOptions,
  type Stdio,
} from "./runtime/library.ts";

export type { GuestProcess, RunOptions, RunResult, RunStatus, SpawnOptions, Stdio };

/**
 * Runs `program` (an aarch64 Linux ELF, static or dynamic, or a `#!` script) under elfuse to its
 * end and returns how it ended and what it wrote to piped streams. A program elfuse cannot run
 * ends like the command line does: exit code 127 (not found) or 126 (not runnable), with the
 * reason on its stderr. Several runs, in sequence or at once, are independent processes.
 *
 * @example Feed stdin, capture stdout, limit the time
 * ```ts
 * import { run } from "./mod.ts";
 *
 * const r = await run("/bin/sh", ["-c", "tr a-z A-Z"], {
 *   sysroot: ".tools/sysroot",
 *   stdin: "hello\n",
 *   stdout: "piped",
 *   timeout: 10_000,
 * });
 * if (r.timedOut) console.error("took too long");
 * else console.log(new TextDecoder().decode(r.stdout)); // "HELLO\n"
 * ```
 *
 * @example Abort a run
 * ```ts
 * import { run } from "./mod.ts";
 *
 * const ac = new AbortController();
 * setTimeout(() => ac.abort(), 1000);
 * const r = await run("./fixtures/build/sleep", ["10"], { signal: ac.signal });
 * console.log(r.aborted, r.signal); // true 9
 * ```
 *
 * @param program the program's path, or a bare name looked up in the guest's PATH (with
 *   `sysroot`, in the sysroot first)
 * @param args its arguments after argv[0]
 * @param options stdio, environment, working directory, sysroot, timeout, abort signal
 * @returns the status, `timedOut`/`aborted`, and the bytes of piped stdout and stderr
 */
export function run(
  program: string,
  args: string[] = [],
  options: RunOptions = {},
): Promise<RunResult> {
  return runChild(program, args, options);
}

/**
 * Starts `program` under elfuse and returns it while it runs: piped streams to write and read,
 * its `status` promise, and `kill()`, which ends it and every process it started.
 *
 * @example Talk to a program through pipes
 * ```ts
 * import { spawn } from "./mod.ts";
 *
 * const p = spawn("./fixtures/build/cat_stdin", [], { stdin: "piped", stdout: "piped" });
 * const w = p.stdin!.getWriter();
 * await w.write(new TextEncoder().encode("ping\n"));
 * await w.close();
 * const out = await new Response(p.stdout).text();
 * console.log(out, (await p.status).exitCode);
 * ```
 *
 * @param program the program's path, or a bare name looked up in the guest's PATH
 * @param args its arguments after argv[0]
 * @param options stdio ("inherit", "piped" or "null"), environment, working directory, sysroot,
 *   timeout, abort signal
 * @returns the running guest
 */
export function spawn(
  program: string,
  args: string[] = [],
  options: SpawnOptions = {},
): GuestProcess {
  return spawnChild(program, args, options);
}
