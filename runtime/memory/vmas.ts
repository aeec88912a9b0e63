// The guest's virtual memory areas: a sorted list of non-overlapping page ranges, each with Linux
// protection bits (PROT_READ 1, PROT_WRITE 2, PROT_EXEC 4), as /proc/self/maps would show them.
// Pure bookkeeping: mirroring changes into the CPU backend is the address space's job.

export const PAGE_SIZE = 4096;
export const PROT_NONE = 0;
export const PROT_READ = 1;
export const PROT_WRITE = 2;
export const PROT_EXEC = 4;

/**
 * The host file a shared mapping maps (a file, or a memfd for MAP_SHARED|MAP_ANONYMOUS), kept
 * open while any part of it is mapped, so that a fork child can map the same pages (fork.ts).
 * Every piece of one mapping shares the object: the file offset of guest address `a` is
 * `base + a`, whatever splits the mapping goes through.
 */
export interface Backing {
  hostFd: number;
  base: number;
}

/**
 * A file mapping that reaches past the file's end (and every shared file mapping, whose file may
 * shrink): guest pages from `eof` on lie wholly past the end, so they are left out of the CPU
 * backend and an access there faults; the kernel turns that fault into SIGBUS with BUS_ADRERR,
 * as Linux's filemap_fault does (memory/address_space.ts fileTailFault). The page holding the end
 * reads zeros past it, as on Linux. `hostFd` is the address space's own descriptor of the file
 * (to see it grow), closed with the last piece when `ownsFd`; file offset of guest address `a` is
 * `base + a`. Every piece of one mapping shares the object, as with Backing.
 */
export interface FileTail {
  hostFd: number;
  ownsFd: boolean;
  base: number;
  /** First guest address wholly past the file's end (page aligned; may lie beyond the mapping). */
  eof: number;
}

export interface Vma {
  start: number;
  end: number;
  prot: number;
  /** What backs it, for /proc/self/maps and for fork: "[heap]", "[stack]", a file path, "". */
  name: string;
  /** Host fd-backed shared mapping (MAP_SHARED of a file): true when writes reach the file. */
  shared: boolean;
  /** For a shared mapping: the host file it maps. */
  backing?: Backing;
  /** For a file mapping whose file may end inside it: where it ends (see FileTail). */
  tail?: FileTail;
}

export function pageDown(x: number): number {
  return x - (x % PAGE_SIZE);
}

export function pageUp(x: number): number {
  const r = x % PAGE_SIZE;
  return r === 0 ? x : x + PAGE_SIZE - r;
}

export class VmaList {
  readonly list: Vma[] = [];
  #last: Vma | undefined;

  /** The area containing addr, or undefined. */
  find(addr: number): Vma | undefined {
    const last = this.#last;
    if (last !== undefined && addr >= last.start && addr < last.end) return last;
    const l = this.list;
    let lo = 0, hi = l.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      const v = l[mid];
      if (addr < v.start) hi = mid - 1;
      else if (addr >= v.end) lo = mid + 1;
      else return (this.#last = v);
    }
    return undefined;
  }

  /** True when every byte of [addr, addr+len) is mapped with all of `prot`'s bits. */
  allows(addr: number, len: number, prot: number): boolean {
    if (len === 0) return true;
    const end = addr + len;
    let a = addr;
    while (a < end) {
      const v = this.find(a);
      if (v === undefined || (v.prot & prot) !== prot) return false;
      a = v.end;
    }
    return true;
  }

  /** True when no byte of [start, end) is mapped. */
  isFree(start: number, end: number): boolean {
    for (const v of this.list) {
      if (v.start >= end) break;
      if (v.end > start) return false;
    }
    return true;
  }

  /** Removes [start, end) from every area, splitting where needed. Returns the removed pieces. */
  remove(start: number, end: number): Vma[] {
    const removed: Vma[] = [];
    const kept: Vma[] = [];
    for (const v of this.list) {
      if (v.end <= start || v.start >= end) {
        kept.push(v);
        continue;
      }
      if (v.start < start) kept.push({ ...v, end: start });
      removed.push({ ...v, start: Math.max(v.start, start), end: Math.min(v.end, end) });
      if (v.end > end) kept.push({ ...v, start: end });
    }
    this.#replace(kept);
    return removed;
  }

  /** Adds an area over a range that must be free (call remove first). */
  insert(vma: Vma): void {
    const l = this.list;
    let i = 0;
    while (i < l.length && l[i].start < vma.start) i++;
    l.splice(i, 0, vma);
    this.#merge();
  }

  /** Sets the protection of every mapped page in [start, end); false if any page is unmapped. */
  protect(start: number, end: number, prot: number): boolean {
    if (!this.#covered(start, end)) return false;
    const pieces = this.remove(start, end);
    for (const p of pieces) this.insert({ ...p, prot });
    return true;
  }

  /**
   * The highest free gap of `len` bytes that ends at or below `below` and starts at or above
   * `floor` (Linux's top-down mmap layout), or -1.
   */
  findFreeTopDown(len: number, below: number, floor: number): number {
    let top = below;
    for (let i = this.list.length - 1; i >= 0; i--) {
      const v = this.list[i];
      if (v.start >= top) continue;
      if (top - Math.max(v.end, floor) >= len) return top - len;
      top = v.start;
      if (top - floor < len) return -1;
    }
    return top - floor >= len ? top - len : -1;
  }

  #covered(start: number, end: number): boolean {
    let a = start;
    while (a < end) {
      const v = this.find(a);
      if (v === undefined) return false;
      a = v.end;
    }
    return true;
  }

  #replace(next: Vma[]): void {
    this.list.length = 0;
    for (const v of next) this.list.push(v);
    this.#last = undefined;
  }

  // Adjacent areas with the same attributes become one, as Linux merges them.
  #merge(): void {
    const l = this.list;
    for (let i = l.length - 1; i > 0; i--) {
      const a = l[i - 1], b = l[i];
      if (
        a.end === b.start && a.prot === b.prot && a.name === b.name && a.shared === b.shared &&
        a.backing === b.backing && a.tail === b.tail
      ) {
        a.end = b.end;
        l.splice(i, 1);
      }
    }
    this.#last = undefined;
  }
}
