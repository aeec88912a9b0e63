/**
 * The runners, behind one interface ({@linkcode Runner}): `elfuse` (this project's CLI),
 * `qemu-user` (qemu-aarch64) and `native` (on a host that runs aarch64 itself). Each reports the
 * exit status or the signal that ended the process, stdout, stderr, wall time, and whether it hit
 * the timeout. Every process runs in its own process group, killed whole on timeout.
 *
 * @module
 */

import { type ExecFollowing, execProblem, readExecFollowing } from "./binfmt.ts";
import { shellQuote } from "./status.ts";
import { V8_FLAGS_ARG } from "../runtime/v8_flags.ts";
import type { Invocation, Needs, Runner, RunResult } from "./types.ts";

/** The names {@linkcode makeRunner} knows. */
export const RUNNER_NAMES = ["elfuse", "qemu-user", "native"] as const;
/** The name of a runner {@linkcode makeRunner} can make. */
export type RunnerName = typeof RUNNER_NAMES[number];

/** elfuse's backends, passed through with `--backend`. */
export const BACKENDS = ["unicorn", "hvf", "hvf-sim"] as const;

/** The process groups still running, so an interrupted matrix can end them. */
const running = new Set<number>();

/**
 * Kills every process group the runners started and that is still running.
 *
 * @example
 * ```ts
 * globalThis.addEventListener("unload", () => killAllRunning());
 * ```
 */
export function killAllRunning(): void {
  for (const pid of running) {
    try {
      Deno.kill(-pid, "SIGKILL");
    } catch {
      // Already gone.
    }
  }
}

/** A host process to spawn, with a timeout. */
export interface SpawnSpec {
  /** The host program. */
  cmd: string;
  /** Its arguments. */
  args: string[];
  /** Its working directory (default: ours). */
  cwd?: string;
  /** Environment variables to set (on top of ours unless `clearEnv`). */
  env?: Record<string, string>;
  /** Start from an empty environment. */
  clearEnv?: boolean;
  /** Bytes for stdin; without them stdin is /dev/null. */
  stdin?: Uint8Array;
  /** Seconds before the process group is killed. */
  timeoutSeconds: number;
}

/**
 * Spawns one process in its own process group and waits for it, killing it on timeout.
 *
 * @example
 * ```ts
 * const r = await spawnTimed("qemu-user", {
 *   cmd: "qemu-aarch64",
 *   args: ["./fixtures/build/hello"],
 *   timeoutSeconds: 10,
 * });
 * console.log(r.status, new TextDecoder().decode(r.stdout));
 * ```
 */
export async function spawnTimed(runner: string, spec: SpawnSpec): Promise<RunResult> {
  const start = performance.now();
  const fail = (message: string): RunResult => ({
    runner,
    status: { kind: "error", message },
    stdout: new Uint8Array(),
    stderr: new Uint8Array(),
    wallMs: performance.now() - start,
    timedOut: false,
  });
  let child: Deno.ChildProcess;
  try {
    child = new Deno.Command(spec.cmd, {
      args: spec.args,
      cwd: spec.cwd,
      env: spec.env,
      clearEnv: spec.clearEnv,
      stdin: spec.stdin ? "piped" : "null",
      stdout: "piped",
      stderr: "piped",
      detached: true,
    }).spawn();
  } catch (e) {
    return fail(`cannot start ${spec.cmd}: ${(e as Error).message}`);
  }
  running.add(child.pid);
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    try {
      Deno.kill(-child.pid, "SIGKILL");
    } catch {
      try {
        child.kill("SIGKILL");
      } catch {
        // Already gone.
      }
    }
  }, spec.timeoutSeconds * 1000);
  if (spec.stdin) {
    const w = child.stdin.getWriter();
    w.write(spec.stdin).then(() => w.close()).catch(() => {
      // The guest stopped reading (EPIPE): what it did read is what counts.
    });
  }
  const out = await child.output();
  clearTimeout(timer);
  running.delete(child.pid);
  // Whatever the group left behind goes too.
  try {
    Deno.kill(-child.pid, "SIGKILL");
  } catch {
    // Nothing left.
  }
  const wallMs = performance.now() - start;
  return {
    runner,
    status: timedOut
      ? { kind: "timeout", seconds: spec.timeoutSeconds }
      : out.signal
      ? { kind: "signal", name: out.signal }
      : { kind: "exit", code: out.code },
    stdout: out.stdout,
    stderr: out.stderr,
    wallMs,
    timedOut,
  };
}

/** The first of the names found on PATH (or as an absolute path), or null. */
export function which(...names: string[]): string | null {
  const dirs = (Deno.env.get("PATH") ?? "/usr/bin:/bin").split(":").filter(Boolean);
  for (const n of names) {
    const candidates = n.includes("/") ? [n] : dirs.map((d) => `${d}/${n}`);
    for (const c of candidates) {
      try {
        const st = Deno.statSync(c);
        if (st.isFile && ((st.mode ?? 0o111) & 0o111)) return c;
      } catch {
        // Not here.
      }
    }
  }
  return null;
}

