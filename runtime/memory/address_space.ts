// The guest address space: the slab, its VMAs, and the Linux memory syscalls' semantics (brk,
// mmap, munmap, mprotect, mremap, madvise) on top of them. Every change is mirrored into the CPU
// backend through the PageMapper, so this file never knows which backend runs.
import { E } from "../kernel/errno.ts";
import { libc } from "../host/libc.ts";
import { touchedRuns } from "../host/pagemap.ts";
import { GuestAliases } from "./aliases.ts";
import { Slab } from "./slab.ts";
import {
  type Backing,
  type FileTail,
  PAGE_SIZE,
  pageDown,
  pageUp,
  PROT_EXEC,
  PROT_NONE,
  PROT_READ,
  PROT_WRITE,
  type Vma,
  VmaList,
} from "./vmas.ts";

/** The part of a backend the address space needs. */
export interface PageMapper {
  map(gpa: number, size: number, prot: number): void;
  unmap(gpa: number, size: number): void;
  protect(gpa: number, size: number, prot: number): void;
  invalidateCode(gpa: number, size: number): void;
  /** Whether a change adding up to `regions` mappings fits the backend (absent: always). */
  roomFor?(regions: number): boolean;
  /**
   * An executable page can now change without a mapping change: it is also writable, or shared
   * (another mapping of the same file may write it, as double-mapping JITs do).
   */
  codeMayChange?(): void;
  /**
   * Host pages replaced under a mapping need no re-map (the backend reads guest memory through
   * the slab's host addresses), so memory/mapping_batch.ts may apply only net changes and keep
   * translated code whose bytes did not change.
   */
  readonly keepsTranslations?: boolean;
  /**
   * Guest ranges [start, end) the backend keeps for itself (hvf: its shim window): the guest can
   * never map there, as if they lay beyond TASK_SIZE (MAP_FIXED: ENOMEM; mremap: EINVAL).
   */
  readonly reserved?: readonly (readonly [number, number])[];
  /**
   * Maps guest VAs [va, va+size) to slab offsets [gpa, gpa+size): a non-identity mapping (hvf's
   * stage-1 tables can; Unicorn's identity memory cannot, so it leaves this out).
   */
  mapAlias?(va: number, gpa: number, size: number, prot: number): void;
  /** Removes an alias's entries (with mapAlias). */
  unmapAlias?(va: number, size: number): void;
  /** Changes an alias's protection; `gpa` is its backing, as mapAlias was given it. */
  protectAlias?(va: number, gpa: number, size: number, prot: number): void;
}

/** The name of the slab range backing a mapping above the slab (/proc/self/maps). */
export const HIGH_REGION = "[high-va]";
/** The top of TTBR0's range (T0SZ 16): aliases live below it. */
const VA_LIMIT = 2 ** 48;

/** Where things go in the guest (64 GiB slab). Chosen to look like Linux on arm64. */
export const layout = {
  /** Lowest address mmap may hand out (Linux's vm.mmap_min_addr on arm64 is 32 KiB; round up). */
  mmapFloor: 0x10000,
  /** Base for ET_DYN main programs: 2/3 of the space, as Linux's ELF_ET_DYN_BASE. */
  pieBase: 0xa_aaa0_0000,
  /** Highest stack address (exclusive). */
  stackTop: 0xf_ffff_0000,
  /** Main thread stack reserved below stackTop (RLIMIT_STACK's default). */
  stackSize: 8 * 1024 * 1024,
  /** Gap between the stack's lowest address and the first mmap. */
  stackGap: 128 * 1024 * 1024,
};

// mmap flags, asm-generic/mman-common.h (aarch64 uses the generic values).
const MAP_SHARED = 0x01;
const MAP_PRIVATE = 0x02;
const MAP_TYPE = 0x0f;
const MAP_FIXED = 0x10;
const MAP_ANONYMOUS = 0x20;
const MAP_FIXED_NOREPLACE = 0x100000;
const MREMAP_MAYMOVE = 1;
const MREMAP_FIXED = 2;

/** A file to map, as the fd table resolved it. */
export interface MappedFile {
  hostFd: number;
  size: number;
  name: string;
  /** The file may be mapped shared-writable (open for writing). */
  writable: boolean;
}

