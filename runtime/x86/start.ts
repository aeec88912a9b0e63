// Starting an x86-64 program from the command line: the translator becomes the program elfuse
// loads, with the binfmt_misc-style argv (translator.ts). Loaded only when the program named is
// an x86-64 one, so a plain run never reads it.
import { ElfuseError } from "../errors.ts";
import { EM_AARCH64, machineName } from "../elf/parse.ts";
import { type Program, readProgram } from "../program.ts";
import type { Sysroot } from "../sysroot/resolve.ts";
import {
  findTranslator,
  handOverArgv,
  type Translator,
  translatorProblem,
  type X86Settings,
} from "./translator.ts";

/** What runs instead of an x86-64 program: its translator, with the argv it is handed. */
export interface X86Start {
  translator: Translator;
  program: Program;
  argv: string[];
}

/**
 * The translator for `program` (an x86-64 ELF started as `shown` with `argv`), read and checked;
 * throws ElfuseError with one line (126, as a shell's "cannot execute") when there is none or it
 * cannot run this program.
 */
export function startX86(
  program: Program,
  shown: string,
  argv: string[],
  settings: X86Settings,
  sysroot: Sysroot | undefined,
): X86Start {
  const t = findTranslator(settings, { sysroot, os: Deno.build.os, arch: Deno.build.arch });
  if ("error" in t) throw new ElfuseError(`${shown}: is an x86-64 program: ${t.error}`, 126);
  const problem = translatorProblem(t, program.elf);
  if (problem !== undefined) throw new ElfuseError(`${shown}: ${problem}`, 126);
  let translator: Program;
  try {
    translator = readProgram(t.hostPath, t.guestPath, true);
  } catch (e) {
    if (!(e instanceof ElfuseError)) throw e;
    throw new ElfuseError(`x86-64 translator ${e.message}`, 126);
  }
  if (translator.elf.machine !== EM_AARCH64) {
    throw new ElfuseError(
      `x86-64 translator ${t.guestPath}: is an ${
        machineName(translator.elf.machine)
      } program; the translator must be an AArch64 program`,
      126,
    );
  }
  return { translator: t, program: translator, argv: handOverArgv(t, shown, argv) };
}