/**
 * True when this host runs aarch64 Linux programs itself.
 *
 * @example
 * ```ts
 * const reference = hostRunsAarch64() ? "native" : "qemu-user";
 * ```
 */
export function hostRunsAarch64(): boolean {
  return Deno.build.os === "linux" && Deno.build.arch === "aarch64";
}

/**
 * The reference runner this host gets by default: `native` on aarch64 Linux, `qemu-user` on any
 * other Linux with qemu-aarch64 installed, else null (no reference: only cases that carry their own
 * expectation are judged).
 *
 * @example
 * ```ts
 * const name = defaultReference();
 * const reference = name === null ? null : makeRunner(name, { repo: "." });
 * ```
 */
export function defaultReference(): RunnerName | null {
  if (hostRunsAarch64()) return "native";
  if (Deno.build.os === "linux" && which("qemu-aarch64", "qemu-aarch64-static")) {
    return "qemu-user";
  }
  return null;
}

/**
 * Runs programs with this project's CLI: `deno run -A <repo>/cli.ts [--backend X] ...`.
 *
 * @example
 * ```ts
 * const elfuse = new ElfuseRunner("/path/to/elfuse", "unicorn");
 * console.log(elfuse.description, await elfuse.unavailable()); // null when it can run here
 * ```
 */
export class ElfuseRunner implements Runner {
  readonly name = "elfuse";
  readonly description: string;
  /** A runner of `<repo>/cli.ts`, with `--backend backend` when given. */
  constructor(readonly repo: string, readonly backend?: string) {
    this.description = `elfuse (${backend ? `--backend ${backend}` : "default backend"})`;
  }

  /** The deno arguments for one invocation (without the deno binary itself). */
  argv(inv: Invocation): string[] {
    const args = ["run", "-A", V8_FLAGS_ARG, `${this.repo}/cli.ts`];
    if (this.backend) args.push("--backend", this.backend);
    if (inv.sysroot) args.push("--sysroot", inv.sysroot);
    args.push("--clear-env");
    for (const [k, v] of Object.entries(inv.env)) args.push("--env", `${k}=${v}`);
    args.push("--workdir", inv.cwd, "--", inv.program, ...inv.args);
    return args;
  }

  /** `REPO/elfuse [options] -- program args`: the launcher, in the guest's directory. */
  shellCommand(inv: Invocation): string {
    const argv = this.argv(inv);
    const at = argv.indexOf("--workdir");
    // The launcher runs the same cli.ts; the guest's directory is where the line runs.
    const own = argv.slice(4, at).concat(argv.slice(at + 2));
    return [`${this.repo}/elfuse`, ...own].map(shellQuote).join(" ");
  }

  async unavailable(): Promise<string | null> {
    try {
      await Deno.stat(`${this.repo}/cli.ts`);
      return null;
    } catch {
      return `${this.repo}/cli.ts not found`;
    }
  }

  cannotRun(_needs: Needs): Promise<string | null> {
    return Promise.resolve(null);
  }

  /** Runs one guest with `deno run -A <repo>/cli.ts`, from the repository directory. */
  run(inv: Invocation): Promise<RunResult> {
    return spawnTimed(this.name, {
      cmd: Deno.execPath(),
      args: this.argv(inv),
      cwd: this.repo,
      env: { NO_COLOR: "1", DENO_NO_UPDATE_CHECK: "1" },
      stdin: inv.stdin,
      timeoutSeconds: inv.timeoutSeconds,
    });
  }
}

/** `env -i K=V... command`: a clean environment holding exactly `env`. */
function withCleanEnv(env: Record<string, string>, argv: string[]): string {
  const vars = Object.entries(env).map(([k, v]) => shellQuote(`${k}=${v}`));
  return ["env", "-i", ...vars, ...argv.map(shellQuote)].join(" ");
}

/**
 * Runs programs with `qemu-aarch64 [-L sysroot] program args`.
 *
 * @example
 * ```ts
 * const qemu = new QemuUserRunner(".tools/sysroot");
 * console.log(await qemu.cannotRun(someCase)); // null when it can
 * ```
 */
export class QemuUserRunner implements Runner {
  readonly name = "qemu-user";
  readonly description: string;
  /** The qemu-aarch64 binary, or null when none is installed. */
  readonly qemu: string | null;

  /** A qemu-user runner, with `-L sysroot` when given (`qemu` and `binfmtRoot` are for tests). */
  constructor(readonly sysroot?: string, qemu?: string, readonly binfmtRoot?: string) {
    this.qemu = qemu ?? which("qemu-aarch64", "qemu-aarch64-static");
    this.description = `qemu-user (${this.qemu ?? "qemu-aarch64 not found"}${
      sysroot ? ` -L ${sysroot}` : ""
    })`;
  }