export class AddressSpace {
  readonly slab: Slab;
  readonly vmas = new VmaList();
  /** Non-identity ranges above the slab (mapAlias); empty unless Rosetta runs. */
  readonly aliases = new GuestAliases();
  mapper: PageMapper | undefined;
  brkStart = 0;
  brkEnd = 0;
  readonly mmapTop: number;
  /**
   * Called once before the next change to the mappings (map, unmap, protect, brk), with the old
   * mappings still in place; it clears itself. An in-process fork child uses it to save its
   * parent's read-only pages only when the child is about to replace them.
   */
  beforeChange: (() => void) | undefined;
  /** A fork child's shared mappings: one FileTail per parent mapping (mapHostFileShared). */
  readonly #sharedTails = new WeakMap<Backing, FileTail>();

  constructor(slab = new Slab()) {
    this.slab = slab;
    this.mmapTop = layout.stackTop - layout.stackSize - layout.stackGap;
  }

  get size(): number {
    return this.slab.size;
  }

  /** True when [addr, addr+len) is readable by the guest. */
  canRead(addr: number, len: number): boolean {
    return addr >= 0 && addr + len <= this.slab.size && this.vmas.allows(addr, len, PROT_READ);
  }

  /** True when [addr, addr+len) is writable by the guest. */
  canWrite(addr: number, len: number): boolean {
    return addr >= 0 && addr + len <= this.slab.size && this.vmas.allows(addr, len, PROT_WRITE);
  }

  /**
   * Where the guest's [addr, addr+len) lives in the slab for a kernel copy with `prot`
   * (PROT_READ or PROT_WRITE): addr itself for the identity-mapped slab, the backing offset for
   * an alias above it, -1 when the guest may not access it that way (EFAULT).
   */
  resolve(addr: number, len: number, prot: number): number {
    if (addr >= 0 && addr + len <= this.slab.size) {
      return this.vmas.allows(addr, len, prot) ? addr : -1;
    }
    return this.aliases.resolve(addr, len, prot);
  }

  /**
   * Records the kbuf's TTBR1 view (backends/hvf/rosetta_install.ts), whose stage-1 tables
   * enableTtbr1 writes, for the kernel's copy-in: at `signedVa`, the negative number a syscall
   * argument with bits 63:53 set arrives as (aliases.ts).
   */
  recordUpperAlias(signedVa: number, gpa: number, size: number, prot: number, name: string): void {
    if (signedVa >= 0 || signedVa + size > 0) throw new RangeError("not an upper-half range");
    this.aliases.add({ va: signedVa, end: signedVa + size, offset: gpa, prot, name });
  }

