// Finding and reading the program to run, with the shell's exit codes for what goes wrong:
// 127 when it cannot be found, 126 when it is found but cannot be run.
import { isAbsolute, join, resolve } from "./path.ts";
import { ElfError, type ElfImage, EM_AARCH64, machineName, parseElf } from "./elf/parse.ts";
import { ElfuseError } from "./errors.ts";
import type { Sysroot } from "./sysroot/resolve.ts";

export interface Program {
  /** Absolute host path. */
  hostPath: string;
  elf: ElfImage;
  bytes: Uint8Array;
}

/**
 * A name with a slash is a path; a bare name is looked up in PATH as a shell does. Under a sysroot,
 * absolute guest paths (and PATH entries) go through its rules; the result is a host path.
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
  for (const dir of (pathVar ?? "/usr/local/bin:/usr/bin:/bin").split(":")) {
    const p = host(resolve(cwd, join(dir || ".", name)));
    try {
      const st = Deno.statSync(p);
      if (st.isFile) return p;
    } catch {
      // not in this directory
    }
  }
  throw new ElfuseError(`${name}: command not found`, 127);
}

/** Reads and validates an aarch64 ELF program. */
export function readProgram(hostPath: string, shown: string): Program {
  let bytes: Uint8Array;
  try {
    const st = Deno.statSync(hostPath);
    if (st.isDirectory) throw new ElfuseError(`${shown}: is a directory`, 126);
    bytes = Deno.readFileSync(hostPath);
  } catch (e) {
    if (e instanceof ElfuseError) throw e;
    if (e instanceof Deno.errors.NotFound) throw new ElfuseError(`${shown}: no such file`, 127);
    if (e instanceof Deno.errors.PermissionDenied) {
      throw new ElfuseError(`${shown}: permission denied`, 126);
    }
    throw new ElfuseError(`${shown}: ${(e as Error).message}`, 126);
  }
  let elf: ElfImage;
  try {
    elf = parseElf(bytes);
  } catch (e) {
    if (!(e instanceof ElfError)) throw e;
    if (e.notElf && bytes[0] === 0x23 && bytes[1] === 0x21) {
      throw new ElfuseError(
        `${shown}: is a script (#!); scripts run once execve is supported`,
        126,
      );
    }
    throw new ElfuseError(`${shown}: cannot execute: ${e.message}`, 126);
  }
  if (elf.machine !== EM_AARCH64) {
    throw new ElfuseError(
      `${shown}: cannot execute: it is an ${
        machineName(elf.machine)
      } program; elfuse runs AArch64 (arm64) Linux programs`,
      126,
    );
  }
  return { hostPath, elf, bytes };
}
