// Finding and reading the program to run, with the shell's exit codes for what goes wrong:
// 127 when it cannot be found, 126 when it is found but cannot be run.
import { isAbsolute, join, resolve } from "./path.ts";
import {
  ElfError,
  type ElfImage,
  EM_AARCH64,
  EM_X86_64,
  machineName,
  parseElf,
} from "./elf/parse.ts";
import { ElfuseError } from "./errors.ts";
import { libc } from "./host/libc.ts";
import { ProgramFile } from "./program_file.ts";
import type { Sysroot } from "./sysroot/resolve.ts";

export interface Program {
  /** Absolute host path. */
  hostPath: string;
  /** Its headers; the loader maps its segments from the file (program_file.ts). */
  elf: ElfImage;
  /** The file, already open (execve opens it before its point of no return); else by path. */
  file?: ProgramFile;
}

/** Debian's default PATH (/etc/profile): where a sysroot's own commands are. */
const SYSROOT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/**
 * A name with a slash is a path; a bare name is looked up in PATH as a shell does. Under a sysroot,
 * absolute guest paths (and PATH entries) go through its rules, and the sysroot's own PATH is
 * searched before the guest's; the result is a host path.
 */
export function findProgram(
  name: string,
  pathVar: string | undefined,
  cwd: string,
  sysroot?: Sysroot,
): string {
  if (name === "") throw new ElfuseError("missing program name", 127);
  const host = (p: string): string => {
    if (sysroot === undefined || !p.startsWith("/")) return p;
    const h = sysroot.hostPath(p);
    return typeof h === "number" ? p : h;
  };
  if (name.includes("/")) return isAbsolute(name) ? host(name) : resolve(cwd, name);
  // As a shell searches: the first executable regular file wins; one that is not executable is
  // remembered, so that "permission denied" (126) beats "not found" (127).
  let unrunnable: string | undefined;
  // Under a sysroot its own PATH comes first: the host's PATH may name a host tool of that name
  // (a pyenv shim for python3) that the sysroot's program should win over.
  const dirs = (pathVar ?? "/usr/local/bin:/usr/bin:/bin").split(":");
  if (sysroot !== undefined) dirs.unshift(...SYSROOT_PATH.split(":"));
  for (const dir of dirs) {
    const p = host(resolve(cwd, join(dir || ".", name)));
    const problem = programFileProblem(p);
    if (problem === undefined) return p;
    if (problem.errno === "EACCES") unrunnable ??= p;
  }
  if (unrunnable !== undefined) return unrunnable;
  throw new ElfuseError(`${name}: command not found`, 127);
}

/** Why execve(2) would refuse to open a file as a program, before reading a byte of it. */
export interface FileProblem {
  errno: "ENOENT" | "ENOTDIR" | "EACCES" | "ELOOP" | "ENAMETOOLONG";
  why: string;
}

const AT_FDCWD = -100, X_OK = 1, AT_EACCESS = 0x200;
const enc = new TextEncoder();

/**
 * Linux's do_open_execat() opens only a regular file (EACCES otherwise: a device such as
 * /dev/zero, a FIFO, a socket, a directory) that the caller may execute (MAY_EXEC, which also
 * fails on a noexec mount); root needs an execute bit too. Checked on the path, before it is
 * opened: opening a FIFO would block, and reading a device may never end.
 */
export function programFileProblem(hostPath: string): FileProblem | undefined {
  let st: Deno.FileInfo;
  try {
    st = Deno.statSync(hostPath);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return { errno: "ENOENT", why: "no such file" };
    if (e instanceof Deno.errors.NotADirectory) return { errno: "ENOTDIR", why: "not a directory" };
    if (e instanceof Deno.errors.FilesystemLoop) return { errno: "ELOOP", why: "too many links" };
    if ((e as { code?: string }).code === "ENAMETOOLONG") {
      return { errno: "ENAMETOOLONG", why: "file name too long" };
    }
    return { errno: "EACCES", why: "permission denied" };
  }
  if (st.isDirectory) return { errno: "EACCES", why: "is a directory" };
  if (!st.isFile) return { errno: "EACCES", why: "permission denied: not a regular file" };
  const path = enc.encode(`${hostPath}\0`);
  const addr = Number(Deno.UnsafePointer.value(Deno.UnsafePointer.of(path)));
  if (libc.faccessat(AT_FDCWD, addr, X_OK, AT_EACCESS) !== 0) {
    return { errno: "EACCES", why: "permission denied" };
  }
  return undefined;
}

/**
 * Reads and validates an aarch64 ELF program (or, with `x86`, an x86-64 one, which runs through a
 * translator: x86/translator.ts).
 */