  /**
   * Makes guest VAs [va, va+size), above the slab, show the slab bytes at [gpa, gpa+size) with
   * `prot`, through the backend's page tables (PageMapper.mapAlias). The backing range becomes a
   * PROT_NONE VMA named `name` (or is one already) so mmap never reuses it and /proc/self/maps
   * shows where it went.
   * Throws when the backend cannot alias or a range is wrong: this is start-up, not a syscall.
   */
  mapAlias(va: number, gpa: number, size: number, prot: number, name: string): void {
    const m = this.mapper?.mapAlias?.bind(this.mapper);
    if (m === undefined) throw new Error("this CPU backend cannot map a VA away from the slab");
    if (va < this.slab.size || va % PAGE_SIZE || gpa % PAGE_SIZE || size % PAGE_SIZE) {
      throw new RangeError(`alias 0x${va.toString(16)}: must be page aligned, above the slab`);
    }
    if (gpa < 0 || gpa + size > this.slab.size) {
      throw new RangeError(`alias backing 0x${gpa.toString(16)} lies outside the slab`);
    }
    // A backing range already reserved for the same name (one PROT_NONE VMA for a whole buffer
    // several aliases share) is reused; anything else there is in use.
    const v = this.vmas.find(gpa);
    const own = v !== undefined && v.prot === PROT_NONE && v.name === name && v.end >= gpa + size;
    if (!own && (!this.vmas.isFree(gpa, gpa + size) || this.#reserved(gpa, gpa + size))) {
      throw new RangeError(`alias backing 0x${gpa.toString(16)} is already in use`);
    }
    this.aliases.add({ va, end: va + size, offset: gpa, prot, name });
    if (!own) this.#add({ start: gpa, end: gpa + size, prot: PROT_NONE, name, shared: false });
    m(va, gpa, size, prot);
  }

  /** Maps fresh zero pages at a fixed, page-aligned range, replacing what was there. */
  mapFixed(start: number, len: number, prot: number, name = "", shared = false): void {
    this.#drop(start, start + len);
    this.#add({ start, end: start + len, prot, name, shared });
  }

  /**
   * Maps the host file of a parent's shared mapping over a fixed range, shared: a fork child's
   * share of it (fork.ts). The backing's fd becomes the address space's; every piece of one
   * mapping is given the same backing object.
   */
  mapHostFileShared(
    start: number,
    len: number,
    prot: number,
    name: string,
    backing: Backing,
  ): boolean {
    this.#drop(start, start + len);
    // Only the file's own pages: a host page past its end raises a host SIGBUS (see FileTail).
    let tail = this.#sharedTails.get(backing);
    if (tail === undefined) {
      const size = Number(libc.lseek(backing.hostFd, 0n, 2 /* SEEK_END */));
      const eof = size < 0 ? start + len : pageUp(size) - backing.base;
      tail = { hostFd: backing.hostFd, ownsFd: false, base: backing.base, eof };
      this.#sharedTails.set(backing, tail);
    }
    const n = Math.min(start + len, Math.max(start, tail.eof)) - start;
    if (n > 0 && !this.slab.mapFile(start, n, backing.hostFd, backing.base + start, true)) {
      return false;
    }
    this.#add({ start, end: start + len, prot, name, shared: true, backing, tail });
    return true;
  }

  /**
   * Maps what `attach` puts over a fixed range of the slab itself (shmat of a System V segment
   * with SHM_REMAP at the range's host address), shared: the range is cleared first, and the
   * mapping is then the guest's like a shared file mapping (munmap, exec and replacement drop it,
   * which detaches it on the host). `backing` (a host fd of the same memory), when there is one,
   * lets fork children share it. False when `attach` failed (nothing is mapped then).
   */
  attachShared(
    start: number,
    len: number,
    prot: number,
    name: string,
    attach: () => boolean,
    backing?: () => Backing | undefined,
  ): boolean {
    this.#drop(start, start + len);
    if (!attach()) return false;
    this.slab.adopt(start, len);
    this.#add({ start, end: start + len, prot, name, shared: true, backing: backing?.() });
    return true;
  }

  /**
   * Maps `len` bytes of host file `fd` at `offset` over a fixed range, private (copy-on-write):
   * how a fork child takes over its parent's pages. The backend learns of the new host pages.
   */
  mapHostFilePrivate(
    start: number,
    len: number,
    prot: number,
    name: string,
    fd: number,
    offset: number,
    eof?: number,
  ): boolean {
    this.#drop(start, start + len);
    if (!this.slab.mapFile(start, len, fd, offset, false)) return false;
    // A parent's pages past its file's end still raise SIGBUS (the child has no descriptor of
    // the file to see it grow: hostFd -1).
    const tail = eof === undefined ? undefined : { hostFd: -1, ownsFd: false, base: 0, eof };
    this.#add({ start, end: start + len, prot, name, shared: false, tail });
    return true;
  }

  #changing(): void {
    const hook = this.beforeChange;
    if (hook === undefined) return;
    this.beforeChange = undefined;
    hook();
  }

  /**
   * Calls `run(start, length)` for each part of [start, end) that may hold data: parts backed by
   * a host file whole, anonymous parts only where the host has touched pages (the rest is zero).
   */
  dataRuns(start: number, end: number, run: (start: number, length: number) => void): void {
    let at = start;
    const anon = (to: number) => {
      if (to > at) touchedRuns(this.slab.base + at, to - at, (o, n) => run(at + o, n));
    };
    for (const [s, e] of this.slab.fileRanges(start, end)) {
      anon(s);
      run(s, e - s);
      at = e;
    }
    anon(end);
  }

  /** Gives [start, start+len) fresh zero host pages and tells the backend (they are new pages). */
  replacePages(start: number, len: number, prot: number): void {
    this.slab.zero(start, len);
    if (prot === PROT_NONE) return; // never given to the backend (see #add)
    this.mapper?.unmap(start, len);
    this.mapper?.map(start, len, prot);
  }

