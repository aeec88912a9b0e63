// What changes in a guest process and another process's /proc/PID/{stat,status,statm} shows of
// it: its address-space size, thread count, the leader's blocked signals and the dispositions.
// Each process keeps them in a small file beside its card (registry.ts), mapped MAP_SHARED into
// its own memory: the syscalls that change them (LIVE_SYSCALLS) store numbers into that page
// after they ran, which costs no host call and no allocation; a reader reads the file, which the
// host's page cache keeps equal to the page. Resident memory is not kept: the reader measures it
// (the host's Rss of the slab, whose pages are the guest's; other_process.ts).
import { libc, mmapAddress } from "../../host/libc.ts";
import type { Process } from "../process.ts";

/** Slots of the page, as float64s. */
export const enum Live {
  SIZE, // bytes of guest VMAs (VmSize)
  THREADS,
  BLK_HI,
  BLK_LO,
  IGN_HI,
  IGN_LO,
  CGT_HI,
  CGT_LO,
  SLAB_BASE, // the host range of the guest's memory, for its Rss
  SLAB_SIZE,
  /** The host process that holds the slab: the pid's own, or its parent's for an in-process fork. */
  HOST_PID,
  COUNT,
}

/** A process's page: the view and where it is mapped (unmapped when the process ends). */
export interface LivePage {
  f: Float64Array;
  address: number;
}

const PAGE = 4096;
const O_RDWR = 2, O_CREAT = 0o100, O_CLOEXEC = 0o2000000;
const PROT_RW = 3, MAP_SHARED = 1;

/**
 * Syscalls after which the page is refreshed (aarch64 numbers): brk, munmap, mremap, mmap,
 * mprotect is not one (the size stays), shmdt/shmat, clone/clone3 and exit (threads),
 * rt_sigaction and rt_sigprocmask. A table lookup per syscall, as dispatch.ts does it.
 */
export const LIVE_SYSCALLS: Uint8Array = (() => {
  const t = new Uint8Array(512);
  for (const nr of [214, 215, 216, 222, 196, 197, 220, 435, 93, 134, 135]) t[nr] = 1;
  return t;
})();

/**
 * Maps `path` (made, one page) as `proc`'s live page and fills it; undefined where the host
 * refuses (no room: the reader then shows zeros, as before there was a page). Linux hosts only:
 * the registry is theirs (registry.ts hasRegistry).
 */
export function mapLive(proc: Process, path: string): LivePage | undefined {
  const fd = libc.openat(-100, proc.rt.scratchString(path), O_RDWR | O_CREAT | O_CLOEXEC, 0o600);
  if (fd < 0) return undefined;
  let address = -1;
  if (libc.ftruncate(fd, PAGE) === 0) {
    address = mmapAddress(libc.mmap(0, PAGE, PROT_RW, MAP_SHARED, fd, 0));
  }
  libc.close(fd);
  if (address === -1 || address === 0) return undefined;
  const buf = Deno.UnsafePointerView.getArrayBuffer(
    Deno.UnsafePointer.create(BigInt(address))!,
    PAGE,
  );
  const page: LivePage = { f: new Float64Array(buf, 0, Live.COUNT), address };
  placeLive(proc, page);
  return page;
}

/** Says where `proc`'s memory is (at start and again after execve, which may change it). */
export function placeLive(proc: Process, page: LivePage): void {
  page.f[Live.SLAB_BASE] = proc.hostBase;
  page.f[Live.SLAB_SIZE] = proc.as.slab.size;
  page.f[Live.HOST_PID] = Deno.pid;
  refreshLive(proc, page);
}

/** Unmaps a page mapped by mapLive. */
export function unmapLive(page: LivePage): void {
  libc.munmap(page.address, PAGE);
}

/** Stores `proc`'s current numbers into its page: a walk of the VMAs and the actions, no allocation. */
export function refreshLive(proc: Process, page: LivePage): void {
  const f = page.f;
  let size = 0;
  const list = proc.as.vmas.list;
  for (let i = 0; i < list.length; i++) size += list[i].end - list[i].start;
  f[Live.SIZE] = size;
  f[Live.THREADS] = proc.tasks.length;
  // The mask status shows is the leader's (the task whose tid is the pid), else the first's.
  let leader = proc.tasks[0];
  for (let i = 0; i < proc.tasks.length; i++) {
    if (proc.tasks[i].tid === proc.pid) leader = proc.tasks[i];
  }
  if (leader !== undefined) {
    f[Live.BLK_HI] = leader.signals.maskHi >>> 0;
    f[Live.BLK_LO] = leader.signals.maskLo >>> 0;
  }
  // SIG_IGN (1) and handlers (> 1), bit n-1 for signal n (process_files.ts dispositions).
  let ignHi = 0, ignLo = 0, cgtHi = 0, cgtLo = 0;
  const actions = proc.actions;
  for (let sig = 1; sig <= 64 && sig < actions.length; sig++) {
    const h = actions[sig]?.handler ?? 0;
    if (h === 0) continue;
    const bit = sig <= 32 ? 1 << (sig - 1) : 1 << (sig - 33);
    if (h === 1) {
      if (sig <= 32) ignLo |= bit;
      else ignHi |= bit;
    } else if (sig <= 32) cgtLo |= bit;
    else cgtHi |= bit;
  }
  f[Live.IGN_HI] = ignHi >>> 0;
  f[Live.IGN_LO] = ignLo >>> 0;
  f[Live.CGT_HI] = cgtHi >>> 0;
  f[Live.CGT_LO] = cgtLo >>> 0;
}

/** Another process's page as last stored, or undefined (none: an older elfuse, or no room). */
export function readLive(path: string): Float64Array | undefined {
  try {
    const bytes = Deno.readFileSync(path);
    if (bytes.length < Live.COUNT * 8) return undefined;
    return new Float64Array(bytes.buffer, bytes.byteOffset, Live.COUNT);
  } catch {
    return undefined;
  }
}
