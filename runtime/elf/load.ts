// Places an ELF program's PT_LOAD segments in the guest address space, as Linux's load_elf_binary
// does: ET_EXEC at its link addresses, ET_DYN at a base, bss zero-filled, permissions from p_flags.
import { type AddressSpace, layout } from "../memory/address_space.ts";
import { pageDown, pageUp, PROT_EXEC, PROT_READ, PROT_WRITE } from "../memory/vmas.ts";
import type { ProgramFile } from "../program_file.ts";
import {
  ElfError,
  type ElfImage,
  ET_DYN,
  PF_R,
  PF_W,
  PF_X,
  type ProgramHeader,
  PT_LOAD,
  PT_PHDR,
} from "./parse.ts";

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

/** Bytes Linux would charge against its overcommit check for one PT_LOAD (mm/util.c). */
function accountedBytes(ph: ProgramHeader): number {
  const end = pageUp(ph.vaddr + ph.memsz);
  // A private writable mapping is accounted whole; zero-fill pages past the file's come from
  // vm_brk_flags(), which is accounted whatever the protection.
  return ph.flags & PF_W ? end - pageDown(ph.vaddr) : end - pageUp(ph.vaddr + ph.filesz);
}

/**
 * The most one mapping may ask for: Linux's default heuristic overcommit (OVERCOMMIT_GUESS,
 * mm/util.c __vm_enough_memory) refuses a single request for more pages than RAM plus swap, and
 * that is what qemu-user's host mmap meets. The slab itself reserves nothing (MAP_NORESERVE), so
 * without this check a huge bss would be accepted and then cost seconds in Unicorn's page-by-page
 * work on a region that large.
 */
export function hostCommitLimit(): number {
  try {
    if (Deno.readTextFileSync("/proc/sys/vm/overcommit_memory").trim() === "1") return Infinity;
  } catch {
    // not Linux: the same heuristic
  }
  const m = Deno.systemMemoryInfo();
  return m.total + m.swapTotal;
}

/**
 * Refuses an image that cannot be placed, before any memory is touched: every segment must lie
 * between the lowest mmap address and the gap below the stack, and none may need more memory
 * than the host could ever commit (`commit`, computed only for segments over 1 GiB).
 */
function checkFits(
  elf: ElfImage,
  loads: ProgramHeader[],
  bias: number,
  top: number,
  commit: number | undefined,
): void {
  for (const ph of loads) {
    const i = elf.phdrs.indexOf(ph);
    const start = pageDown(ph.vaddr + bias), end = pageUp(ph.vaddr + ph.memsz + bias);
    if (start < layout.mmapFloor || end > top) {
      throw new ElfError(
        `segment ${i} at 0x${start.toString(16)}-0x${end.toString(16)} does not fit the guest ` +
          `address space (0x${layout.mmapFloor.toString(16)}-0x${
            top.toString(16)
          }, below the stack)`,
      );
    }
    const bytes = accountedBytes(ph);
    if (bytes <= 2 ** 30) continue;
    commit ??= hostCommitLimit();
    if (bytes > commit) {
      throw new ElfError(
        `segment ${i} needs ${gib(bytes)} GiB, more memory than this host has ` +
          `(RAM and swap: ${gib(commit)} GiB)`,
      );
    }
  }
}

const gib = (n: number) => (n / 2 ** 30).toFixed(1);

/**
 * Maps the image's segments; `base` is where an ET_DYN image's lowest segment goes. `file` is the
 * open program (its pages are mapped copy-on-write, as Linux's elf_map() does), or its bytes.
 * `limits` overrides the host's commit limit (tests).
 */
export function loadElf(
  as: AddressSpace,
  elf: ElfImage,
  file: ProgramFile | Uint8Array,
  base: number,
  name: string,
  limits: { commit?: number } = {},
): LoadedImage {
  const loads = elf.phdrs.filter((p) => p.type === PT_LOAD).sort((a, b) => a.vaddr - b.vaddr);
  const bias = elf.type === ET_DYN ? base - pageDown(loads[0].vaddr) : 0;
  const last = loads[loads.length - 1];
  checkFits(elf, loads, bias, as.mmapTop, limits.commit);
  const size = file instanceof Uint8Array ? file.length : file.size;
  for (const ph of loads) {
    // The file may have changed since its headers were read (an exec of a cached program).
    if (ph.filesz > 0 && ph.offset + ph.filesz > size) {
      throw new ElfError(`segment ${elf.phdrs.indexOf(ph)} lies past the end of the file`);
    }
  }
  let prevEnd = 0, prevProt = 0;
  for (const ph of loads) {
    const prot = protOf(ph.flags);
    const at = ph.vaddr + bias, fileEnd = at + ph.filesz;
    let start = pageDown(at);
    const end = pageUp(at + ph.memsz);
    if (start < prevEnd) {
      // The segment shares its first page with the previous one: that page gets both permissions,
      // and this segment's bytes in it are copied there.
      as.mprotect(start, Math.min(prevEnd, end) - start, prevProt | prot);
      start = prevEnd;
    }
    if (end > start) {
      // Whole pages of file bytes are mapped from the file; the rest (bss) is zero pages.
      const mapped = file instanceof Uint8Array ? 0 : Math.min(end, pageDown(fileEnd)) - start;
      if (
        mapped <= 0 ||
        !as.mapHostFilePrivate(
          start,
          mapped,
          prot,
          name,
          (file as ProgramFile).fd,
          ph.offset + start - at,
        )
      ) {
        as.mapFixed(start, end - start, prot, name);
        copy(as, file, ph.offset, at, fileEnd);
      } else {
        if (end > start + mapped) as.mapFixed(start + mapped, end - start - mapped, prot, name);
        copy(as, file, ph.offset + start + mapped - at, start + mapped, fileEnd);
        copy(as, file, ph.offset, at, Math.min(fileEnd, start)); // in the shared first page
      }
    } else {
      copy(as, file, ph.offset, at, fileEnd);
    }
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

/** Copies the file bytes at `offset` to guest [to, end): the slab is zero there already. */
function copy(
  as: AddressSpace,
  file: ProgramFile | Uint8Array,
  offset: number,
  to: number,
  end: number,
): void {
  if (end <= to) return;
  if (file instanceof Uint8Array) as.slab.u8.set(file.subarray(offset, offset + end - to), to);
  else file.readInto(as.slab.base + to, offset, end - to);
}
