// Guest VA ranges that are not identity-mapped: a range above the slab seen through the backend's
// stage-1 tables at another place in the slab (hvf only: Rosetta's image linked at 128 TiB, its
// kernel buffer's TTBR0 alias, backends/hvf/rosetta_layout.ts, and what Rosetta itself maps
// there, such as its JIT area near 240 TiB). The kbuf's TTBR1 alias is recorded at its signed
// value: a syscall argument with bits 63:53 set arrives as the negative number 2^64 less it
// (backend.ts registerArg), so 0xFFFFFFFFF0000000 is -0x10000000. Everything the kernel maps
// stays identity (guest address = slab offset); this table is consulted only for an address
// outside the slab, so copy-in/out of ordinary addresses never looks at it.
import { E } from "../kernel/errno.ts";
import { PROT_READ, PROT_WRITE } from "./vmas.ts";

/** One alias: [va, end) is backed by slab bytes [offset, offset + end - va). */
export interface GuestAlias {
  va: number;
  end: number;
  offset: number;
  prot: number;
  name: string;
}

export class GuestAliases {
  /** Sorted by va, never overlapping. Rosetta installs three; a linear scan is enough. */
  readonly list: GuestAlias[] = [];

  add(a: GuestAlias): void {
    if (this.list.some((b) => a.va < b.end && a.end > b.va)) {
      throw new RangeError(`alias 0x${a.va.toString(16)} overlaps another`);
    }
    this.list.push(a);
    this.list.sort((x, y) => x.va - y.va);
  }

  remove(va: number): void {
    const i = this.list.findIndex((a) => a.va === va);
    if (i >= 0) this.list.splice(i, 1);
  }

  /** Whether every page of [start, end) lies in some alias (mprotect's ENOMEM otherwise). */
  covers(start: number, end: number): boolean {
    let at = start;
    for (const a of this.list) {
      if (a.end <= at || a.va > at) continue;
      at = a.end;
      if (at >= end) return true;
    }
    return at >= end;
  }

  /** Whether any alias overlaps [start, end). */
  overlaps(start: number, end: number): boolean {
    return this.list.some((a) => a.va < end && a.end > start);
  }

  /**
   * Takes [start, end) out of the table: aliases inside it go, ones across its edges are cut
   * there (each piece keeps its own backing offset). Returns the parts taken, sorted by va.
   */
  take(start: number, end: number): GuestAlias[] {
    const taken: GuestAlias[] = [], kept: GuestAlias[] = [];
    for (const a of this.list) {
      if (a.end <= start || a.va >= end) {
        kept.push(a);
        continue;
      }
      const lo = Math.max(a.va, start), hi = Math.min(a.end, end);
      taken.push({ ...a, va: lo, end: hi, offset: a.offset + (lo - a.va) });
      if (a.va < lo) kept.push({ ...a, end: lo });
      if (a.end > hi) kept.push({ ...a, va: hi, offset: a.offset + (hi - a.va) });
    }
    kept.sort((x, y) => x.va - y.va);
    this.list.length = 0;
    this.list.push(...kept);
    return taken;
  }

  /** Whether some alias is backed by slab bytes in [offset, offset + size). */
  backs(offset: number, size: number): boolean {
    return this.list.some((a) => a.offset < offset + size && a.offset + (a.end - a.va) > offset);
  }

  /** The alias holding addr, or undefined. */
  find(addr: number): GuestAlias | undefined {
    for (const a of this.list) if (addr >= a.va && addr < a.end) return a;
    return undefined;
  }

  /**
   * The slab offset of [addr, addr+len) when it lies inside one alias whose protection allows
   * `prot` (PROT_READ / PROT_WRITE), else -1 (the caller's EFAULT).
   */
  resolve(addr: number, len: number, prot: number): number {
    for (const a of this.list) {
      if (addr >= a.va && addr + len <= a.end) {
        return (a.prot & prot & (PROT_READ | PROT_WRITE)) === (prot & (PROT_READ | PROT_WRITE))
          ? a.offset + (addr - a.va)
          : -1;
      }
    }
    return -1;
  }

  /**
   * Process.strlen for an address above the slab: the NUL-terminated string's length in the
   * alias holding it (slab bytes `mem`), -EFAULT when it leaves the alias or there is none,
   * -ENAMETOOLONG past `max` bytes.
   */
  strlen(mem: Uint8Array, addr: number, max: number): number {
    const a = this.find(addr);
    if (a === undefined || (a.prot & PROT_READ) === 0) return -E.EFAULT;
    const off = a.offset + (addr - a.va), room = a.end - addr;
    const nul = mem.indexOf(0, off);
    if (nul >= 0 && nul < off + Math.min(room, max)) return nul - off;
    return room < max ? -E.EFAULT : -E.ENAMETOOLONG;
  }
}
