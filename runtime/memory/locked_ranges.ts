// Memory a guest locked (mlock, mlock2, mlockall): elfuse never locks host memory (the slab is
// one host mapping; locking it would pin the whole reservation), so the ranges are only recorded,
// for RLIMIT_MEMLOCK and VmLck in /proc/self/status. Linux drops them at fork and execve.
import type { VmaList } from "./vmas.ts";

export class LockedRanges {
  /** Sorted, disjoint [start, end) page ranges. */
  #ranges: [number, number][] = [];
  /** mlockall(MCL_FUTURE): mappings made from now on are locked too. */
  future = false;

  /** Locks [start, end) (page-aligned). */
  add(start: number, end: number): void {
    const next: [number, number][] = [];
    for (const [s, e] of this.#ranges) {
      if (e < start || s > end) next.push([s, e]);
      else [start, end] = [Math.min(s, start), Math.max(e, end)];
    }
    next.push([start, end]);
    this.#ranges = next.sort((a, b) => a[0] - b[0]);
  }

  /** Unlocks [start, end) (page-aligned). */
  remove(start: number, end: number): void {
    const next: [number, number][] = [];
    for (const [s, e] of this.#ranges) {
      if (e <= start || s >= end) next.push([s, e]);
      else {
        if (s < start) next.push([s, start]);
        if (e > end) next.push([end, e]);
      }
    }
    this.#ranges = next;
  }

  /** Everything unlocked, MCL_FUTURE off (munlockall, fork, execve). */
  clear(): void {
    this.#ranges = [];
    this.future = false;
  }

  /** Bytes locked and still mapped (Linux's locked_vm): unmapping a page unlocks it. */
  bytes(vmas: VmaList, within?: [number, number]): number {
    let n = 0;
    for (let [s, e] of this.#ranges) {
      if (within !== undefined) [s, e] = [Math.max(s, within[0]), Math.min(e, within[1])];
      for (const v of vmas.list) {
        const a = Math.max(s, v.start), b = Math.min(e, v.end);
        if (a < b) n += b - a;
      }
    }
    return n;
  }
}
