// Building a fresh process image in an address space, as execve does: the program's segments,
// the brk start, the main stack and its argv/envp/auxv. Used at start-up and by execve.
import { loadElf } from "./elf/load.ts";
import { ElfError } from "./elf/parse.ts";
import { AT, buildStack } from "./elf/stack.ts";
import { ElfuseError } from "./errors.ts";
import { libc } from "./host/libc.ts";
import { type AddressSpace, layout } from "./memory/address_space.ts";
import { PAGE_SIZE, pageUp, PROT_EXEC, PROT_READ, PROT_WRITE } from "./memory/vmas.ts";
import type { Program } from "./program.ts";

export interface ImageSpec {
  program: Program;
  /** The name the program was asked for (error messages, AT_EXECFN). */
  shownName: string;
  argv: string[];
  envp: string[];
  hwcap: number;
  hwcap2: number;
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
  if (prog.elf.interpreter !== undefined) {
    throw new ElfuseError(
      `${shownName}: dynamically linked (asks for ${prog.elf.interpreter}); only static programs run so far`,
      126,
    );
  }
  let image;
  try {
    image = loadElf(as, prog.elf, prog.bytes, layout.pieBase, prog.hostPath);
  } catch (e) {
    if (e instanceof ElfError) {
      throw new ElfuseError(`${shownName}: cannot execute: ${e.message}`, 126);
    }
    throw e;
  }
  as.brkStart = as.brkEnd = pageUp(image.end);
  const stackLow = layout.stackTop - layout.stackSize;
  const stackProt = PROT_READ | PROT_WRITE | (prog.elf.execStack ? PROT_EXEC : 0);
  as.mapFixed(stackLow, layout.stackSize, stackProt, "[stack]");
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
      [AT.BASE, 0],
      [AT.FLAGS, 0],
      [AT.ENTRY, image.entry],
      [AT.UID, libc.getuid()],
      [AT.EUID, libc.geteuid()],
      [AT.GID, libc.getgid()],
      [AT.EGID, libc.getegid()],
      [AT.HWCAP, spec.hwcap],
      [AT.HWCAP2, spec.hwcap2],
      [AT.CLKTCK, 100],
      [AT.SECURE, 0],
      [AT.MINSIGSTKSZ, 5120],
    ],
  });
  return {
    entry: image.entry,
    sp: stack.sp,
    auxvAddress: stack.auxvAddress,
    auxvLength: stack.auxvLength,
  };
}
