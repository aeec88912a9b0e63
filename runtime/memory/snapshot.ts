// A copy of an address space that can be put back: how an in-process fork child
// (kernel/inline_fork.ts) borrows its parent's memory and returns it unchanged. Writable areas
// are copied when the snapshot is taken (only pages that hold data); read-only ones only if the
// child is about to change the mappings (AddressSpace.beforeChange), since until then nothing
// can have written them.
import type { AddressSpace } from "./address_space.ts";
import { batchMappings } from "./mapping_batch.ts";
import { PROT_WRITE, type Vma } from "./vmas.ts";

interface Run {
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
        todo.push({ start, length, at: size });
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
        as.munmap(0, as.size);
        for (const v of this.#vmas) as.mapFixed(v.start, v.end - v.start, v.prot, v.name, false);
        this.#copyBack();
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

  #copyBack(): void {
    const mem = this.#as.slab.u8;
    for (const r of this.#runs) mem.set(this.#data.subarray(r.at, r.at + r.length), r.start);
  }
}
