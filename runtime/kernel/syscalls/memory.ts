// Memory syscalls: thin adapters from registers to the address space's Linux semantics.
import { Slot } from "../scratch.ts";
import { libc } from "../../host/libc.ts";
import type { MappedFile } from "../../memory/address_space.ts";
import { pageUp } from "../../memory/vmas.ts";
import { statx as hostStatx } from "../../host/linux.ts";
import { E } from "../errno.ts";
import type { Task } from "../task.ts";
import type { SyscallDef } from "../syscall_def.ts";

const MAP_ANONYMOUS = 0x20;
const S_IFMT = 0o170000, S_IFREG = 0o100000, S_IFCHR = 0o020000;
const O_ACCMODE = 3, O_WRONLY = 1, O_RDWR = 2;

/** Resolves the fd of a file mapping: the host fd, size and access mode, or -errno. */
function mappedFile(k: Task, fd: number): MappedFile | number {
  const e = k.proc.fds.get(fd);
  if (e === undefined) return -E.EBADF;
  const s = k.rt.scratch;
  s.u8[Slot.EMPTY_PATH] = 0;
  if (hostStatx(e.hostFd, s.address + Slot.EMPTY_PATH, 0x1000, 0x7ff, s.address + Slot.STATX) < 0) {
    return k.fail();
  }
  const mode = s.view.getUint16(Slot.STATX + 28, true);
  const size = Number(s.view.getBigUint64(Slot.STATX + 40, true));
  const acc = libc.fcntl(e.hostFd, 3, /* F_GETFL */ 0) & O_ACCMODE;
  if (acc === O_WRONLY) return -E.EACCES;
  if ((mode & S_IFMT) === S_IFCHR) {
    const rdevMajor = s.view.getUint32(Slot.STATX + 128, true),
      rdevMinor = s.view.getUint32(Slot.STATX + 132, true);
    if (rdevMajor === 1 && rdevMinor === 5) {
      return { hostFd: -1, size: 0, name: "/dev/zero", writable: true };
    }
    return -E.ENODEV;
  }
  if ((mode & S_IFMT) !== S_IFREG) return -E.ENODEV;
  return { hostFd: e.hostFd, size, name: e.path || "[file]", writable: acc === O_RDWR };
}

function mmap(k: Task, a: Float64Array): number {
  const addr = a[0], len = a[1], prot = a[2] | 0, flags = a[3] | 0, fd = a[4] | 0, off = a[5];
  if ((prot & ~7) !== 0) return -E.EINVAL;
  let file: MappedFile | undefined;
  if ((flags & MAP_ANONYMOUS) === 0) {
    const f = mappedFile(k, fd);
    if (typeof f === "number") return f;
    if (f.hostFd >= 0) file = f; // /dev/zero maps as anonymous memory, as on Linux
  }
  const r = k.proc.as.mmap(addr, len, prot, flags, file, off);
  // mlockall(MCL_FUTURE): new mappings are locked.
  if (k.proc.locks.future && r >= 0 && r < k.proc.as.size) k.proc.locks.add(r, r + pageUp(len));
  return r;
}

/** The host's page size: the slab's residency is known per host page (16 KiB on Apple silicon). */
const HOST_PAGE = Deno.build.os === "darwin" && Deno.build.arch === "aarch64" ? 16384 : 4096;
/** Guest pages per host call: their host pages fit the scratch buffer. */
const MINCORE_CHUNK = 0xffff;

/**
 * mincore(addr, len, vec): whether each page of [addr, addr+len) is resident. The guest's pages
 * are the slab's, so the host's mincore of the slab says it; each guest page gets bit 0 of its
 * host page. Linux's order: EINVAL for an unaligned addr, ENOMEM where the range is not all
 * mapped (PROT_NONE counts as mapped), then EFAULT for vec.
 */
