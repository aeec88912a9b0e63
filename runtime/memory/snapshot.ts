// A copy of an address space that can be put back: how an in-process fork child
// (kernel/inline_fork.ts) borrows its parent's memory and returns it unchanged. Writable areas
// are copied when the snapshot is taken (only pages that hold data); read-only ones only if the
// child is about to change the mappings (AddressSpace.beforeChange), since until then nothing
// can have written them.
import type { AddressSpace } from "./address_space.ts";
import { batchMappings } from "./mapping_batch.ts";
import { libc } from "../host/libc.ts";
import { PROT_WRITE, type Vma } from "./vmas.ts";

interface Run {
  /** Index of its area in the saved list. */
  vma: number;
  start: number;
  length: number;
  /** Where its bytes are in `#data`. */
  at: number;
}

export class Snapshot {
  readonly #as: AddressSpace;
  readonly #vmas: Vma[];
  readonly #brk: [number, number];
  readonly #captured: boolean[];
  #runs: Run[] = [];
  #data = new Uint8Array(0);
  #size = 0;
  /** The mappings changed (or were about to): restore rebuilds them all. */
  #changed = false;

  /**
   * Takes the snapshot. `shared` (vfork): the child shares the parent's memory as Linux's vfork
   * does, so nothing is copied unless the mappings are about to change.
   */
  constructor(as: AddressSpace, shared: boolean) {
    this.#as = as;
    this.#vmas = as.vmas.list.map((v) => ({ ...v }));
    this.#brk = [as.brkStart, as.brkEnd];
    this.#captured = this.#vmas.map(() => false);
    if (!shared) this.#capture((v) => (v.prot & PROT_WRITE) !== 0);
    as.beforeChange = () => {
      this.#changed = true;
      this.#capture(() => true);
    };
  }

  #capture(which: (v: Vma) => boolean): void {
    const mem = this.#as.slab.u8;
    const todo: Run[] = [];
    let size = this.#size;
    this.#vmas.forEach((v, i) => {
      if (this.#captured[i] || !which(v)) return;
      this.#captured[i] = true;
      this.#as.dataRuns(v.start, v.end, (start, length) => {
        todo.push({ vma: i, start, length, at: size });
        size += length;
      });
    });
    if (size > this.#data.length) {
      const grown = new Uint8Array(Math.max(size, this.#data.length * 2));
      grown.set(this.#data.subarray(0, this.#size));
      this.#data = grown;
    }
    for (const r of todo) this.#data.set(mem.subarray(r.start, r.start + r.length), r.at);
    this.#runs = this.#runs.concat(todo);
    this.#size = size;
  }

  /** Puts the parent's mappings and contents back. */
  restore(): void {
    const as = this.#as;
    as.beforeChange = undefined;
    if (this.#changed) {
      // One batch: the backend keeps what it translated of the parent's code.
      batchMappings(as, () => {
        // Read-only areas the child has exactly as they were (a shell's own program, exec'd
        // again by its child) stay; everything else goes and the saved areas come back.
        const kept = this.#vmas.map((v, i) => this.#unchanged(v, i));
        let from = 0;
        this.#vmas.forEach((v, i) => {
          if (!kept[i]) return;
          if (v.start > from) as.munmap(from, v.start - from);
          from = v.end;
        });
        as.munmap(from, as.size - from);
        this.#vmas.forEach((v, i) => {
          if (!kept[i]) as.mapFixed(v.start, v.end - v.start, v.prot, v.name, false);
        });
        this.#copyBack((r) => !kept[r.vma]);
      });
    } else {
      const mem = as.slab.u8;
      // Same mappings: clear what the child wrote in the copied (writable) areas.
      this.#vmas.forEach((v, i) => {
        if (this.#captured[i]) as.dataRuns(v.start, v.end, (s, n) => mem.fill(0, s, s + n));
      });
      this.#copyBack();
    }
    [as.brkStart, as.brkEnd] = this.#brk;
  }

  #copyBack(which: (r: Run) => boolean = () => true): void {
    const mem = this.#as.slab.u8;
    for (const r of this.#runs) {
      if (which(r)) mem.set(this.#data.subarray(r.at, r.at + r.length), r.start);
    }
  }

  /** Saved area `i` is mapped now just as it was, read-only, with every byte the same. */
  #unchanged(v: Vma, i: number): boolean {
    if ((v.prot & PROT_WRITE) !== 0 || !this.#captured[i]) return false;
    const w = this.#as.vmas.find(v.start);
    if (
      w === undefined || w.start !== v.start || w.end !== v.end || w.prot !== v.prot ||
      w.name !== v.name || w.shared !== v.shared
    ) return false;
    const runs = this.#runs.filter((r) => r.vma === i);
    // Only areas saved whole: pages left out as untouched would have to be zero now too.
    if (runs.reduce((n, r) => n + r.length, 0) !== v.end - v.start) return false;
    const mem = this.#as.slab;
    const data = Number(Deno.UnsafePointer.value(Deno.UnsafePointer.of(this.#data)));
    return runs.every((r) => libc.memcmp(mem.base + r.start, data + r.at, r.length) === 0);
  }
}