  unavailable(): Promise<string | null> {
    return Promise.resolve(
      this.qemu ? null : "qemu-aarch64 not found on PATH (apt-get install qemu-user)",
    );
  }

  /**
   * How a program under this qemu fares when it execs an aarch64 program: binfmt_misc decides
   * (matrix/binfmt.ts). Read afresh each time: another run on the machine may change it.
   */
  execFollowing(): Promise<ExecFollowing> {
    return readExecFollowing(this.binfmtRoot);
  }

  /** The binfmt_misc state that exec cases depend on, as one line. */
  async execState(): Promise<string> {
    return (await this.execFollowing()).message;
  }

  /** Cases that exec need binfmt_misc to hand the new program to qemu-user faithfully. */
  async cannotRun(needs: Needs): Promise<string | null> {
    if (!needs.needsExec && !needs.mayExec) return null;
    const problem = execProblem(await this.execFollowing(), needs);
    return problem === null ? null : `reference unavailable: ${problem}`;
  }

  #argv(inv: Invocation): string[] {
    const sysroot = inv.sysroot ?? this.sysroot;
    return [...(sysroot ? ["-L", sysroot] : []), inv.program, ...inv.args];
  }

  /** `env -i K=V... qemu-aarch64 [-L sysroot] program args`. */
  shellCommand(inv: Invocation): string {
    return withCleanEnv(inv.env, [this.qemu ?? "qemu-aarch64", ...this.#argv(inv)]);
  }

  /** Runs one guest with qemu-aarch64, in a clean environment. */
  run(inv: Invocation): Promise<RunResult> {
    return spawnTimed(this.name, {
      cmd: this.qemu ?? "qemu-aarch64",
      args: this.#argv(inv),
      cwd: inv.cwd,
      env: inv.env,
      clearEnv: true,
      stdin: inv.stdin,
      timeoutSeconds: inv.timeoutSeconds,
    });
  }
}

/**
 * Runs programs directly, on a host that runs aarch64 Linux programs itself.
 *
 * @example
 * ```ts
 * if (hostRunsAarch64()) console.log(await new NativeRunner().unavailable()); // null
 * ```
 */
export class NativeRunner implements Runner {
  readonly name: string = "native";
  readonly description: string = "native (the host runs aarch64 itself)";

  unavailable(): Promise<string | null> {
    return Promise.resolve(
      hostRunsAarch64()
        ? null
        : `this host (${Deno.build.os}/${Deno.build.arch}) cannot run aarch64 Linux programs`,
    );
  }

  cannotRun(_needs: Needs): Promise<string | null> {
    return Promise.resolve(null);
  }

  /** `env -i K=V... program args`. */
  shellCommand(inv: Invocation): string {
    return withCleanEnv(inv.env, [inv.program, ...inv.args]);
  }

  /** Runs one guest directly, in a clean environment. */
  run(inv: Invocation): Promise<RunResult> {
    return spawnTimed(this.name, {
      cmd: inv.program,
      args: inv.args,
      cwd: inv.cwd,
      env: inv.env,
      clearEnv: true,
      stdin: inv.stdin,
      timeoutSeconds: inv.timeoutSeconds,
    });
  }
}

/** True when this host runs x86-64 Linux programs itself. */
export function hostRunsX86_64(): boolean {
  return Deno.build.os === "linux" && Deno.build.arch === "x86_64";
}

/**
 * The x86-64 guests' reference: the program run directly on an x86-64 Linux host (what the
 * original's Rosetta acceptance suite compares with, natively).
 */
export class NativeX86_64Runner extends NativeRunner {
  override readonly name = "native-x86_64";
  override readonly description = "native (the host runs x86-64 itself)";

  override unavailable(): Promise<string | null> {
    return Promise.resolve(
      hostRunsX86_64()
        ? null
        : `this host (${Deno.build.os}/${Deno.build.arch}) cannot run x86-64 Linux programs`,
    );
  }
}

/** The reference for x86_64 cases on this host, or null when it has none. */
export function x86_64Reference(): Runner | null {
  return hostRunsX86_64() ? new NativeX86_64Runner() : null;
}

/** Options for {@linkcode makeRunner}. */
export interface RunnerOptions {
  /** The repository root (for elfuse's cli.ts). */
  repo: string;
  /** elfuse's `--backend`. */
  backend?: string;
  /** qemu-user's `-L`. */
  sysroot?: string;
}

/**
 * The runner of that name.
 *
 * @example
 * ```ts
 * const subject = makeRunner("elfuse", { repo: ".", backend: "unicorn" });
 * const reference = makeRunner("qemu-user", { repo: "." });
 * ```
 */
export function makeRunner(name: RunnerName, opts: RunnerOptions): Runner {
  switch (name) {
    case "elfuse":
      return new ElfuseRunner(opts.repo, opts.backend);
    case "qemu-user":
      return new QemuUserRunner(opts.sysroot);
    case "native":
      return new NativeRunner();
  }
}
