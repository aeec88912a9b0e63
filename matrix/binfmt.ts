/**
 * Whether qemu-user, as the matrix's reference, follows an execve of another aarch64 program, and
 * how well. qemu-user itself cannot: the host kernel runs the new program, and only binfmt_misc
 * can hand it to an emulator. What that entry says decides which cases the reference can judge:
 *
 * - `none`: no enabled entry claims aarch64 programs (or binfmt_misc is not mounted): an execve
 *   of one fails with ENOEXEC. Cases that need the exec (`needsExec`) cannot run on the
 *   reference; busybox's shell, which re-executes itself for applets, falls back to running them
 *   in-process, so cases that only may exec (`mayExec`) still give the right output.
 * - `faithful`: qemu-aarch64 (or -static) with flag P (argv[0] preserved): the new program runs
 *   as the kernel would run it, bar qemu's own bugs (known differences with `judgeAlone`).
 * - `unfaithful`: an entry without flag P (the new program gets its path as argv[0], so a busybox
 *   applet re-executed as `sh` runs as `busybox`), or one that hands aarch64 programs to
 *   something other than qemu-user (elfuse itself after `elfuse binfmt install`): neither kind
 *   of case can be judged against the reference.
 *
 * The matrix only reads binfmt_misc: it never registers, mounts or changes anything there.
 * (tools/binfmt_ci.ts does, around a whole test run, and puts back what it found.)
 *
 * @module
 */

import {
  aarch64Entries,
  BINFMT_ROOT,
  type BinfmtEntry,
  type BinfmtState,
  describeState,
  readState,
} from "../runtime/host/binfmt_misc.ts";

export { BINFMT_ROOT, type BinfmtEntry, type BinfmtState, describeState, readState };

/** How a program running under qemu-user fares when it execs another aarch64 program. */
export interface ExecFollowing {
  /** See the module's documentation. */
  kind: "none" | "faithful" | "unfaithful";
  /** One line saying why, naming the binfmt_misc entry when there is one. */
  message: string;
}

/** True when the interpreter is a qemu-user for aarch64 (by its name or the file it links to). */
export function isQemuInterpreter(path: string, realPath?: string): boolean {
  const qemu = /(^|\/)(qemu-aarch64(-static)?|aarch64-binfmt-P)$/;
  return qemu.test(path) || (realPath !== undefined && qemu.test(realPath));
}

function realPathOr(path: string | undefined): string | undefined {
  if (path === undefined) return undefined;
  try {
    return Deno.realPathSync(path);
  } catch {
    return undefined;
  }
}

/**
 * What binfmt_misc does for a program under qemu-user that execs an aarch64 program.
 *
 * @example
 * ```ts
 * const f = execFollowing(await readState());
 * if (f.kind !== "faithful") console.log(`exec cases are judged on elfuse alone: ${f.message}`);
 * ```
 */
export function execFollowing(
  state: BinfmtState,
  realPath: (p: string | undefined) => string | undefined = realPathOr,
): ExecFollowing {
  const where = describeState(state);
  if (!state.mounted || !state.enabled) {
    return { kind: "none", message: `${where}: qemu-user cannot follow an execve` };
  }
  // With flag F the kernel opened the interpreter when the entry was registered: its path no
  // longer matters (a container may not even have it). Without, a missing one fails the exec.
  const entries = aarch64Entries(state).filter((e) =>
    e.flags.includes("F") || realPath(e.interpreter) !== undefined
  );
  if (entries.length === 0) {
    return { kind: "none", message: `${where}: qemu-user cannot follow an execve` };
  }
  const notQemu = entries.filter((e) =>
    e.interpreter === undefined || !isQemuInterpreter(e.interpreter, realPath(e.interpreter))
  );
  if (notQemu.length) {
    return {
      kind: "unfaithful",
      message: `${where}: an aarch64 program that qemu-user execs runs under ` +
        `${notQemu.map((e) => e.interpreter ?? e.name).join(", ")}, not qemu-user`,
    };
  }
  const noP = entries.filter((e) => !e.flags.includes("P"));
  if (noP.length) {
    return {
      kind: "unfaithful",
      message: `${where}: entry ${noP.map((e) => e.name).join(", ")} lacks flag P, so a ` +
        `program qemu-user execs gets its path as argv[0] (busybox applets break)`,
    };
  }
  return { kind: "faithful", message: `${where}: qemu-user follows an execve` };
}

/**
 * {@linkcode execFollowing} of binfmt_misc as it is now under `root`.
 *
 * @example
 * ```ts
 * const f = await readExecFollowing();
 * console.log(f.kind, f.message); // e.g. "none", "binfmt_misc is not mounted ..."
 * ```
 */
export async function readExecFollowing(root = BINFMT_ROOT): Promise<ExecFollowing> {
  return execFollowing(await readState(root));
}

/** What a case needs from the reference's exec, as the case declares it. */
export interface ExecNeeds {
  /** The case execs another aarch64 program and cannot be right without it. */
  needsExec?: boolean;
  /** The case may exec aarch64 programs but copes when execve fails (busybox sh). */
  mayExec?: boolean;
}

/**
 * Null when a reference with this exec behaviour can run the case, else why not.
 *
 * @example
 * ```ts
 * const why = execProblem(await readExecFollowing(), { needsExec: true });
 * if (why !== null) console.log(`judged on elfuse alone: ${why}`);
 * ```
 */
export function execProblem(f: ExecFollowing, needs: ExecNeeds): string | null {
  if (needs.needsExec && f.kind !== "faithful") return f.message;
  if (needs.mayExec && f.kind === "unfaithful") return f.message;
  return null;
}
