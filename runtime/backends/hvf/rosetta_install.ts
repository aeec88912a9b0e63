// Installing Apple's Linux Rosetta in the hvf guest (shared/reference/elfuse.md §1.18): its
// PT_LOADs copied into a primary buffer in the slab and seen at their 128 TiB link addresses
// through non-identity stage-1 entries, the 256 MiB kernel buffer below them aliased at its
// TTBR0 address (bits 63:48 cleared) and through TTBR1 at 0xFFFFFFFFF0000000. The placement is
// rosetta_layout.ts's; this file only carries it out through AddressSpace.mapAlias (which the
// kernel's copy-in then resolves) and HvfBackend.enableTtbr1. Loaded only for a Rosetta start.
import type { Backend } from "../backend.ts";
import type { LoadedImage } from "../../elf/load.ts";
import { ElfuseError } from "../../errors.ts";
import type { AddressSpace } from "../../memory/address_space.ts";
import type { Program } from "../../program.ts";
import { PROT_NONE } from "../../memory/vmas.ts";
import { KBUF_SIZE, KBUF_VA_BASE } from "../../x86/rosetta.ts";
import { HvfBackend } from "./backend.ts";
import { BLOCK, GRANULE } from "./page_tables.ts";
import {
  kbufTtbr1Writes,
  type LoadSegment,
  type RosettaLayout,
  rosettaLayout,
  tcrTtbr1Bits,
} from "./rosetta_layout.ts";

/** The name the primary buffer carries in /proc/self/maps (a PROT_NONE range at its GPA). */
export const ROSETTA_REGION = "[rosetta]";

const PT_LOAD = 1;

/**
 * Places Rosetta (`file`, whose PT_LOADs are `segments`) in `as`, whose mapper is `b`, before
 * the vCPU exists: the buffer goes where mmap would put a range of its size (top down), the
 * image's bytes are copied there, and every alias is installed. Returns the layout; throws on an
 * image that does not fit or segments sharing a page (one line for the caller to print).
 */
export function installRosetta(
  as: AddressSpace,
  b: HvfBackend,
  file: Uint8Array,
  segments: LoadSegment[],
  entry: number,
): RosettaLayout {
  const loads = segments.filter((s) => s.type === PT_LOAD && s.memsz > 0);
  if (loads.length === 0) throw new RangeError("Rosetta: no PT_LOAD segment");
  const lo = Math.floor(Math.min(...loads.map((s) => s.vaddr)) / GRANULE) * GRANULE;
  const hi = Math.max(...loads.map((s) => s.vaddr + s.memsz));
  // The image and the kbuf each start on a 2 MiB boundary: one block of slack covers both.
  const need = KBUF_SIZE + Math.ceil((hi - lo) / BLOCK) * BLOCK + BLOCK;
  const area = as.freeArea(need);
  if (area < 0) throw new RangeError("Rosetta: no room in the guest for its image and kbuf");
  const l = rosettaLayout(segments, entry, area + need, area);
  as.mapFixed(l.bufferGpa, l.bufferSize, PROT_NONE, ROSETTA_REGION);
  for (const s of loads) {
    if (s.offset + s.filesz > file.length) throw new RangeError("Rosetta: truncated PT_LOAD");
    // The rest of memsz (bss) is zero: mapFixed gave fresh pages.
    as.slab.u8.set(
      file.subarray(s.offset, s.offset + s.filesz),
      l.imageGpa + (s.vaddr - l.imageVa),
    );
  }
  for (const p of l.pages) as.mapAlias(p.va, p.gpa, p.size, p.prot, ROSETTA_REGION);
  const k = l.kbufUser;
  as.mapAlias(k.va, k.gpa, k.size, k.prot, ROSETTA_REGION);
  b.enableTtbr1((tables) => kbufTtbr1Writes(l.kbufGpa, tables), tcrTtbr1Bits());
  // The kernel's copy-in through the TTBR1 view: KBUF_VA_BASE as a signed number (aliases.ts).
  as.recordUpperAlias(
    Number(KBUF_VA_BASE - (1n << 64n)),
    l.kbufGpa,
    KBUF_SIZE,
    k.prot,
    ROSETTA_REGION,
  );
  b.invalidateCode(l.imageGpa, l.imageSize);
  return l;
}

/**
 * buildImage's placeMain for Rosetta (run.ts): reads the binary once and, when the image is
 * built, installs it with installRosetta; AT_PHDR is where its program headers land at 128 TiB.
 * Refuses any backend but hvf, and turns a placement failure into a one-line 126 exit.
 */
export function rosettaPlacement(
  backend: Backend,
  prog: Program,
): (as: AddressSpace) => LoadedImage {
  if (!(backend instanceof HvfBackend)) {
    throw new ElfuseError(`${prog.hostPath}: Rosetta runs only on the hvf backend`, 126);
  }
  const file = Deno.readFileSync(prog.hostPath);
  const elf = prog.elf;
  return (as) => {
    let l: RosettaLayout;
    try {
      l = installRosetta(as, backend, file, elf.phdrs, elf.entry);
    } catch (e) {
      if (!(e instanceof RangeError)) throw e;
      throw new ElfuseError(`${prog.hostPath}: ${e.message}`, 126);
    }
    const holder = elf.phdrs.find((p) =>
      p.type === PT_LOAD && elf.phoff >= p.offset && elf.phoff < p.offset + p.filesz
    );
    const phdr = holder ? holder.vaddr + (elf.phoff - holder.offset) : 0;
    return { bias: 0, entry: l.entry, phdr, end: l.imageVa + l.imageSize };
  };
}
