// Watchpoints (Z2 write, Z3 read, Z4 access) by page protection, so they cost nothing unless one
// exists and work on every backend: while the guest runs, each page holding a watched range loses
// the permissions the watch is about (write; or read and write), through Backend.protect (unmap
// when nothing is left). An access there faults; the stub puts the page back, single-steps the
// access, and reports it when it touched a watched range (`watch:ADDR;`, `rwatch:`, `awatch:`),
// else runs on. Stores the host makes for a syscall (read(2) into a watched buffer) do not fault
// and are not reported.
import type { Backend, Exit } from "../backends/backend.ts";
import type { Process } from "../kernel/process.ts";
import { PAGE_SIZE, PROT_READ, PROT_WRITE } from "../memory/vmas.ts";

export type WatchKind = 2 | 3 | 4;

interface Watch {
  kind: WatchKind;
  addr: number;
  len: number;
}

/** The stop reply's key for each kind (GDB manual, "Stop Reply Packets"). */
const replyKey: Record<WatchKind, string> = { 2: "watch", 3: "rwatch", 4: "awatch" };
/** The widest single access (ld4/st4 of four q registers). */
const WIDEST_ACCESS = 64;

/**
 * How many bytes the load or store `insn` touches (Arm ARM C4.1.66, "Loads and Stores"): a
 * register pair is two of its size; a single register 1 << size, or 16 for a q register; SIMD
 * structure loads and stores and anything not decoded here count as the widest.
 */
export function accessSize(insn: number): number {
  const simd = (insn >>> 26) & 1, sizeBits = insn >>> 30;
  if (((insn >>> 27) & 7) === 5) { // load/store pair: opc is bits 31:30
    if (simd) return 2 * (4 << sizeBits);
    return 2 * (sizeBits === 0 ? 4 : 8);
  }
  if (((insn >>> 27) & 7) === 7) { // load/store a register
    if (simd && sizeBits === 0 && ((insn >>> 23) & 1) === 1) return 16;
    return 1 << sizeBits;
  }
  if (((insn >>> 24) & 0x3f) === 0x08) return 1 << sizeBits; // exclusives, acquire/release
  return WIDEST_ACCESS;
}

export class Watchpoints {
  readonly #proc: Process;
  readonly #backend: Backend;
  #list: Watch[] = [];
  /** Pages protected while the guest runs, with the permissions they were given. */
  readonly #armed = new Map<number, number>();

  constructor(proc: Process, backend: Backend) {
    this.#proc = proc;
    this.#backend = backend;
  }

  add(kind: WatchKind, addr: number, len: number): string {
    this.#list.push({ kind, addr, len });
    return "OK";
  }

  remove(kind: WatchKind, addr: number, len: number): string {
    const i = this.#list.findIndex((w) => w.kind === kind && w.addr === addr && w.len === len);
    if (i >= 0) this.#list.splice(i, 1);
    return "OK";
  }

  clear(): void {
    this.#list = [];
  }

  /** Takes the watched permissions away from the watched pages. */
  arm(): void {
    if (this.#list.length === 0) return;
    const masks = new Map<number, number>();
    for (const w of this.#list) {
      const mask = w.kind === 2 ? PROT_WRITE : PROT_READ | PROT_WRITE;
      for (let p = pageOf(w.addr); p < w.addr + w.len; p += PAGE_SIZE) {
        masks.set(p, (masks.get(p) ?? 0) | mask);
      }
    }
    for (const [page, mask] of masks) {
      const vma = this.#proc.as.vmas.find(page);
      if (vma === undefined || vma.prot === 0) continue; // PROT_NONE: not the backend's
      const prot = vma.prot & ~mask;
      if (prot === vma.prot) continue;
      if (prot === 0) this.#backend.unmap(page, PAGE_SIZE);
      else this.#backend.protect(page, PAGE_SIZE, prot);
      this.#armed.set(page, prot);
    }
  }

  /** Gives the pages back the permissions the guest gave them. */
  disarm(): void {
    for (const [page, given] of this.#armed) {
      const vma = this.#proc.as.vmas.find(page);
      if (vma === undefined || vma.prot === 0) continue; // the guest unmapped it meanwhile
      if (given === 0) this.#backend.map(page, PAGE_SIZE, vma.prot);
      else this.#backend.protect(page, PAGE_SIZE, vma.prot);
    }
    this.#armed.clear();
  }

  /** Whether a fault came from an armed page and the guest's own permissions allow the access. */
  caused(exit: Exit): boolean {
    if (exit.kind !== "fault" || this.#list.length === 0) return false;
    const vma = this.#proc.as.vmas.find(exit.address);
    if (vma === undefined) return false;
    const need = exit.access === "write" ? PROT_WRITE : exit.access === "read" ? PROT_READ : 0;
    if (need === 0 || (vma.prot & need) === 0) return false;
    return this.#list.some((w) => {
      const mask = w.kind === 2 ? PROT_WRITE : PROT_READ | PROT_WRITE;
      return (mask & need) !== 0 && pageOf(w.addr) <= exit.address &&
        exit.address < pageOf(w.addr + w.len - 1) + PAGE_SIZE;
    });
  }

  /** The stop reply's `watch:ADDR;` part when the access touched a watched range it is about. */
  hit(exit: Exit): string | undefined {
    if (exit.kind !== "fault") return undefined;
    const a = exit.address, write = exit.access === "write";
    const size = this.#proc.canRead(exit.pc, 4)
      ? accessSize(this.#proc.view.getUint32(exit.pc, true))
      : WIDEST_ACCESS;
    for (const w of this.#list) {
      if (w.kind === 2 && !write) continue;
      if (w.kind === 3 && write) continue;
      if (a < w.addr + w.len && w.addr < a + size) {
        return `${replyKey[w.kind]}:${w.addr.toString(16)};`;
      }
    }
    return undefined;
  }
}

function pageOf(a: number): number {
  return a - a % PAGE_SIZE;
}