function mincore(k: Task, a: Float64Array): number {
  const addr = a[0], vec = a[2];
  if (addr % 4096 !== 0) return -E.EINVAL;
  const pages = Math.ceil(a[1] / 4096);
  if (pages === 0) return 0;
  if (!k.proc.as.vmas.allows(addr, pages * 4096, 0)) return -E.ENOMEM;
  if (!k.proc.canWrite(vec, pages)) return -E.EFAULT;
  const s = k.rt.scratch, mem = k.proc.mem, base = k.proc.hostBase;
  for (let done = 0; done < pages;) {
    const n = Math.min(pages - done, MINCORE_CHUNK);
    const from = base + addr + done * 4096;
    const hostStart = from - (from % HOST_PAGE);
    if (libc.mincore(hostStart, from + n * 4096 - hostStart, s.address + Slot.BUFFER) !== 0) {
      return k.fail();
    }
    for (let i = 0; i < n; i++) {
      mem[vec + done + i] =
        s.u8[Slot.BUFFER + Math.floor((from + i * 4096 - hostStart) / HOST_PAGE)] & 1;
    }
    done += n;
  }
  return 0;
}

function msync(k: Task, a: Float64Array): number {
  const addr = a[0], len = a[1], flags = a[2] | 0;
  if (addr % 4096 !== 0 || (flags & ~7) !== 0 || (flags & 5) === 5) return -E.EINVAL;
  if (!k.proc.as.vmas.allows(addr, Math.max(1, len), 0)) return -E.ENOMEM;
  // Shared file mappings are host MAP_SHARED pages of the slab: the host msync writes them back.
  return k.host(libc.msync(k.proc.hostBase + addr, len, flags === 0 ? 4 : flags));
}

// On Unicorn, about 1000 memory regions abort the engine: past 900, after merging adjacent ones,
// a change that could add regions fails (runtime/backends/unicorn/backend.ts).
const regionLimit = "on Unicorn, ENOMEM once the mappings pass about 900 regions (Unicorn's limit)";

export const memorySyscalls: SyscallDef[] = [
  {
    name: "brk",
    handler: (k, a) => k.proc.as.brk(a[0]),
    args: ["hex"],
    hexResult: true,
    note: `${regionLimit}: the break stays`,
  },
  {
    name: "mmap",
    handler: mmap,
    args: ["hex", "uint", "hex", "hex", "fd", "hex"],
    hexResult: true,
    status: "partial",
    note:
      "anonymous and regular-file mappings, private and shared (shared ones stay shared with fork children; MAP_SHARED|MAP_ANONYMOUS is a host memfd, private on macOS hosts), MAP_FIXED(_NOREPLACE), hints; pages wholly past a file's end raise SIGBUS (BUS_ADRERR) until the file grows over them, also after a shrink; " +
      regionLimit,
  },
  { name: "munmap", handler: (k, a) => k.proc.as.munmap(a[0], a[1]), args: ["hex", "uint"] },
  {
    name: "mprotect",
    handler: (k, a) => k.proc.as.mprotect(a[0], a[1], a[2] | 0),
    args: ["hex", "uint", "hex"],
    note: regionLimit,
  },
  {
    name: "mremap",
    handler: (k, a) => k.proc.as.mremap(a[0], a[1], a[2], a[3] | 0, a[4]),
    args: ["hex", "uint", "uint", "hex", "hex"],
    hexResult: true,
    status: "partial",
    note: "private and anonymous mappings; moving a shared file mapping returns EINVAL; " +
      regionLimit,
  },
  {
    name: "madvise",
    handler: (k, a) => k.proc.as.madvise(a[0], a[1], a[2] | 0),
    args: ["hex", "uint", "int"],
    status: "partial",
    note:
      "MADV_DONTNEED zeroes private anonymous pages; other advice is accepted and has no effect",
  },
  { name: "msync", handler: msync, args: ["hex", "uint", "hex"] },
  { name: "mincore", handler: mincore, args: ["hex", "uint", "outbuf"] },
];
