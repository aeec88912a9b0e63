/**
 * elfuse as a library: run Linux AArch64 ELF programs from Deno.
 *
 * @module
 */
import { type RunOptions, runProgram } from "./runtime/run.ts";
import type { ExitStatus } from "./runtime/kernel/process.ts";

export type { ExitStatus, RunOptions };
export { ElfuseError } from "./runtime/errors.ts";
export { parseElf } from "./runtime/elf/parse.ts";
export type { ElfImage, ProgramHeader } from "./runtime/elf/parse.ts";

/**
 * Runs a static aarch64 Linux program in this process until it exits, with this process's
 * stdin, stdout and stderr, and returns how it ended: `{ code }` or `{ signal, core }`.
 * Throws {@link ElfuseError} (with a shell-like `exitCode`) when the program cannot be run.
 *
 * @example
 * ```ts
 * import { run } from "./mod.ts";
 * const status = await run({ program: "./fixtures/build/hello", args: [] });
 * if ("code" in status) console.log("exited with", status.code);
 * ```
 */
export function run(options: RunOptions): Promise<ExitStatus> {
  return runProgram(options);
}
