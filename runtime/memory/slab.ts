// The guest slab: one reserved host range standing for guest physical memory [0, size). Guest
// virtual == guest physical == slab offset (identity map), so JS reads and writes guest memory
// through one zero-copy view and never copies buffers.
import { ElfuseError } from "../errors.ts";
import { libc, mmapAddress } from "../host/libc.ts";

/** 64 GiB: room for a Linux-like layout (PIE at 2/3 of the space, stack at the top). */
export const DEFAULT_SLAB_SIZE = 64 * 1024 * 1024 * 1024;

const PROT_RW = 3;
const isDarwin = Deno.build.os === "darwin";
// MAP_PRIVATE|MAP_ANONYMOUS|MAP_NORESERVE on Linux (pages are committed on first touch only).
const ANON_FLAGS = isDarwin ? 0x1002 : 0x4022;
const MAP_FIXED = 0x10;
const MADV_DONTNEED = 4;

export class Slab {
  readonly base: number;
  readonly size: number;
  readonly u8: Uint8Array;
  readonly view: DataView;
  /** Ranges [start, end) where a host file is mapped over the slab (sorted, disjoint). */
  readonly #files: [number, number][] = [];

  constructor(size = DEFAULT_SLAB_SIZE) {
    const addr = mmapAddress(libc.mmap(0, size, PROT_RW, ANON_FLAGS, -1, 0));
    if (addr === -1 || addr === 0) {
      // Only address space is asked for (MAP_NORESERVE): a refusal is a limit such as ulimit -v.
      throw new ElfuseError(
        `cannot reserve ${size / 2 ** 30} GiB of address space for the guest's memory ` +
          "(the host refused it: is a virtual memory limit set, such as ulimit -v?)",
      );
    }
    this.base = addr;
    this.size = size;
    const ptr = Deno.UnsafePointer.create(BigInt(addr))!;
    const buf = Deno.UnsafePointerView.getArrayBuffer(ptr, size);
    this.u8 = new Uint8Array(buf);
    this.view = new DataView(buf);
  }

  /** Returns [gpa, gpa+len) to fresh zero pages (munmap, MADV_DONTNEED and MAP_FIXED semantics). */
  zero(gpa: number, len: number): void {
    // Replacing the range also drops any host file mapping placed there by mmap(MAP_SHARED).
    const r = Number(libc.mmap(this.base + gpa, len, PROT_RW, ANON_FLAGS | MAP_FIXED, -1, 0));
    if (r !== this.base + gpa) libc.madvise(this.base + gpa, len, MADV_DONTNEED);
    this.#cut(gpa, gpa + len);
  }

  /** Maps a host file over [gpa, gpa+len): shared or private (copy-on-write), zero copy. */
  mapFile(gpa: number, len: number, hostFd: number, offset: number, shared: boolean): boolean {
    const flags = (shared ? 0x01 : 0x02) | MAP_FIXED;
    const r = Number(libc.mmap(this.base + gpa, len, PROT_RW, flags, hostFd, offset));
    if (r !== this.base + gpa) return false;
    this.#cut(gpa, gpa + len);
    this.#files.push([gpa, gpa + len]);
    this.#files.sort((a, b) => a[0] - b[0]);
    return true;
  }

  /**
   * Records that the host mapped something other than the slab's own pages over [gpa, gpa+len)
   * (a System V segment attached there with SHM_REMAP): zero() replaces it like a file mapping.
   */
  adopt(gpa: number, len: number): void {
    this.#cut(gpa, gpa + len);
    this.#files.push([gpa, gpa + len]);
    this.#files.sort((a, b) => a[0] - b[0]);
  }

  /** The parts of [start, end) backed by a host file (the rest is anonymous memory). */
  fileRanges(start: number, end: number): [number, number][] {
    const out: [number, number][] = [];
    for (const [s, e] of this.#files) {
      if (e > start && s < end) out.push([Math.max(s, start), Math.min(e, end)]);
    }
    return out;
  }

  #cut(start: number, end: number): void {
    const kept: [number, number][] = [];
    for (const [s, e] of this.#files) {
      if (e <= start || s >= end) kept.push([s, e]);
      else {
        if (s < start) kept.push([s, start]);
        if (e > end) kept.push([end, e]);
      }
    }
    this.#files.splice(0, this.#files.length, ...kept);
  }
}
