// Stage-1 translation tables for the hvf backend, built by the host in guest memory.
//
// Format: VMSAv8-64, 4 KiB granule, TCR_EL1.T0SZ = 16 (48-bit VAs, walks start at level 0), one
// TTBR0 root (Arm ARM D8.2-D8.3). Guest VA == IPA for everything the kernel maps (the slab is
// identity-mapped); mapAt also writes non-identity entries, a VA range backed by another IPA range
// (Rosetta's image at 128 TiB, its kbuf alias: rosetta_layout.ts). A whole aligned 2 MiB range with
// one permission (and, off identity, a 2 MiB aligned output address) is one level-2
// block; a range that covers part of a block splits it into a level-3 table of 512 pages first,
// and a range that covers a whole split block folds it back and frees the table.
//
// The file knows nothing about Hypervisor.framework: it reads and writes descriptors through a
// DataView whose offsets are guest physical addresses, and records which VAs changed so the
// caller can issue the TLB maintenance the Arm ARM requires after changing a live descriptor
// (D8.13: TLBI VAE1IS per page, or VMALLE1IS, then DSB ISH, then ISB, executed by the guest).

import { PROT_EXEC, PROT_READ, PROT_WRITE } from "../../memory/vmas.ts";

export const GRANULE = 0x1000;
export const BLOCK = 0x20_0000;
const ENTRIES = 512;
const TWO32 = 4294967296;

// Low word (descriptor bits 31:0).
const VALID = 1 << 0;
/** Bit 1: table (levels 0-2) or page (level 3); clear in a level-1/2 block. */
const TABLE_OR_PAGE = 1 << 1;
/** AttrIndx[4:2] = 0: MAIR_EL1 attribute 0 (Normal, write-back), which the backend sets. */
const ATTR_NORMAL = 0 << 2;
/** AP[2:1] at bits 7:6: 00 EL1 RW, 01 EL1+EL0 RW, 10 EL1 RO, 11 EL1+EL0 RO. */
export const AP_EL1_RW = 0 << 6;
export const AP_RW = 1 << 6;
export const AP_EL1_RO = 2 << 6;
export const AP_RO = 3 << 6;
/** SH[9:8] = 0b11: inner shareable. */
const SH_INNER = 3 << 8;
/** AF, bit 10: set, so the guest never takes access-flag faults. */
const AF = 1 << 10;

// High word (descriptor bits 63:32), as bit positions within it.
/** PXN, bit 53: EL1 may not execute. */
export const HI_PXN = 1 << 21;
/** UXN, bit 54: EL0 may not execute. */
export const HI_UXN = 1 << 22;
// Bits 58:55 are reserved for software use in valid descriptors (D8.3.2) and every bit but 0 is
// ignored in an invalid one, so they carry the VMA's own protection: the hardware bits say what the
// page allows right now (W^X may have one of W and X switched off), these say what it may become.
export const HI_SW_READ = 1 << 23;
export const HI_SW_WRITE = 1 << 24;
export const HI_SW_EXEC = 1 << 25;
/** Set for every page that belongs to a VMA, including PROT_NONE ones (invalid descriptors). */
export const HI_SW_MAPPED = 1 << 26;
const HI_SW_MASK = HI_SW_READ | HI_SW_WRITE | HI_SW_EXEC | HI_SW_MAPPED;
/** Output address bits 47:32. */
const HI_OA_MASK = 0xffff;

/** What a range is for: guest pages (EL0) or the runtime's own EL1 pages (shim, its stack). */
export type Owner = "user" | "el1-code" | "el1-data";

export interface Leaf {
  level: 2 | 3;
  /** Guest physical address of the descriptor. */
  at: number;
  lo: number;
  hi: number;
}

export class PageTableError extends Error {}

/**
 * The descriptor words for one identity page or block at `pa`: hardware permissions from the VMA
 * protection, with W^X applied. A page cannot be writable at EL0 and executable at once: Apple
 * silicon enforces W^X at stage 1 (elfuse's finding; reference/elfuse.md §1.2), so a RWX VMA starts
 * writable and the backend flips it to RX on the first instruction fetch (see flipWX).
 */
