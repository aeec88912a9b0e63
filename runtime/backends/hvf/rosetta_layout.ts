// Where Apple's Linux Rosetta goes in the hvf guest (shared/reference/elfuse.md §1.18), computed
// as data: which guest-physical range holds its image and its kernel buffer, which VA each page
// is seen at, and the TTBR1 descriptors that alias the kbuf at the top of the address space.
//
// Rosetta is a static AArch64 ET_EXEC linked at 128 TiB. A 48-bit IPA is not guaranteed (M1/M2
// give 36 bits), so the original loads the image into a low-GPA "primary buffer" just under its
// infrastructure reserve and maps it at its link address through non-identity stage-1 entries.
// Below the image sits the 256 MiB kbuf Rosetta expects from its kernel, aliased at
// 0xFFFFFFFFF0000000 through TTBR1 (L0[511] → L1[511] → L2[384..511], 2 MiB blocks, TBI1 on for
// tagged pointers) and at the TTBR0 address with bits 63:48 cleared, always read-write.
//
// Nothing here touches Hypervisor.framework or the live tables: rosetta_install.ts carries the
// plan out (PageTables.mapAt through AddressSpace.mapAlias, HvfBackend.enableTtbr1), tested on
// hvf-sim; docs/x86_64.md says what has not run on a Mac.
import { PROT_EXEC, PROT_READ, PROT_WRITE } from "../../memory/vmas.ts";
import { KBUF_SIZE, KBUF_VA_BASE, ROSETTA_LINK_BASE } from "../../x86/rosetta.ts";
import { BLOCK, descriptor, GRANULE } from "./page_tables.ts";

/**
 * The TTBR0 alias of the kbuf: KBUF_VA_BASE with bits 63:48 cleared, for Rosetta's pointer
 * extraction that strips the top 16 bits (the original's guest_install_kbuf_user_alias).
 */
export const KBUF_USER_VA = Number(KBUF_VA_BASE & 0xffff_ffff_ffffn);

const PT_LOAD = 1;
const PF_X = 1, PF_W = 2, PF_R = 4;

/** A PT_LOAD of the Rosetta binary, as elf/parse.ts reads it. */
export interface LoadSegment {
  type: number;
  flags: number;
  offset: number;
  vaddr: number;
  filesz: number;
  memsz: number;
}

/** One run of pages seen at `va` and backed by guest-physical `gpa`. */
export interface VaRange {
  va: number;
  gpa: number;
  size: number;
  prot: number;
}

/** The primary buffer's plan: kbuf then image, in one low guest-physical range. */
export interface RosettaLayout {
  /** Guest-physical start of the primary buffer (= kbufGpa). */
  bufferGpa: number;
  bufferSize: number;
  kbufGpa: number;
  /** The image's first page (VA) and where it is backed. */
  imageVa: number;
  imageGpa: number;
  imageSize: number;
  /** The segments' pages, non-identity (VA 128 TiB and up → low GPA). */
  pages: VaRange[];
  /** The kbuf's TTBR0 alias (identity is impossible: the VA is above any IPA). */
  kbufUser: VaRange;
  entry: number;
}

function protOf(flags: number): number {
  return (flags & PF_R ? PROT_READ : 0) | (flags & PF_W ? PROT_WRITE : 0) |
    (flags & PF_X ? PROT_EXEC : 0);
}

const down = (v: number, a: number) => Math.floor(v / a) * a;
const up = (v: number, a: number) => Math.ceil(v / a) * a;

/**
 * The primary buffer for a Rosetta image whose PT_LOADs are `segments`, ending at or below
 * `bufferTop` (a guest-physical address: the start of the infrastructure reserve) and starting at
 * or above `bufferFloor`. Both the image and the kbuf start on a 2 MiB boundary, so the kbuf's
 * TTBR1 alias is 128 level-2 blocks. Throws on an image not linked at 128 TiB or one that does
 * not fit.
 */
