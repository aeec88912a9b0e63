// Starting an x86-64 program from the command line: the translator becomes the program elfuse
// loads, with the binfmt_misc-style argv (translator.ts). Without --sysroot, box64's own sysroot
// is the default one (defaultX86SysrootDir), fetched on first use when the user agrees at a
// terminal. Loaded only when the program named is an x86-64 one, so a plain run never reads it.
import { ElfuseError } from "../errors.ts";
import { EM_AARCH64, machineName } from "../elf/parse.ts";
import { type Program, readProgram } from "../program.ts";
import { Sysroot } from "../sysroot/resolve.ts";
import {
  BOX64_GUEST_PATH,
  box64SysrootCommand,
  defaultX86SysrootDir,
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
  /** The sysroot the run uses: the one given, or box64's default one. */
  sysroot: Sysroot | undefined;
}

/** Asks a yes/no question on the terminal; false when stdin or stderr is not one. */
export type Ask = (question: string) => Promise<boolean>;

/** The terminal's answer to `question` (a line starting with y or Y is yes). */
export async function askTerminal(question: string): Promise<boolean> {
  if (!Deno.stdin.isTerminal() || !Deno.stderr.isTerminal()) return false;
  Deno.stderr.writeSync(new TextEncoder().encode(`elfuse: ${question} [y/N] `));
  const buf = new Uint8Array(256);
  const n = await Deno.stdin.read(buf);
  return isYes(new TextDecoder().decode(buf.subarray(0, n ?? 0)));
}

/** "y", "yes" (any case, surrounding blanks) and nothing else. */
export function isYes(answer: string): boolean {
  return /^\s*y(es)?\s*$/i.test(answer);
}

function hasBox64(dir: string): boolean {
  try {
    return Deno.statSync(`${dir}${BOX64_GUEST_PATH}`).isFile;
  } catch {
    return false;
  }
}

/**
 * box64's default sysroot for a run without --sysroot and without --x86-translator: there
 * already, or fetched now if the user agrees (about 9 MB from Debian sid); undefined otherwise.
 */
async function defaultSysroot(
  dir: string | undefined,
  ask: Ask,
  verbose: boolean,
): Promise<Sysroot | undefined> {
  if (dir === undefined) return undefined;
  if (!hasBox64(dir)) {
    const question = `x86-64 programs run through box64, which is not installed: fetch it ` +
      `from Debian (about 9 MB) into ${dir} (${box64SysrootCommand(dir)})?`;
    if (!(await ask(question))) return undefined;
    const { createSysroot } = await import("../sysroot/create.ts");
    await createSysroot({ dir, packages: ["box64"], suite: "sid" });
  }
  if (verbose) console.error(`elfuse: no --sysroot: box64's sysroot ${dir}`);
  return new Sysroot(dir);
}

/**
 * The translator for `program` (an x86-64 ELF started as `shown` with `argv`), read and checked;
 * throws ElfuseError with one line (126, as a shell's "cannot execute") when there is none or it
 * cannot run this program.
 */
export async function startX86(
  program: Program,
  shown: string,
  argv: string[],
  settings: X86Settings & { verbose?: boolean },
  sysroot: Sysroot | undefined,
  ask: Ask = askTerminal,
): Promise<X86Start> {
  const defaultDir = defaultX86SysrootDir();
  if (sysroot === undefined && !settings.noX86 && !settings.x86Translator) {
    sysroot = await defaultSysroot(defaultDir, ask, settings.verbose === true);
  }
  const t = findTranslator(settings, {
    sysroot,
    os: Deno.build.os,
    arch: Deno.build.arch,
    defaultSysroot: defaultDir,
  });
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
  return { translator: t, program: translator, argv: handOverArgv(t, shown, argv), sysroot };
}