export function descriptor(
  pa: number,
  prot: number,
  owner: Owner,
  block: boolean,
  exec = false,
): { lo: number; hi: number } {
  const paLo = (pa % TWO32) & ~0xfff;
  const paHi = Math.floor(pa / TWO32) & HI_OA_MASK;
  const kind = block ? 0 : TABLE_OR_PAGE;
  if (owner === "el1-code") {
    return { lo: paLo | VALID | kind | ATTR_NORMAL | AP_EL1_RO | SH_INNER | AF, hi: paHi | HI_UXN };
  }
  if (owner === "el1-data") {
    return {
      lo: paLo | VALID | kind | ATTR_NORMAL | AP_EL1_RW | SH_INNER | AF,
      hi: paHi | HI_UXN | HI_PXN,
    };
  }
  let sw = HI_SW_MAPPED;
  if (prot & PROT_READ) sw |= HI_SW_READ;
  if (prot & PROT_WRITE) sw |= HI_SW_WRITE;
  if (prot & PROT_EXEC) sw |= HI_SW_EXEC;
  if ((prot & (PROT_READ | PROT_WRITE | PROT_EXEC)) === 0) return { lo: 0, hi: sw };
  // EL1 never executes guest pages (PXN); EL0-writable pages are implicitly PXN anyway.
  let hi = paHi | HI_PXN | sw;
  let ap = AP_RO;
  const w = (prot & PROT_WRITE) !== 0, x = (prot & PROT_EXEC) !== 0;
  if (x && (!w || exec)) {
    // PROT_EXEC alone is mapped readable, as arm64 Linux did before execute-only pages.
    ap = AP_RO;
  } else {
    if (w) ap = AP_RW;
    hi |= HI_UXN;
  }
  return { lo: paLo | VALID | kind | ATTR_NORMAL | ap | SH_INNER | AF, hi };
}

/** The TLB maintenance a batch of edits needs before the guest runs again. */
export type TlbFlush =
  | { kind: "none" }
  | { kind: "all" }
  | { kind: "pages"; va: number; pages: number };

/** Largest range flushed page by page; above it one TLBI VMALLE1IS is cheaper (elfuse uses 16). */
export const MAX_PAGE_FLUSH = 16;

export class PageTables {
  readonly #mem: DataView;
  readonly #poolBase: number;
  readonly #poolEnd: number;
  #next: number;
  readonly #free: number[] = [];
  /** Guest physical address of the level-0 table (TTBR0_EL1.BADDR). */
  readonly root: number;
  #dirtyStart = Infinity;
  #dirtyEnd = -Infinity;
  #tablesInUse = 0;

  /**
   * `mem` is indexed by guest physical address; tables are allocated from
   * [poolBase, poolBase + poolSize), which must be 4 KiB aligned and stage-2 mapped.
   */
  constructor(mem: DataView, poolBase: number, poolSize: number) {
    if (poolBase % GRANULE || poolSize % GRANULE || poolSize < 4 * GRANULE) {
      throw new PageTableError("page-table pool must be 4 KiB aligned and hold at least 4 tables");
    }
    this.#mem = mem;
    this.#poolBase = poolBase;
    this.#poolEnd = poolBase + poolSize;
    this.#next = poolBase;
    this.root = this.#alloc();
  }

  /** Tables allocated (for tests and the self-test report). */
  get tablesInUse(): number {
    return this.#tablesInUse;
  }

  /** A zeroed table page from the pool, for a tree the caller builds (the TTBR1 kbuf alias). */
  allocTable(): number {
    return this.#alloc();
  }

  #alloc(): number {
    let t = this.#free.pop();
    if (t === undefined) {
      if (this.#next >= this.#poolEnd) {
        throw new PageTableError(
          `page-table pool exhausted (${(this.#poolEnd - this.#poolBase) >> 12} tables)`,
        );
      }
      t = this.#next;
      this.#next += GRANULE;
    }
    new Uint8Array(this.#mem.buffer, this.#mem.byteOffset + t, GRANULE).fill(0);
    this.#tablesInUse++;
    return t;
  }