export function readProgram(hostPath: string, shown: string, x86 = false): Program {
  const problem = programFileProblem(hostPath);
  if (problem !== undefined) {
    // The shell's statuses: 127 for a name that leads nowhere, 126 for a file that cannot run.
    throw new ElfuseError(`${shown}: ${problem.why}`, problem.errno === "ENOENT" ? 127 : 126);
  }
  const file = ProgramFile.open(hostPath);
  if (!(file instanceof ProgramFile)) {
    // EACCES, EPERM (a seal, an LSM): what open(2) says; programFileProblem caught the rest.
    throw new ElfuseError(`${shown}: cannot open: ${hostErrorText(file.errno)}`, 126);
  }
  let elf: ElfImage;
  const bytes = file.read(0, 20);
  try {
    elf = parseElf(file);
  } catch (e) {
    if (!(e instanceof ElfError)) throw e;
    if (e.notElf && bytes[0] === 0x23 && bytes[1] === 0x21) {
      throw new ElfuseError(`${shown}: is a script (#!), not an ELF program`, 126);
    }
    if (bytes[4] === 1 && bytes.length >= 20) {
      // ELFCLASS32: name the machine (e_machine sits at offset 18 in both classes).
      throw new ElfuseError(
        `${shown}: cannot execute: it is a 32-bit ${
          machineName(bytes[18] | (bytes[19] << 8)).replace(/ \(32-bit\)$/, "")
        } program; elfuse runs 64-bit AArch64 programs (and x86-64 ones through a translator)`,
        126,
      );
    }
    throw new ElfuseError(`${shown}: cannot execute: ${e.message}`, 126);
  } finally {
    file.close();
  }
  if (elf.machine !== EM_AARCH64 && !(x86 && elf.machine === EM_X86_64)) {
    throw new ElfuseError(
      `${shown}: cannot execute: it is an ${
        machineName(elf.machine)
      } program; elfuse runs AArch64 (arm64) Linux programs${
        x86 ? " (and x86-64 ones through a translator)" : ""
      }`,
      126,
    );
  }
  return { hostPath, elf };
}

/** A host errno as words, for the few open(2) failures left after programFileProblem's checks. */
function hostErrorText(errno: number): string {
  // EPERM and EACCES are 1 and 13 on Linux and macOS alike.
  return errno === 1 || errno === 13 ? "permission denied" : `host errno ${errno}`;
}

/** Linux's BINPRM_MAX_RECURSION: how many `#!` interpreters deep a program may go. */
const MAX_SCRIPT_DEPTH = 4;

/** The program to start after following `#!` lines: its ELF, argv and the name it runs as. */
export interface Target {
  /** The ELF program (the last interpreter, for a script). */
  program: Program;
  /** The name it runs as (AT_EXECFN): the interpreter's path as the `#!` line gives it. */
  shown: string;
  /** argv: for a script, `[interpreter, argument?, script, args...]`. */
  argv: string[];
}

/**
 * Reads the program at `hostPath`, following `#!` lines as execve does (Linux binfmt_script):
 * `#!interpreter [one argument]` runs the interpreter with argv `[interpreter, argument?, script,
 * argv[1]...]`, where `script` is `shown` (the name the program was started by); an absolute
 * interpreter path goes through the sysroot's rules. Errors are the shell's: 126 for a script
 * whose interpreter is missing or that nests too deep. With `x86`, the program found may be an
 * x86-64 one (the caller hands it to a translator).
 */
export function readTarget(
  hostPath: string,
  shown: string,
  argv: string[],
  sysroot?: Sysroot,
  cwd = Deno.cwd(),
  x86 = false,
): Target {
  for (let depth = 0;; depth++) {
    // execve's checks come before the file is opened (a FIFO would block): readProgram reports.
    if (programFileProblem(hostPath) !== undefined) {
      return { program: readProgram(hostPath, shown, x86), shown, argv };
    }
    let head: Uint8Array;
    try {
      const f = Deno.openSync(hostPath);
      try {
        head = new Uint8Array(256);
        head = head.subarray(0, f.readSync(head) ?? 0);
      } finally {
        f.close();
      }
    } catch {
      return { program: readProgram(hostPath, shown, x86), shown, argv }; // its error is the right one
    }
    if (head[0] !== 0x23 || head[1] !== 0x21) {
      return { program: readProgram(hostPath, shown, x86), shown, argv };
    }
    if (depth === MAX_SCRIPT_DEPTH) {
      throw new ElfuseError(`${shown}: too many levels of #! interpreters`, 126);
    }
    // "#!interpreter [one argument]": the rest of the line is a single argument, as on Linux.
    const end = head.indexOf(0x0a);
    const line = new TextDecoder().decode(head.subarray(2, end < 0 ? head.length : end)).trim();
    if (line === "") throw new ElfuseError(`${shown}: its #! line names no interpreter`, 126);
    const sp = line.search(/[ \t]/);
    const interp = sp < 0 ? line : line.slice(0, sp);
    const arg = sp < 0 ? "" : line.slice(sp).trim();
    let next = resolve(cwd, interp);
    if (sysroot !== undefined && interp.startsWith("/")) {
      const h = sysroot.hostPath(interp);
      if (typeof h === "string") next = h;
    }
    try {
      Deno.statSync(next);
    } catch {
      throw new ElfuseError(`${shown}: bad interpreter ${interp}: no such file`, 126);
    }
    argv = [interp, ...(arg ? [arg] : []), shown, ...argv.slice(1)];
    hostPath = next;
    shown = interp;
  }
}
