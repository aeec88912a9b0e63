// ELF64 header and program header parsing with the checks a kernel makes before trusting them
// (System V gABI; Linux fs/binfmt_elf.c refuses the same inconsistencies).

export const EM_AARCH64 = 183;
export const EM_X86_64 = 62;
export const ET_EXEC = 2;
export const ET_DYN = 3;
export const PT_LOAD = 1;
export const PT_INTERP = 3;
export const PT_PHDR = 6;
export const PT_GNU_STACK = 0x6474e551;
export const PF_X = 1;
export const PF_W = 2;
export const PF_R = 4;

export interface ProgramHeader {
  type: number;
  flags: number;
  offset: number;
  vaddr: number;
  filesz: number;
  memsz: number;
  align: number;
}

export interface ElfImage {
  type: number;
  machine: number;
  entry: number;
  phoff: number;
  phentsize: number;
  phnum: number;
  phdrs: ProgramHeader[];
  /** PT_INTERP's path, if the program asks for a dynamic loader. */
  interpreter?: string;
  /** PT_GNU_STACK asked for an executable stack. */
  execStack: boolean;
}

/** Why a file is not a runnable ELF; `notElf` distinguishes "not ELF at all" from "bad ELF". */
export class ElfError extends Error {
  constructor(message: string, readonly notElf = false) {
    super(message);
  }
}

const machineNames: Record<number, string> = {
  3: "x86 (32-bit)",
  40: "ARM (32-bit)",
  62: "x86-64",
  183: "AArch64",
  243: "RISC-V",
  8: "MIPS",
  20: "PowerPC",
  21: "PowerPC64",
  22: "S/390",
};

export function machineName(m: number): string {
  return machineNames[m] ?? `machine ${m}`;
}

/**
 * Random access to a file's bytes: the parser reads only the ELF header, the program headers and
 * PT_INTERP's path, so a 50 MB program is not read whole to be started (program.ts maps it).
 */
export interface ElfReader {
  /** The file's size in bytes. */
  readonly size: number;
  /** `length` bytes at `offset`, or fewer at the end of the file. */
  read(offset: number, length: number): Uint8Array;
}

/** An ElfReader over bytes held in memory. */
export function bytesReader(file: Uint8Array): ElfReader {
  return { size: file.length, read: (o, n) => file.subarray(o, o + n) };
}

/** Parses and validates the headers of an ELF file (held in memory, or read through `source`). */
export function parseElf(source: Uint8Array | ElfReader): ElfImage {
  const reader = source instanceof Uint8Array ? bytesReader(source) : source;
  const size = reader.size;
  const file = reader.read(0, 64);
  if (
    file.length < 4 || file[0] !== 0x7f || file[1] !== 0x45 || file[2] !== 0x4c || file[3] !== 0x46
  ) {
    throw new ElfError("not an ELF file", true);
  }
  if (file.length < 64) throw new ElfError("truncated ELF header");
  if (file[4] !== 2) throw new ElfError("32-bit ELF (only 64-bit programs are supported)");
  if (file[5] !== 1) throw new ElfError("big-endian ELF (only little-endian is supported)");
  const header = new DataView(file.buffer, file.byteOffset, file.byteLength);
  // `at`: where `dv` starts in the file (for the message).
  const u64 = (dv: DataView, o: number, at = 0) => {
    const v = dv.getBigUint64(o, true);
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) {
      throw new ElfError(`absurd value at header offset ${at + o}`);
    }
    return Number(v);
  };
  const type = header.getUint16(16, true);
  const machine = header.getUint16(18, true);
  const entry = u64(header, 24);
  const phoff = u64(header, 32);
  const phentsize = header.getUint16(54, true);
  const phnum = header.getUint16(56, true);
  if (type !== ET_EXEC && type !== ET_DYN) {
    throw new ElfError(
      type === 1
        ? "relocatable object, not a program"
        : type === 4
        ? "core dump, not a program"
        : `ELF type ${type} is not a program`,
    );
  }
  if (phnum === 0) throw new ElfError("no program headers");
  if (phentsize !== 56) throw new ElfError(`program header size ${phentsize} (expected 56)`);
  if (phnum > 256) throw new ElfError(`${phnum} program headers (at most 256)`);
  if (phoff + phnum * phentsize > size) {
    throw new ElfError("program headers lie past the end of the file (truncated?)");
  }
  const table = reader.read(phoff, phnum * phentsize);
  if (table.length < phnum * phentsize) {
    throw new ElfError("program headers lie past the end of the file (truncated?)");
  }
  const dv = new DataView(table.buffer, table.byteOffset, table.byteLength);
  const phdrs: ProgramHeader[] = [];
  let interpreter: string | undefined;
  let execStack = false;
  for (let i = 0; i < phnum; i++) {
    const o = i * phentsize;
    const ph: ProgramHeader = {
      type: dv.getUint32(o, true),
      flags: dv.getUint32(o + 4, true),
      offset: u64(dv, o + 8, phoff),
      vaddr: u64(dv, o + 16, phoff),
      filesz: u64(dv, o + 32, phoff),
      memsz: u64(dv, o + 40, phoff),
      align: u64(dv, o + 48, phoff),
    };
    phdrs.push(ph);
    if (ph.type === PT_LOAD) {
      if (ph.filesz > ph.memsz) {
        throw new ElfError(`segment ${i} has a file size larger than its memory size`);
      }
      if (ph.memsz > 2 ** 40) throw new ElfError(`segment ${i} has an absurd size`);
      // A segment with no file bytes (bss only) is zero pages: Linux's elf_load() maps nothing
      // from the file then, so its p_offset is never used and may be anything.
      if (ph.filesz === 0) continue;
      if (ph.offset + ph.filesz > size) {
        throw new ElfError(`segment ${i} lies past the end of the file (truncated?)`);
      }
      if (ph.vaddr % 4096 !== ph.offset % 4096) {
        throw new ElfError(`segment ${i} is not page-congruent with its file offset`);
      }
    } else if (ph.type === PT_INTERP) {
      // binfmt_elf.c refuses a path shorter than 2 or longer than PATH_MAX.
      if (ph.offset + ph.filesz > size || ph.filesz < 2 || ph.filesz > 4096) {
        throw new ElfError("bad PT_INTERP");
      }
      const bytes = reader.read(ph.offset, ph.filesz);
      const nul = bytes.indexOf(0);
      interpreter = new TextDecoder().decode(bytes.subarray(0, nul < 0 ? bytes.length : nul));
    } else if (ph.type === PT_GNU_STACK) {
      execStack = (ph.flags & PF_X) !== 0;
    }
  }
  const loads = phdrs.filter((p) => p.type === PT_LOAD).sort((a, b) => a.vaddr - b.vaddr);
  if (loads.length === 0) throw new ElfError("no loadable segments");
  for (let i = 1; i < loads.length; i++) {
    if (loads[i].vaddr < loads[i - 1].vaddr + loads[i - 1].memsz) {
      throw new ElfError("loadable segments overlap");
    }
  }
  return { type, machine, entry, phoff, phentsize, phnum, phdrs, interpreter, execStack };
}