  #release(t: number): void {
    this.#free.push(t);
    this.#tablesInUse--;
  }

  #lo(at: number): number {
    return this.#mem.getUint32(at, true);
  }
  #hi(at: number): number {
    return this.#mem.getUint32(at + 4, true);
  }
  #put(at: number, lo: number, hi: number): void {
    this.#mem.setUint32(at, lo >>> 0, true);
    this.#mem.setUint32(at + 4, hi >>> 0, true);
  }

  static #index(va: number, level: number): number {
    const shift = 12 + 9 * (3 - level);
    return Math.floor(va / 2 ** shift) % ENTRIES;
  }

  static #tableAddr(lo: number, hi: number): number {
    return (hi & HI_OA_MASK) * TWO32 + ((lo & 0xfffff000) >>> 0);
  }

  /** The level-2 descriptor slot for va, creating the level-0/1 tables on the way. */
  #l2Slot(va: number, create: boolean): number | undefined {
    let table = this.root;
    for (let level = 0; level < 2; level++) {
      const at = table + PageTables.#index(va, level) * 8;
      const lo = this.#lo(at);
      if ((lo & 3) === 3) {
        table = PageTables.#tableAddr(lo, this.#hi(at));
        continue;
      }
      if (!create) return undefined;
      const t = this.#alloc();
      this.#put(at, (t % TWO32) | VALID | TABLE_OR_PAGE, Math.floor(t / TWO32));
      table = t;
    }
    return table + PageTables.#index(va, 2) * 8;
  }

  /** Turns the level-2 entry at `slot` into a table of pages with the same attributes. */
  #split(slot: number): number {
    const lo = this.#lo(slot), hi = this.#hi(slot);
    const t = this.#alloc();
    if (lo & VALID) {
      // A block's output address steps by 4 KiB per page; bit 1 makes each one a page descriptor.
      const base = PageTables.#tableAddr(lo & ~0x1f_ffff, hi);
      const attrsLo = lo & 0xfff, attrsHi = hi & ~HI_OA_MASK;
      for (let i = 0; i < ENTRIES; i++) {
        const pa = base + i * GRANULE;
        this.#put(
          t + i * 8,
          ((pa % TWO32) & ~0xfff) | attrsLo | TABLE_OR_PAGE,
          attrsHi | (Math.floor(pa / TWO32) & HI_OA_MASK),
        );
      }
    } else if (hi & HI_SW_MAPPED) {
      for (let i = 0; i < ENTRIES; i++) this.#put(t + i * 8, 0, hi & HI_SW_MASK);
    }
    this.#put(slot, (t % TWO32) | VALID | TABLE_OR_PAGE, Math.floor(t / TWO32));
    return t;
  }

  #touch(start: number, end: number): void {
    if (start < this.#dirtyStart) this.#dirtyStart = start;
    if (end > this.#dirtyEnd) this.#dirtyEnd = end;
  }

  /**
   * Sets [va, va+size) to `prot` (Linux PROT_* bits; 0 = PROT_NONE, still known as mapped),
   * or removes it when prot is undefined. The output address is va + delta (0: identity).
   */
  #apply(va: number, size: number, prot: number | undefined, owner: Owner, delta = 0): void {
    if (va % GRANULE || size % GRANULE || va < 0 || va + size > 2 ** 48) {
      throw new PageTableError(`bad range 0x${va.toString(16)}+0x${size.toString(16)}`);
    }
    if (delta % GRANULE || va + delta < 0 || va + size + delta > 2 ** 48) {
      throw new PageTableError(`bad output address for 0x${va.toString(16)}`);
    }
    // A level-2 block's output address must be 2 MiB aligned too (D8.3.1), so a shift by less
    // than a block maps page by page.
    const blocks = delta % BLOCK === 0;
    const end = va + size;
    this.#touch(va, end);
    let p = va;
    while (p < end) {
      const blockStart = p - (p % BLOCK), blockEnd = blockStart + BLOCK;
      const chunkEnd = Math.min(end, blockEnd);
      const whole = blocks && p === blockStart && chunkEnd === blockEnd;
      const slot = this.#l2Slot(p, prot !== undefined);
      if (slot === undefined) { // removing from a region that has no tables: nothing to do
        p = chunkEnd;
        continue;
      }
      const lo = this.#lo(slot), hi = this.#hi(slot);
      const isTable = (lo & 3) === 3;
      if (whole) {
        if (isTable) this.#release(PageTables.#tableAddr(lo, hi));
        if (prot === undefined) this.#put(slot, 0, 0);
        else {
          const d = descriptor(blockStart + delta, prot, owner, true);
          this.#put(slot, d.lo, d.hi);
        }
      } else {
        let table: number;
        if (isTable) table = PageTables.#tableAddr(lo, hi);
        else if ((lo & VALID) || (hi & HI_SW_MAPPED)) table = this.#split(slot);
        else if (prot === undefined) {
          p = chunkEnd;
          continue;
        } else {
          table = this.#alloc();
          this.#put(slot, (table % TWO32) | VALID | TABLE_OR_PAGE, Math.floor(table / TWO32));
        }
        for (let q = p; q < chunkEnd; q += GRANULE) {
          const at = table + PageTables.#index(q, 3) * 8;
          if (prot === undefined) this.#put(at, 0, 0);
          else {
            const d = descriptor(q + delta, prot, owner, false);
            this.#put(at, d.lo, d.hi);
          }
        }
      }
      p = chunkEnd;
    }
  }

  map(va: number, size: number, prot: number, owner: Owner = "user"): void {
    this.#apply(va, size, prot, owner);
  }

  /**
   * Maps [va, va+size) to the IPAs [pa, pa+size): a non-identity mapping. The caller keeps
   * track of it (HvfBackend's alias list) and passes the same pa again to change its protection.
   */
  mapAt(va: number, size: number, pa: number, prot: number, owner: Owner = "user"): void {
    this.#apply(va, size, prot, owner, pa - va);
  }

  /**
   * Protect is the same write as map: new attributes, same output address (va + (pa - va): the
   * identity unless the range was mapped with mapAt, whose pa must be passed again).
   */
  protect(va: number, size: number, prot: number, pa = va): void {
    this.#apply(va, size, prot, "user", pa - va);
  }

  /**
   * The IPA va translates to through valid descriptors (what the MMU's walk would produce), or
   * undefined when the walk ends in an invalid descriptor. For tests and fault reports.
   */
  translate(va: number): number | undefined {
    const l = this.leaf(va);
    if (!l || !(l.lo & VALID)) return undefined;
    const size = l.level === 2 ? BLOCK : GRANULE;
    const base = PageTables.#tableAddr(l.lo & ~(size - 1), l.hi);
    return base + (va % size);
  }

  unmap(va: number, size: number): void {
    this.#apply(va, size, undefined, "user");
  }

  /** The leaf descriptor for va (a block or a page, valid or not), or undefined when none. */
  leaf(va: number): Leaf | undefined {
    const slot = this.#l2Slot(va, false);
    if (slot === undefined) return undefined;
    const lo = this.#lo(slot), hi = this.#hi(slot);
    if ((lo & 3) !== 3) return { level: 2, at: slot, lo, hi };
    const at = PageTables.#tableAddr(lo, hi) + PageTables.#index(va, 3) * 8;
    return { level: 3, at, lo: this.#lo(at), hi: this.#hi(at) };
  }

  /** The VMA protection recorded in va's descriptor, or undefined when va belongs to no VMA. */
  protOf(va: number): number | undefined {
    const l = this.leaf(va);
    if (!l || !(l.hi & HI_SW_MAPPED)) return undefined;
    return ((l.hi & HI_SW_READ) ? PROT_READ : 0) | ((l.hi & HI_SW_WRITE) ? PROT_WRITE : 0) |
      ((l.hi & HI_SW_EXEC) ? PROT_EXEC : 0);
  }

  /**
   * W^X: switches the 4 KiB page holding va between writable (exec = false) and executable
   * (exec = true). Only pages whose VMA is both writable and executable may flip; returns false
   * otherwise, so that a genuine permission fault still reaches the guest as SIGSEGV.
   */
  flipWX(va: number, exec: boolean): boolean {
    const prot = this.protOf(va);
    if (prot === undefined || (prot & (PROT_WRITE | PROT_EXEC)) !== (PROT_WRITE | PROT_EXEC)) {
      return false;
    }
    const page = va - (va % GRANULE);
    let l = this.leaf(page)!;
    if (l.level === 2) {
      this.#split(l.at);
      l = this.leaf(page)!;
    }
    // The page keeps its output address (identity or a mapAt alias); only the permissions flip.
    const pa = PageTables.#tableAddr(l.lo, l.hi);
    const d = descriptor(pa, prot, "user", false, exec);
    this.#put(l.at, d.lo, d.hi);
    this.#touch(page, page + GRANULE);
    return true;
  }

  /** The maintenance the edits since the last call need, and forgets them. */
  takeFlush(): TlbFlush {
    if (this.#dirtyEnd < this.#dirtyStart) return { kind: "none" };
    const start = this.#dirtyStart, pages = (this.#dirtyEnd - start) / GRANULE;
    this.#dirtyStart = Infinity;
    this.#dirtyEnd = -Infinity;
    if (pages > MAX_PAGE_FLUSH) return { kind: "all" };
    return { kind: "pages", va: start, pages };
  }
}