export function rosettaLayout(
  segments: LoadSegment[],
  entry: number,
  bufferTop: number,
  bufferFloor = 0,
): RosettaLayout {
  const loads = segments.filter((s) => s.type === PT_LOAD && s.memsz > 0);
  if (loads.length === 0) throw new RangeError("Rosetta: no PT_LOAD segment");
  const lo = down(Math.min(...loads.map((s) => s.vaddr)), GRANULE);
  const hi = up(Math.max(...loads.map((s) => s.vaddr + s.memsz)), GRANULE);
  if (lo < ROSETTA_LINK_BASE) {
    throw new RangeError(`Rosetta: image at 0x${lo.toString(16)}, below its 128 TiB link base`);
  }
  if (entry < lo || entry >= hi) throw new RangeError("Rosetta: entry outside its image");
  const imageSize = hi - lo;
  const imageGpa = down(bufferTop - imageSize, BLOCK);
  const kbufGpa = imageGpa - KBUF_SIZE;
  if (kbufGpa < bufferFloor) {
    throw new RangeError(
      `Rosetta: image (${imageSize} bytes) and kbuf do not fit below 0x${bufferTop.toString(16)}`,
    );
  }
  const pages = loads.map((s) => {
    const va = down(s.vaddr, GRANULE);
    return {
      va,
      gpa: imageGpa + (va - lo),
      size: up(s.vaddr + s.memsz, GRANULE) - va,
      prot: protOf(s.flags),
    };
  });
  return {
    bufferGpa: kbufGpa,
    bufferSize: imageGpa + imageSize - kbufGpa,
    kbufGpa,
    imageVa: lo,
    imageGpa,
    imageSize,
    pages,
    kbufUser: { va: KBUF_USER_VA, gpa: kbufGpa, size: KBUF_SIZE, prot: PROT_READ | PROT_WRITE },
    entry,
  };
}

/** The translation-table indices of a VA (4 KiB granule, 48-bit: level 0 at bits 47:39). */
export function tableIndices(va: bigint): [number, number, number, number] {
  const at = (shift: bigint) => Number((va >> shift) & 511n);
  return [at(39n), at(30n), at(21n), at(12n)];
}

/** One descriptor to write: the table page's GPA, the index in it, the 64-bit value's halves. */
export interface TableWrite {
  table: number;
  index: number;
  lo: number;
  hi: number;
}

const VALID_TABLE = 0b11;

/**
 * The writes that alias the kbuf at KBUF_VA_BASE through TTBR1: L0[511] and L1[511] are table
 * descriptors (to the pages at l1Gpa and l2Gpa), L2[384..511] are 2 MiB read-write,
 * never-executable blocks over the kbuf (EL0 and EL1 access, as the original keeps it RW).
 */
export function kbufTtbr1Writes(
  kbufGpa: number,
  tables: { l0: number; l1: number; l2: number },
): TableWrite[] {
  if (kbufGpa % BLOCK !== 0) throw new RangeError("kbuf must be 2 MiB aligned");
  const [i0, i1, i2] = tableIndices(KBUF_VA_BASE);
  const table = (next: number) => ({
    lo: (next % 2 ** 32) | VALID_TABLE,
    hi: next / 2 ** 32 >>> 0,
  });
  const writes: TableWrite[] = [
    { table: tables.l0, index: i0, ...table(tables.l1) },
    { table: tables.l1, index: i1, ...table(tables.l2) },
  ];
  for (let b = 0; b < KBUF_SIZE / BLOCK; b++) {
    const d = descriptor(kbufGpa + b * BLOCK, PROT_READ | PROT_WRITE, "user", true);
    writes.push({ table: tables.l2, index: i2 + b, lo: d.lo >>> 0, hi: d.hi >>> 0 });
  }
  return writes;
}

/**
 * TCR_EL1 bits for the TTBR1 half Rosetta needs, to be ORed into the backend's TCR: T1SZ = 16
 * (48-bit upper range), TG1 = 4 KiB (0b10), SH1 inner, IRGN1/ORGN1 write-back, EPD1 clear (walks
 * enabled) and TBI1 (bit 38) so tagged kbuf pointers translate (Arm ARM D8.2, TCR_EL1).
 */
export function tcrTtbr1Bits(): bigint {
  const T1SZ = 16n << 16n, IRGN1 = 1n << 24n, ORGN1 = 1n << 26n, SH1 = 3n << 28n;
  const TG1_4K = 2n << 30n, TBI1 = 1n << 38n;
  return T1SZ | IRGN1 | ORGN1 | SH1 | TG1_4K | TBI1;
}

/** A 36-bit IPA (M1/M2): the smallest guest-physical space Rosetta's buffer must fit in. */
export const IPA_36_TOP = 2 ** 36;

/**
 * One line on where an installed Rosetta binary would go (for `deno task selftest` on a Mac):
 * its image size and the primary buffer's place under a 36-bit IPA, or why it does not fit.
 */
export function describeRosettaPlacement(
  segments: LoadSegment[],
  entry: number,
  bufferTop = IPA_36_TOP,
): string {
  try {
    const l = rosettaLayout(segments, entry, bufferTop);
    const hex = (n: number) => `0x${n.toString(16)}`;
    return `image ${hex(l.imageVa)}+${hex(l.imageSize)} at GPA ${hex(l.imageGpa)}, ` +
      `kbuf GPA ${hex(l.kbufGpa)} (aliased at 0x${KBUF_VA_BASE.toString(16)} and ` +
      `${hex(KBUF_USER_VA)}), ${l.pages.length} PT_LOADs`;
  } catch (e) {
    return `cannot be placed: ${(e as Error).message}`;
  }
}
