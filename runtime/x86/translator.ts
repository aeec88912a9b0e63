// x86-64 guests: elfuse runs an x86-64 Linux program by hosting a translator, itself an AArch64
// Linux program, as the guest, and handing it the x86-64 program the way Linux's binfmt_misc
// hands a program to its registered interpreter. One path for every translator: Debian's arm64
// box64 (any host), Apple's Linux Rosetta (Apple Silicon; see rosetta.ts for what is built).
// What a guest sees (argv, /proc/self/exe, AT_EXECFN, execve) is in docs/x86_64.md.
import { type ElfImage, EM_X86_64 } from "../elf/parse.ts";
import { basename, isAbsolute, resolve } from "../path.ts";
import type { Sysroot } from "../sysroot/resolve.ts";
import { ROSETTA_PATH, rosettaInstallHint, rosettaUnavailable } from "./rosetta.ts";

/** Where box64 lives in a sysroot made by `elfuse sysroot create --suite sid DIR box64`. */
export const BOX64_GUEST_PATH = "/usr/bin/box64";

/** The one command that makes a sysroot with box64 in `dir` (docs/x86_64.md). */
export function box64SysrootCommand(dir = "DIR"): string {
  return `elfuse sysroot create --suite sid ${dir} box64`;
}

/**
 * Where box64's sysroot is looked for when a run has no --sysroot: ELFUSE_X86_SYSROOT, else
 * $XDG_CACHE_HOME/elfuse/x86-sysroot, else ~/.cache/elfuse/x86-sysroot (undefined without HOME).
 */
export function defaultX86SysrootDir(
  env: (name: string) => string | undefined = (n) => Deno.env.get(n),
): string | undefined {
  const own = env("ELFUSE_X86_SYSROOT");
  if (own) return own;
  const cache = env("XDG_CACHE_HOME") || (env("HOME") ? `${env("HOME")}/.cache` : undefined);
  return cache === undefined ? undefined : `${cache}/elfuse/x86-sysroot`;
}

/** How x86-64 programs are to be run: the run-wide options (RuntimeOptions carries them). */
export interface X86Settings {
  /** --x86-translator / ELFUSE_X86_TRANSLATOR: the translator's host path. */
  x86Translator?: string;
  /** --no-x86 (alias --no-rosetta): x86-64 programs are refused. */
  noX86?: boolean;
  /**
   * ELFUSE_X86_STANDIN=rosetta (tests): the --x86-translator program plays Rosetta's role. It is
   * handed the program as Rosetta is (AT_EXECFD) and answered the VZ ioctls, and it is not
   * Apple's Rosetta, so it is not refused (docs/x86_64.md, "A stand-in for Rosetta").
   */
  x86StandIn?: boolean;
}

/** Which translator a path is: each is handed the program its own way. */
export type TranslatorKind = "box64" | "rosetta" | "other";

/** A translator found for an x86-64 program. */
export interface Translator {
  kind: TranslatorKind;
  /** Host path of the translator (an AArch64 ELF program). */
  hostPath: string;
  /** The path the guest sees for it (the sysroot prefix stripped): argv[0], /proc/self/exe. */
  guestPath: string;
  /** How it was found, for -v. */
  source: string;
  /** A stand-in playing Rosetta's role (kind "rosetta"): never Apple's binary. */
  standIn?: boolean;
}

/** Where the translator search happens: the run's sysroot and the host. */
export interface TranslatorHost {
  sysroot?: Sysroot;
  os: string;
  arch: string;
  /** Does a file exist (tests pass a fake). */
  exists?: (hostPath: string) => boolean;
  /** Where box64's own sysroot would be (defaultX86SysrootDir), for the error message. */
  defaultSysroot?: string;
  /** The run's backend: Rosetta needs hvf (it runs only in Apple's hypervisor). */
  backend?: string;
}

function fileExists(p: string): boolean {
  try {
    return Deno.statSync(p).isFile;
  } catch {
    return false;
  }
}

function kindOf(path: string): TranslatorKind {
  const name = basename(path);
  if (name.startsWith("box64")) return "box64";
  return name === "rosetta" ? "rosetta" : "other";
}

/**
 * Finds the translator for an x86-64 program, in this order: --x86-translator (or
 * ELFUSE_X86_TRANSLATOR), the sysroot's /usr/bin/box64, Rosetta on Apple Silicon with the hvf
 * backend when it is installed. Returns a
 * one-line reason when there is none (or x86-64 programs are refused).
 */
