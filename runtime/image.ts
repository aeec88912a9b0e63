// Building a fresh process image in an address space, as execve does: the program's segments,
// its PT_INTERP loader (at an mmap-chosen base, as Linux does), the brk start, the main stack and
// its argv/envp/auxv. Used at start-up and by execve.
import { type LoadedImage, loadElf, spanOf } from "./elf/load.ts";
import { ElfError, ET_DYN } from "./elf/parse.ts";
import { AT, buildStack } from "./elf/stack.ts";
import { ElfuseError } from "./errors.ts";
import { type AddressSpace, layout } from "./memory/address_space.ts";
import { PAGE_SIZE, pageUp, PROT_EXEC, PROT_READ, PROT_WRITE } from "./memory/vmas.ts";
import { type Program, readProgram } from "./program.ts";
import { ProgramFile } from "./program_file.ts";
import type { Sysroot } from "./sysroot/resolve.ts";
import { mapVdso } from "./vdso.ts";
import { hostIds } from "./host/credentials.ts";

export interface ImageSpec {
  program: Program;
  /** The name the program was asked for (error messages, AT_EXECFN). */
  shownName: string;
  argv: string[];
  envp: string[];
  hwcap: number;
  hwcap2: number;
  /** The backend's counter is the host's CLOCK_MONOTONIC: the vDSO may read it (vdso.ts). */
  monotonicCounter: boolean;
  /** Where PT_INTERP is looked up (undefined: on the host, by its own path). */
  sysroot?: Sysroot;
  /**
   * Places the main program instead of loadElf: Rosetta, which is linked at 128 TiB, above the
   * identity-mapped slab (backends/hvf/rosetta_install.ts). Its brk then starts at pieBase.
   */
  placeMain?: (as: AddressSpace) => LoadedImage;
  /**
   * AT_EXECFD: the guest fd of the program a translator is handed open, as Linux's binfmt_misc
   * passes it for its O (or C) flag (fs/exec.c begin_new_exec, create_elf_tables).
   */
  execFd?: number;
  /** AT_UID, AT_EUID, AT_GID, AT_EGID after an execve (default: the host's). */
  ids?: { uid: number; euid: number; gid: number; egid: number };
}

export interface Image {
  entry: number;
  sp: number;
  auxvAddress: number;
  auxvLength: number;
}

/** Loads the program into an empty address space; throws ElfuseError (126) when it cannot. */
export function buildImage(as: AddressSpace, spec: ImageSpec): Image {
  const { program: prog, shownName } = spec;
  const ids = spec.ids ?? hostIds();
  let image, interp;
  try {
    const shown = spec.sysroot?.guestPath(prog.hostPath) ?? prog.hostPath; // for /proc/self/maps
    image = spec.placeMain?.(as) ??
      withFile(prog, (f) => loadElf(as, prog.elf, f, layout.pieBase, shown));
    if (prog.elf.interpreter !== undefined) {
      interp = loadInterpreter(as, spec, prog.elf.interpreter);
    }
  } catch (e) {
    if (e instanceof ElfError) {
      throw new ElfuseError(`${shownName}: cannot execute: ${e.message}`, 126);
    }
    throw e;
  }
  // An image above the slab (placeMain) cannot have its brk after it: the heap goes at pieBase.
  as.brkStart = as.brkEnd = image.end <= as.size ? pageUp(image.end) : layout.pieBase;
  const stackLow = layout.stackTop - layout.stackSize;
  const stackProt = PROT_READ | PROT_WRITE | (prog.elf.execStack ? PROT_EXEC : 0);
  as.mapFixed(stackLow, layout.stackSize, stackProt, "[stack]");
  const vdso = mapVdso(as, spec.monotonicCounter);
  const stack = buildStack(as.slab.u8, as.slab.view, layout.stackTop, {
    argv: spec.argv,
    envp: spec.envp,
    execfn: shownName,
    random: crypto.getRandomValues(new Uint8Array(16)),
    auxv: [
      [AT.PHDR, image.phdr],
      [AT.PHENT, 56],
      [AT.PHNUM, prog.elf.phnum],
      [AT.PAGESZ, PAGE_SIZE],
      [AT.BASE, interp?.bias ?? 0],
      [AT.FLAGS, 0],
      [AT.ENTRY, image.entry],
      [AT.UID, ids.uid],
      [AT.EUID, ids.euid],
      [AT.GID, ids.gid],
      [AT.EGID, ids.egid],
      [AT.HWCAP, spec.hwcap],
      [AT.HWCAP2, spec.hwcap2],
      [AT.CLKTCK, 100],
      [AT.SECURE, 0],
      [AT.MINSIGSTKSZ, 5120],
      ...(vdso ? [[AT.SYSINFO_EHDR, vdso] as [number, number]] : []),
      ...(spec.execFd !== undefined ? [[AT.EXECFD, spec.execFd] as [number, number]] : []),
    ],
  });
  return {
    entry: interp?.entry ?? image.entry,
    sp: stack.sp,
    auxvAddress: stack.auxvAddress,
    auxvLength: stack.auxvLength,
  };
}

/** Loads the dynamic loader a program asks for, where an mmap of its whole span would go. */
function loadInterpreter(as: AddressSpace, spec: ImageSpec, path: string) {
  const shown = spec.shownName;
  const sr = spec.sysroot;
  const host = sr === undefined ? path : sr.hostPath(path);
  const missing = () =>
    new ElfuseError(
      `${shown}: its dynamic loader ${path} ${
        sr === undefined
          ? "is not on this host (run with --sysroot DIR, see docs/sysroot.md)"
          : `is not in the sysroot ${sr.root}`
      }`,
      127,
    );
  if (typeof host === "number") throw missing();
  let ld: Program;
  try {
    ld = readProgram(host, path);
  } catch (e) {
    if (!(e instanceof ElfuseError)) throw e;
    if (e.exitCode === 127) throw missing();
    throw new ElfuseError(`${shown}: its dynamic loader ${e.message}`, e.exitCode);
  }
  if (ld.elf.type !== ET_DYN || ld.elf.interpreter !== undefined) {
    throw new ElfError(`its dynamic loader ${path} is not a shared object`);
  }
  const span = spanOf(ld.elf);
  const base = as.freeArea(span);
  if (base < 0) throw new ElfError(`no room for its dynamic loader ${path}`);
  const name = sr === undefined ? host : sr.guestPath(host);
  return withFile(ld, (f) => loadElf(as, ld.elf, f, base, name));
}

/** Runs `use` with the program's file open (its segments are mapped from it). */
function withFile<T>(prog: Program, use: (f: ProgramFile) => T): T {
  if (prog.file !== undefined) return use(prog.file); // its opener closes it
  const f = ProgramFile.open(prog.hostPath);
  if (!(f instanceof ProgramFile)) {
    throw new ElfError(`cannot open ${prog.hostPath} again (host errno ${f.errno})`);
  }
  try {
    return use(f);
  } finally {
    f.close();
  }
}