  #add(vma: Vma): void {
    this.#changing();
    const { start, prot } = vma; // insert() may merge vma with its neighbours
    const end = backendEnd(vma);
    this.vmas.insert(vma);
    // PROT_NONE pages are not given to the backend: an access faults either way, and the kernel
    // knows from the VMA that it was a permission fault. Thread stacks are mapped PROT_NONE and
    // then made writable (glibc allocatestack.c): on Unicorn a protect of a mapped region is paid
    // page by page (memory_unmap flushes each page's TLB entry), a first map is not.
    if (prot !== PROT_NONE && end > start) this.mapper?.map(start, end - start, prot);
    if ((prot & PROT_EXEC) && (vma.shared || (prot & PROT_WRITE))) this.mapper?.codeMayChange?.();
  }

  // Removes [start, end) from the guest: backend, VMAs, and the slab contents (zeroed).
  #drop(start: number, end: number): void {
    this.#changing();
    const backings = new Set<Backing>();
    const tails = new Set<FileTail>();
    for (const piece of this.vmas.remove(start, end)) {
      const len = piece.end - piece.start, inBackend = backendEnd(piece) - piece.start;
      // Before the unmap: translations are found through the mapping (mapping_batch.ts).
      if ((piece.prot & PROT_EXEC) && inBackend > 0) {
        this.mapper?.invalidateCode(piece.start, inBackend);
      }
      if (piece.prot !== PROT_NONE && inBackend > 0) this.mapper?.unmap(piece.start, inBackend);
      this.slab.zero(piece.start, len);
      if (piece.backing !== undefined) backings.add(piece.backing);
      if (piece.tail?.ownsFd) tails.add(piece.tail);
    }
    // A shared mapping's host file is closed with the last of its pieces.
    for (const b of backings) {
      if (!this.vmas.list.some((v) => v.backing === b)) libc.close(b.hostFd);
    }
    for (const t of tails) {
      if (!this.vmas.list.some((v) => v.tail === t)) libc.close(t.hostFd);
    }
  }

  /** brk(2): returns the new break, or the old one when the request cannot be met. */
  brk(requested: number): number {
    if (requested < this.brkStart || requested > this.slab.size) return this.brkEnd;
    const oldTop = pageUp(this.brkEnd), newTop = pageUp(requested);
    if (newTop > oldTop) {
      if (!this.vmas.isFree(oldTop, newTop) || this.#reserved(oldTop, newTop) || !this.#room()) {
        return this.brkEnd;
      }
      this.#add({
        start: oldTop,
        end: newTop,
        prot: PROT_READ | PROT_WRITE,
        name: "[heap]",
        shared: false,
      });
    } else if (newTop < oldTop) {
      this.#drop(newTop, oldTop);
    }
    // Bytes between the new break and its page end must read as zero after a shrink and regrow.
    if (requested < this.brkEnd && requested < newTop) {
      this.slab.u8.fill(0, requested, Math.min(newTop, this.brkEnd));
    }
    this.brkEnd = requested;
    return requested;
  }

  /** Whether [start, end) touches a range the backend reserves (PageMapper.reserved). */
  #reserved(start: number, end: number): boolean {
    const r = this.mapper?.reserved;
    if (r === undefined) return false;
    for (const [s, e] of r) if (start < e && end > s) return true;
    return false;
  }

  /** Where an mmap of `len` bytes without a hint would go (top down), or -1 when nothing is free. */
  freeArea(len: number): number {
    return this.vmas.findFreeTopDown(pageUp(len), this.mmapTop, layout.mmapFloor);
  }

  /** mmap(2) semantics. Returns the address or -errno. `file` is undefined for anonymous maps. */
  mmap(
    addr: number,
    length: number,
    prot: number,
    flags: number,
    file: MappedFile | undefined,
    offset: number,
  ): number {
    const type = flags & MAP_TYPE;
    if (length === 0 || (type !== MAP_SHARED && type !== MAP_PRIVATE && type !== 3)) {
      return -E.EINVAL;
    }
    if (offset < 0 || offset % PAGE_SIZE !== 0) return -E.EINVAL;
    // A length near 2^64 (negative as a signed argument) fits nowhere: ENOMEM, as Linux's
    // do_mmap says once PAGE_ALIGN wraps it or no area is that large.
    if (length < 0) return -E.ENOMEM;
    const len = pageUp(length);
    if (len > this.slab.size) return -E.ENOMEM;
    const fixed = (flags & (MAP_FIXED | MAP_FIXED_NOREPLACE)) !== 0;
    let start: number;
    if (fixed) {
      if (addr % PAGE_SIZE !== 0) return -E.EINVAL;
      if (addr >= this.slab.size) return this.#mmapHigh(addr, len, prot, flags, file, offset);
      if (addr + len > this.slab.size || addr < layout.mmapFloor) return -E.ENOMEM;
      if (this.#reserved(addr, addr + len)) return -E.ENOMEM;
      if (
        (flags & MAP_FIXED_NOREPLACE) && !(flags & MAP_FIXED) && !this.vmas.isFree(addr, addr + len)
      ) return -E.EEXIST;
      start = addr;
    } else {
      const hint = pageDown(addr);
      if (
        hint >= layout.mmapFloor && hint + len <= this.mmapTop &&
        this.vmas.isFree(hint, hint + len) && !this.#reserved(hint, hint + len)
      ) start = hint;
      else start = this.freeArea(len);
      if (start < 0) return -E.ENOMEM;
    }
    const anonymous = file === undefined || (flags & MAP_ANONYMOUS) !== 0;
    const shared = type !== MAP_PRIVATE;
    if (!anonymous && shared && (prot & PROT_WRITE) && !file!.writable) return -E.EACCES;
    if (!this.#room()) return -E.ENOMEM;
    // (macOS has no memfd: shared anonymous memory stays private to the process there.)
    if (anonymous && shared && Deno.build.os === "linux") {
      return this.#mapSharedAnonymous(start, len, prot);
    }
    this.#drop(start, start + len);
    if (!anonymous) {
      // Map the file's pages; pages past its end stay anonymous zeros (Linux raises SIGBUS there,
      // which must not become a host SIGBUS in the elfuse process).
      const f = file!;
      const fileBytes = Math.max(0, Math.min(len, pageUp(f.size) - offset));
      if (fileBytes > 0 && !this.slab.mapFile(start, fileBytes, f.hostFd, offset, shared)) {
        return -E.ENODEV;
      }
      let backing: Backing | undefined;
      let tail: FileTail | undefined;
      const base = offset - start, eof = start + fileBytes;
      if (shared) {
        // Its own host fd: the guest may close its fd while the mapping stays (and a fork child
        // maps the same file).
        const fd = libc.fcntl(f.hostFd, 1030, /* F_DUPFD_CLOEXEC */ 3);
        if (fd >= 0) {
          backing = { hostFd: fd, base };
          tail = { hostFd: fd, ownsFd: false, base, eof }; // the file may shrink under it
        }
      } else if (fileBytes < len) {
        // Past its end: SIGBUS until the file grows there, so its own fd to see it grow.
        const fd = libc.fcntl(f.hostFd, 1030, /* F_DUPFD_CLOEXEC */ 3);
        if (fd >= 0) tail = { hostFd: fd, ownsFd: true, base, eof };
      }
      this.#add({ start, end: start + len, prot, name: f.name, shared, backing, tail });
    } else {
      this.#add({ start, end: start + len, prot, name: "", shared: false });
    }
    return start;
  }

  /**
   * MAP_SHARED|MAP_ANONYMOUS: a host memfd mapped shared, so that the pages stay shared with fork
   * children (Linux backs them with a shmem file the same way; /proc/self/maps shows
   * "/dev/zero (deleted)").
   */
  #mapSharedAnonymous(start: number, len: number, prot: number): number {
    const name = new TextEncoder().encode("elfuse-shared\0");
    const fd = libc.memfd_create(Number(Deno.UnsafePointer.value(Deno.UnsafePointer.of(name))), 1);
    if (fd < 0) return -E.ENOMEM;
    if (libc.ftruncate(fd, len) !== 0) {
      libc.close(fd);
      return -E.ENOMEM;
    }
    this.#drop(start, start + len);
    if (!this.slab.mapFile(start, len, fd, 0, true)) {
      libc.close(fd);
      return -E.ENOMEM;
    }
    const backing = { hostFd: fd, base: -start };
    this.#add({
      start,
      end: start + len,
      prot,
      name: "/dev/zero (deleted)",
      shared: true,
      backing,
    });
    return start;
  }

  /**
   * MAP_FIXED above the slab, where Rosetta maps its JIT area (near 240 TiB) and more (reference
   * §1.18, sys_mmap_fixed_high_va): fresh slab pages where mmap would put them, seen at `addr`
   * through an alias (hvf only; elsewhere ENOMEM, as beyond TASK_SIZE). A private file mapping
   * gets a copy of the file's bytes; a shared one would need the file at that VA: ENODEV.
   */
  #mmapHigh(
    addr: number,
    len: number,
    prot: number,
    flags: number,
    file: MappedFile | undefined,
    offset: number,
  ): number {
    const m = this.mapper;
    if (m?.mapAlias === undefined || addr + len > VA_LIMIT) return -E.ENOMEM;
    const anonymous = file === undefined || (flags & MAP_ANONYMOUS) !== 0;
    if (!anonymous && (flags & MAP_TYPE) !== MAP_PRIVATE) return -E.ENODEV;
    if (!(flags & MAP_FIXED) && this.aliases.overlaps(addr, addr + len)) return -E.EEXIST;
    if (!this.#room()) return -E.ENOMEM;
    const gpa = this.freeArea(len);
    if (gpa < 0) return -E.ENOMEM;
    this.#unmapHigh(addr, addr + len);
    this.mapFixed(gpa, len, PROT_NONE, HIGH_REGION); // fresh zero pages
    if (!anonymous) {
      const n = Math.max(0, Math.min(len, file!.size - offset));
      if (n > 0) libc.pread(file!.hostFd, BigInt(this.slab.base + gpa), BigInt(n), BigInt(offset));
    }
    this.aliases.add({ va: addr, end: addr + len, offset: gpa, prot, name: HIGH_REGION });
    if (prot !== PROT_NONE) m.mapAlias(addr, gpa, len, prot);
    return addr;
  }

  /**
   * Unmaps [start, end) above the slab: the aliases there go, and their backing too unless
   * another alias shows it (the kbuf's TTBR0 and TTBR1 views share one).
   */
  #unmapHigh(start: number, end: number): void {
    for (const a of this.aliases.take(start, end)) {
      const size = a.end - a.va;
      if (a.prot !== PROT_NONE) this.mapper?.unmapAlias?.(a.va, size);
      if (a.prot & PROT_EXEC) this.mapper?.invalidateCode(a.offset, size);
      if (!this.aliases.backs(a.offset, size)) this.#drop(a.offset, a.offset + size);
    }
  }

  /** mprotect above the slab: every page must be an alias's (ENOMEM otherwise, as Linux). */
  #protectHigh(start: number, end: number, prot: number): number {
    if (!this.aliases.covers(start, end)) return -E.ENOMEM;
    const m = this.mapper;
    for (const a of this.aliases.take(start, end)) {
      this.aliases.add({ ...a, prot });
      const size = a.end - a.va;
      if (a.prot === prot) continue;
      if ((a.prot | prot) & PROT_EXEC) m?.invalidateCode(a.offset, size);
      if (prot === PROT_NONE) m?.unmapAlias?.(a.va, size);
      else if (a.prot === PROT_NONE) m?.mapAlias?.(a.va, a.offset, size, prot);
      else m?.protectAlias?.(a.va, a.offset, size, prot);
    }
    return 0;
  }

  /** Drops every alias (execve: the new image has none). */
  dropAliases(): void {
    if (this.aliases.list.length > 0) this.#unmapHigh(-(2 ** 53), VA_LIMIT);
  }

  /** munmap(2). */
  munmap(addr: number, length: number): number {
    if (addr % PAGE_SIZE !== 0 || length <= 0) return -E.EINVAL;
    if (addr >= this.slab.size && addr + length <= VA_LIMIT) {
      this.#unmapHigh(addr, addr + pageUp(length));
      return 0;
    }
    if (addr + length > this.slab.size) return -E.EINVAL;
    this.#drop(addr, addr + pageUp(length));
    return 0;
  }

  /** mprotect(2). */
  mprotect(addr: number, length: number, prot: number): number {
    if (addr % PAGE_SIZE !== 0 || length < 0 || (prot & ~7) !== 0) return -E.EINVAL;
    const len = pageUp(length);
    if (len === 0) return 0;
    if (addr >= this.slab.size) return this.#protectHigh(addr, addr + len, prot);
    if (!this.#room()) return -E.ENOMEM;
    const hadExec = !this.vmas.allows(addr, len, 0) ? false : this.#anyExec(addr, addr + len);
    if (this.vmas.allows(addr, len, 0)) this.#changing();
    const before = this.vmas.list.filter((v) => v.end > addr && v.start < addr + len)
      .map((v) => {
        const start = Math.max(v.start, addr);
        // Pages past a file's end are never the backend's (see FileTail).
        return {
          start,
          end: Math.max(start, backendEnd({ ...v, end: Math.min(v.end, addr + len) })),
          prot: v.prot,
        };
      });
    if (!this.vmas.protect(addr, addr + len, prot)) return -E.ENOMEM;
    // Old code goes while its mapping still finds it (see #drop); new code after.
    if (hadExec) this.mapper?.invalidateCode(addr, len);
    for (const piece of before) {
      // PROT_NONE pages are not the backend's (see #add): going to or from it maps or unmaps.
      const n = piece.end - piece.start;
      if (piece.prot === prot || n === 0) continue;
      if (prot === PROT_NONE) this.mapper?.unmap(piece.start, n);
      else if (piece.prot === PROT_NONE) this.mapper?.map(piece.start, n, prot);
      else this.mapper?.protect(piece.start, n, prot);
    }
    if (prot & PROT_EXEC) this.mapper?.invalidateCode(addr, len);
    if ((prot & PROT_EXEC) && ((prot & PROT_WRITE) || this.#anyShared(addr, addr + len))) {
      this.mapper?.codeMayChange?.();
    }
    return 0;
  }

  // Room in the backend for one more change: it can split two mappings and add one.
  #room(): boolean {
    return this.mapper?.roomFor?.(3) ?? true;
  }

  #anyShared(start: number, end: number): boolean {
    return this.vmas.list.some((v) => v.start < end && v.end > start && v.shared);
  }

  #anyExec(start: number, end: number): boolean {
    for (const v of this.vmas.list) {
      if (v.start < end && v.end > start && (v.prot & PROT_EXEC)) return true;
    }
    return false;
  }

  /** mremap(2) for private and anonymous mappings. */
  mremap(
    oldAddr: number,
    oldLength: number,
    newLength: number,
    flags: number,
    newAddr: number,
  ): number {
    if (oldAddr % PAGE_SIZE !== 0 || newLength <= 0 || (flags & ~7) !== 0) return -E.EINVAL;
    if ((flags & MREMAP_FIXED) && !(flags & MREMAP_MAYMOVE)) return -E.EINVAL;
    const oldLen = pageUp(oldLength), newLen = pageUp(newLength);
    const vma = this.vmas.find(oldAddr);
    if (vma === undefined || oldAddr + oldLen > vma.end) return -E.EFAULT;
    if (!this.#room()) return -E.ENOMEM;
    if (flags & MREMAP_FIXED) {
      if (newAddr % PAGE_SIZE !== 0 || newAddr + newLen > this.slab.size) return -E.EINVAL;
      if (this.#reserved(newAddr, newAddr + newLen)) return -E.EINVAL;
      if (newAddr < oldAddr + oldLen && oldAddr < newAddr + newLen) return -E.EINVAL;
      return this.#move(vma, oldAddr, oldLen, newAddr, newLen);
    }
    if (newLen <= oldLen) {
      if (newLen < oldLen) this.#drop(oldAddr + newLen, oldAddr + oldLen);
      return oldAddr;
    }
    const tail = oldAddr + oldLen;
    if (
      tail + (newLen - oldLen) <= this.slab.size && this.vmas.isFree(tail, oldAddr + newLen) &&
      !this.#reserved(tail, oldAddr + newLen)
    ) {
      this.#add({ ...vma, start: tail, end: oldAddr + newLen });
      return oldAddr;
    }
    if (!(flags & MREMAP_MAYMOVE)) return -E.ENOMEM;
    const dest = this.freeArea(newLen);
    if (dest < 0) return -E.ENOMEM;
    return this.#move(vma, oldAddr, oldLen, dest, newLen);
  }

  #move(vma: Vma, oldAddr: number, oldLen: number, dest: number, newLen: number): number {
    if (vma.shared) return -E.EINVAL; // a moved shared file mapping would lose its sharing
    this.#drop(dest, dest + newLen);
    // (A moved file mapping's pages past the file's end read as zeros: its tail stays behind.)
    this.#add({ ...vma, start: dest, end: dest + newLen, tail: undefined });
    // Only the parts that hold data are copied (Linux moves page tables and copies nothing): a
    // copy of untouched pages writes zeros and commits them, so moving a 2 GiB mapping with two
    // pages in use committed 4 GiB of host memory and took 31 s (the syscall fuzzer's OOM).
    const end = oldAddr + Math.min(oldLen, newLen);
    this.dataRuns(oldAddr, end, (s, n) => this.slab.u8.copyWithin(dest + (s - oldAddr), s, s + n));
    this.#drop(oldAddr, oldAddr + oldLen);
    return dest;
  }

  /**
   * A file may have shrunk (the guest's ftruncate or truncate): pages of its mappings wholly past
   * the new end leave the backend, so that an access there raises SIGBUS in the guest as on Linux
   * (fileTailFault), and their host pages become anonymous zeros: a shared host page past the end
   * would raise a host SIGBUS in the elfuse process. One lseek per mapping that may end early;
   * nothing without them.
   */
  fileShrank(): void {
    const ends = new Map<FileTail, number>();
    for (const v of this.vmas.list) {
      const t = v.tail;
      if (t === undefined) continue;
      let eof = ends.get(t);
      if (eof === undefined) {
        const size = Number(libc.lseek(t.hostFd, 0n, 2 /* SEEK_END */));
        if (size < 0) continue;
        eof = pageUp(size) - t.base; // guest address a maps file offset a + base
        ends.set(t, eof);
      }
      const from = Math.max(v.start, eof), to = backendEnd(v);
      if (from >= to) continue;
      this.#changing(); // an in-process fork child's parent gets its pages back (snapshot.ts)
      if (v.prot & PROT_EXEC) this.mapper?.invalidateCode(from, to - from);
      if (v.prot !== PROT_NONE) this.mapper?.unmap(from, to - from);
      this.slab.zero(from, to - from);
    }
    for (const [t, eof] of ends) if (eof < t.eof) t.eof = eof;
  }

  /**
   * A guest fault at `addr`: "sigbus" when it lies in a file mapping wholly past the file's end
   * (Linux: SIGBUS, BUS_ADRERR) and the access is one the mapping allows; "mapped" when the file
   * has since grown over it (its new pages are now mapped: retry the access); "none" otherwise.
   */
  fileTailFault(addr: number, access: "read" | "write" | "fetch"): "none" | "mapped" | "sigbus" {
    const v = this.vmas.find(addr);
    const t = v?.tail;
    if (v === undefined || t === undefined || addr < t.eof) return "none";
    const need = access === "read" ? PROT_READ : access === "write" ? PROT_WRITE : PROT_EXEC;
    if ((v.prot & need) === 0) return "none"; // a permission fault comes first
    const size = Number(libc.lseek(t.hostFd, 0n, 2 /* SEEK_END */));
    const eof = size < 0 ? t.eof : pageUp(size) - t.base;
    if (addr >= eof) return "sigbus";
    // Grown: the pages between the old and the new end are the file's now, in every piece.
    this.#changing();
    const old = t.eof;
    t.eof = eof;
    for (const p of this.vmas.list) {
      if (p.tail !== t) continue;
      const from = Math.max(p.start, old), to = Math.min(p.end, eof);
      if (from >= to) continue;
      if (!this.slab.mapFile(from, to - from, t.hostFd, from + t.base, p.shared)) return "sigbus";
      if (p.prot !== PROT_NONE) {
        this.mapper?.map(from, to - from, p.prot);
        if (p.prot & PROT_EXEC) this.mapper?.invalidateCode(from, to - from);
      }
    }
    return "mapped";
  }

  /** madvise(2): MADV_DONTNEED zeroes private anonymous pages; advisory values are accepted. */
  madvise(addr: number, length: number, advice: number): number {
    if (addr % PAGE_SIZE !== 0 || length < 0) return -E.EINVAL;
    const len = pageUp(length);
    const known = [
      0,
      1,
      2,
      3,
      4,
      8,
      9,
      10,
      11,
      12,
      13,
      14,
      15,
      16,
      17,
      18,
      19,
      20,
      21,
      22,
      23,
      24,
      25,
      100,
      101,
    ];
    if (!known.includes(advice)) return -E.EINVAL;
    if (len === 0) return 0;
    if (!this.vmas.allows(addr, len, 0)) return -E.ENOMEM;
    if (advice === 4) {
      for (const v of this.vmas.list) {
        if (
          v.end <= addr || v.start >= addr + len || v.shared || v.name !== "" && v.name[0] !== "["
        ) continue;
        const from = Math.max(v.start, addr), n = Math.min(v.end, addr + len) - from;
        this.slab.zero(from, n);
        // Fresh host pages: a backend that pins host pages (Hypervisor.framework) must re-map;
        // one that reads through the slab's host addresses (Unicorn) already sees them.
        if (v.prot === PROT_NONE || this.mapper?.keepsTranslations) continue;
        this.mapper?.unmap(from, n);
        this.mapper?.map(from, n, v.prot);
      }
    }
    return 0;
  }
}

/** Where the part of a mapping given to the backend ends: before the pages past a file's end. */
function backendEnd(v: { start: number; end: number; tail?: FileTail }): number {
  const t = v.tail;
  return t === undefined ? v.end : Math.max(v.start, Math.min(v.end, t.eof));
}