export function findTranslator(
  settings: X86Settings,
  host: TranslatorHost,
): Translator | { error: string } {
  if (settings.noX86) {
    return { error: "x86-64 programs are refused here (--no-x86 or ELFUSE_NO_X86)" };
  }
  const exists = host.exists ?? fileExists;
  const sr = host.sysroot;
  const named = settings.x86Translator;
  if (named !== undefined && named !== "") {
    const hostPath = isAbsolute(named) ? named : resolve(Deno.cwd(), named);
    if (!exists(hostPath)) return { error: `x86-64 translator ${named}: no such file` };
    const guestPath = sr?.guestPath(hostPath) ?? hostPath;
    if (settings.x86StandIn) {
      return {
        kind: "rosetta",
        hostPath,
        guestPath,
        source: "--x86-translator, standing in for Rosetta",
        standIn: true,
      };
    }
    return { kind: kindOf(hostPath), hostPath, guestPath, source: "--x86-translator" };
  }
  if (sr !== undefined) {
    const h = sr.hostPath(BOX64_GUEST_PATH);
    if (typeof h === "string" && exists(h)) {
      return { kind: "box64", hostPath: h, guestPath: BOX64_GUEST_PATH, source: "the sysroot" };
    }
  }
  const appleSilicon = host.os === "darwin" && host.arch === "aarch64";
  if (appleSilicon && host.backend === "hvf" && exists(ROSETTA_PATH)) {
    return { kind: "rosetta", hostPath: ROSETTA_PATH, guestPath: ROSETTA_PATH, source: "Rosetta" };
  }
  const hint = sr === undefined && host.defaultSysroot !== undefined
    ? `no --sysroot and no box64 in ${host.defaultSysroot}: run ${
      box64SysrootCommand(host.defaultSysroot)
    } once`
    : `${
      sr === undefined ? "no --sysroot" : `the sysroot ${sr.root} has no ${BOX64_GUEST_PATH}`
    }: make a sysroot with box64 (${box64SysrootCommand()}) and run with --sysroot DIR`;
  return {
    error: `no x86-64 translator (${hint}), or name one with --x86-translator PATH` +
      (appleSilicon ? `, or ${rosettaInstallHint}` : ""),
  };
}

/**
 * Why this translator cannot run this program, in one line (undefined: it can). Measured: box64
 * 0.4.3 exits with status 128 before main for a static (or static-pie) x86-64 program, under
 * elfuse and under qemu-aarch64 alike ("box64 is not really compatible with statically linked
 * binaries"); Apple's Rosetta's start is not wired whole yet (rosetta.ts rosettaUnavailable),
 * a stand-in for it is.
 */
export function translatorProblem(t: Translator, program: ElfImage): string | undefined {
  if (program.machine !== EM_X86_64) return "not an x86-64 program";
  if (t.kind === "rosetta" && !t.standIn) return rosettaUnavailable;
  if (t.kind === "box64" && program.interpreter === undefined) {
    return "a static x86-64 program: box64 cannot run these (it exits with status 128); " +
      "link it dynamically";
  }
  return undefined;
}

/**
 * The binfmt_misc flags each translator is registered with, which decide its hand-over. box64's
 * own registration has none. Rosetta's is Apple's documented one (`update-binfmts --install
 * rosetta ... --credentials yes --preserve no --fix-binary yes`): C and F, and C implies O in
 * fs/binfmt_misc.c, so the program is opened for the translator and passed as AT_EXECFD; the
 * original elfuse opens it as guest fd 3, close-on-exec.
 */
export const BINFMT_FLAGS: Record<TranslatorKind, string> = { box64: "", rosetta: "CF", other: "" };

/** auxv's AT_EXECFD (include/uapi/linux/auxvec.h): the fd of the program an interpreter runs. */
export const AT_EXECFD = 2;

/** What a translator is handed: its argv, and whether the program is opened for it (AT_EXECFD). */
export interface HandOver {
  argv: string[];
  /** binfmt_misc's O (or C): open the program and pass the fd as AT_EXECFD. */
  openProgram: boolean;
}

/**
 * The hand-over as Linux's binfmt_misc builds it for `flags` (fs/binfmt_misc.c
 * load_misc_binary): without P the program's argv[0] is dropped; then the program's path as
 * execve was given it becomes argv[1] and the interpreter argv[0]. O, or C which implies it,
 * opens the program for the interpreter (AT_EXECFD).
 */
export function binfmtHandOver(
  flags: string,
  interpreter: string,
  programPath: string,
  argv: string[],
): HandOver {
  const rest = flags.includes("P") ? argv : argv.slice(1);
  return {
    argv: [interpreter, programPath, ...rest],
    openProgram: flags.includes("O") || flags.includes("C"),
  };
}

/** The hand-over for this translator (BINFMT_FLAGS). */
export function handOver(t: Translator, programPath: string, argv: string[]): HandOver {
  return binfmtHandOver(BINFMT_FLAGS[t.kind], t.guestPath, programPath, argv);
}

/**
 * The translator's argv: both translators are registered without P, so the program's own
 * argv[0] is lost, as under binfmt_misc; box64 gives the x86-64 program its path as argv[0].
 */
export function handOverArgv(t: Translator, programPath: string, argv: string[]): string[] {
  return handOver(t, programPath, argv).argv;
}
