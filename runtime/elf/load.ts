// Places an ELF program's PT_LOAD segments in the guest address space, as Linux's load_elf_binary
// does: ET_EXEC at its link addresses, ET_DYN at a base, bss zero-filled, permissions from p_flags.
import type { AddressSpace } from "../memory/address_space.ts";
import { pageDown, pageUp, PROT_EXEC, PROT_READ, PROT_WRITE } from "../memory/vmas.ts";
import { ElfError, type ElfImage, ET_DYN, PF_R, PF_W, PF_X, PT_LOAD, PT_PHDR } from "./parse.ts";

export interface LoadedImage {
  /** Added to every p_vaddr (0 for ET_EXEC). */
  bias: number;
  entry: number;
  /** Guest address of the program headers (AT_PHDR). */
  phdr: number;
  /** End of the highest segment: where brk starts. */
  end: number;
}

function protOf(flags: number): number {
  return (flags & PF_R ? PROT_READ : 0) | (flags & PF_W ? PROT_WRITE : 0) |
    (flags & PF_X ? PROT_EXEC : 0);
}

/** Bytes from the lowest to the end of the highest PT_LOAD page: what an ET_DYN image occupies. */
export function spanOf(elf: ElfImage): number {
  const loads = elf.phdrs.filter((p) => p.type === PT_LOAD);
  const low = Math.min(...loads.map((p) => pageDown(p.vaddr)));
  const high = Math.max(...loads.map((p) => pageUp(p.vaddr + p.memsz)));
  return high - low;
}

/** Maps the image's segments; `base` is where an ET_DYN image's lowest segment goes. */
export function loadElf(
  as: AddressSpace,
  elf: ElfImage,
  file: Uint8Array,
  base: number,
  name: string,
): LoadedImage {
  const loads = elf.phdrs.filter((p) => p.type === PT_LOAD).sort((a, b) => a.vaddr - b.vaddr);
  const bias = elf.type === ET_DYN ? base - pageDown(loads[0].vaddr) : 0;
  const low = pageDown(loads[0].vaddr + bias);
  const last = loads[loads.length - 1];
  const high = pageUp(last.vaddr + last.memsz + bias);
  if (low < 0x10000 || high > as.size) {
    throw new ElfError(
      `segments at 0x${low.toString(16)}-0x${high.toString(16)} do not fit the guest address space`,
    );
  }
  let prevEnd = 0, prevProt = 0;
  for (const ph of loads) {
    const prot = protOf(ph.flags);
    let start = pageDown(ph.vaddr + bias);
    const end = pageUp(ph.vaddr + bias + ph.memsz);
    if (start < prevEnd) {
      // The segment shares its first page with the previous one: that page gets both permissions.
      as.mprotect(start, Math.min(prevEnd, end) - start, prevProt | prot);
      start = prevEnd;
    }
    if (end > start) as.mapFixed(start, end - start, prot, name);
    as.slab.u8.set(file.subarray(ph.offset, ph.offset + ph.filesz), ph.vaddr + bias);
    prevEnd = Math.max(prevEnd, end);
    prevProt = prot;
  }
  const phdrSeg = elf.phdrs.find((p) => p.type === PT_PHDR);
  let phdr = phdrSeg ? phdrSeg.vaddr + bias : 0;
  if (!phdrSeg) {
    const holder = loads.find((p) => elf.phoff >= p.offset && elf.phoff < p.offset + p.filesz);
    if (holder) phdr = holder.vaddr + (elf.phoff - holder.offset) + bias;
  }
  return { bias, entry: elf.entry + bias, phdr, end: last.vaddr + last.memsz + bias };
}
