// Opening, closing and duplicating descriptors; fcntl; pipes; terminal and fd ioctls.
import { libc } from "../../host/libc.ts";
import { openFlagsFromHost, openFlagsToHost } from "../../host/mod.ts";
import { E } from "../errno.ts";
import type { Task } from "../task.ts";
import { pathAt } from "../paths.ts";
import { openRendered } from "../procfs.ts";
import type { SyscallDef } from "../syscall_def.ts";

const O_CLOEXEC = 0o2000000;
const F_DUPFD = 0, F_GETFD = 1, F_SETFD = 2, F_GETFL = 3, F_SETFL = 4;
const F_DUPFD_CLOEXEC = 1030;
const FD_CLOEXEC = 1;

/** Installs a new host fd at the lowest free guest fd >= min; closes it on failure. */
export function install(
  k: Task,
  hostFd: number,
  cloexec: boolean,
  path: string,
  min = 0,
): number {
  const fd = k.proc.fds.lowestFree(min);
  if (fd < 0) {
    libc.close(hostFd);
    return -E.EMFILE;
  }
  k.proc.fds.set(fd, { hostFd, cloexec, path });
  return fd;
}

// aarch64 open flags that decide whether a symlink in the last component is followed.
const O_CREAT_EXCL = 0o300, O_NOFOLLOW = 0o100000;

function openat(k: Task, a: Float64Array): number {
  const flags = a[2] >>> 0;
  const follow = (flags & O_NOFOLLOW) === 0 && (flags & O_CREAT_EXCL) !== O_CREAT_EXCL;
  const p = pathAt(k, a[0], a[1], 0, false, follow);
  if (p < 0) return p;
  if (k.path.procRest !== undefined) {
    if ((flags & 3) !== 0) return -E.EACCES; // rendered /proc files are read-only
    const h = openRendered(k, k.path.procRest);
    return h < 0 ? h : install(k, h, (flags & O_CLOEXEC) !== 0, k.proc.string(a[1]) as string);
  }
  // The host fd is always close-on-exec: exec of host programs must not inherit guest files.
  const h = libc.openat(k.path.atDir, p, openFlagsToHost(flags) | O_CLOEXEC, (a[3] >>> 0) & 0o7777);
  if (h < 0) return k.fail();
  return install(k, h, (flags & O_CLOEXEC) !== 0, k.proc.string(a[1]) as string);
}

function close(k: Task, a: Float64Array): number {
  const e = k.proc.fds.take(a[0] | 0);
  if (e === undefined) return -E.EBADF;
  // Linux closes the fd even when close reports an error (EINTR/EIO): keep the same.
  return libc.close(e.hostFd) < 0 ? k.fail() : 0;
}

const CLOSE_RANGE_UNSHARE = 2, CLOSE_RANGE_CLOEXEC = 4;

function closeRange(k: Task, a: Float64Array): number {
  const first = a[0] >>> 0, last = a[1] >>> 0, flags = a[2] >>> 0;
  if ((flags & ~(CLOSE_RANGE_UNSHARE | CLOSE_RANGE_CLOEXEC)) !== 0 || first > last) {
    return -E.EINVAL;
  }
  const top = Math.min(last, k.proc.fds.entries.length - 1);
  for (let fd = first; fd <= top; fd++) {
    const e = k.proc.fds.get(fd);
    if (e === undefined) continue;
    if (flags & CLOSE_RANGE_CLOEXEC) e.cloexec = true;
    else libc.close(k.proc.fds.take(fd)!.hostFd);
  }
  return 0;
}

/** Duplicates guest fd `old` to the lowest free fd >= min (or exactly `at`). */
function duplicate(k: Task, old: number, cloexec: boolean, min: number, at = -1): number {
  const e = k.proc.fds.get(old);
  if (e === undefined) return -E.EBADF;
  const h = libc.fcntl(e.hostFd, F_DUPFD_CLOEXEC, 0);
  if (h < 0) return k.fail();
  if (at < 0) return install(k, h, cloexec, e.path, min);
  if (at >= k.proc.fds.limit) {
    libc.close(h);
    return -E.EBADF;
  }
  const prev = k.proc.fds.take(at);
  if (prev !== undefined) libc.close(prev.hostFd);
  k.proc.fds.set(at, { hostFd: h, cloexec, path: e.path });
  return at;
}

function dup(k: Task, a: Float64Array): number {
  return duplicate(k, a[0] | 0, false, 0);
}

function dup3(k: Task, a: Float64Array): number {
  const old = a[0] | 0, nfd = a[1] | 0, flags = a[2] >>> 0;
  if ((flags & ~O_CLOEXEC) !== 0 || old === nfd) return k.proc.fds.get(old) ? -E.EINVAL : -E.EBADF;
  if (nfd < 0) return -E.EBADF;
  return duplicate(k, old, (flags & O_CLOEXEC) !== 0, 0, nfd);
}

function fcntl(k: Task, a: Float64Array): number {
  const fd = a[0] | 0, cmd = a[1] | 0, arg = a[2];
  const e = k.proc.fds.get(fd);
  if (e === undefined) return -E.EBADF;
  switch (cmd) {
    case F_DUPFD:
    case F_DUPFD_CLOEXEC: {
      const min = arg | 0;
      if (min < 0 || min >= k.proc.fds.limit) return -E.EINVAL;
      return duplicate(k, fd, cmd === F_DUPFD_CLOEXEC, min);
    }
    case F_GETFD:
      return e.cloexec ? FD_CLOEXEC : 0;
    case F_SETFD:
      e.cloexec = ((arg | 0) & FD_CLOEXEC) !== 0;
      return 0;
    case F_GETFL: {
      const r = libc.fcntl(e.hostFd, F_GETFL, 0);
      return r < 0 ? k.fail() : openFlagsFromHost(r) & ~O_CLOEXEC;
    }
    case F_SETFL:
      return k.host(libc.fcntl(e.hostFd, F_SETFL, openFlagsToHost(arg >>> 0)));
    case 5: // F_GETLK
    case 6: // F_SETLK
    case 7: // F_SETLKW
    case 36: // F_OFD_GETLK
    case 37: // F_OFD_SETLK
    case 38: {
      // F_OFD_SETLKW. struct flock is laid out alike on every 64-bit Linux (32 bytes).
      const write = cmd === 5 || cmd === 36;
      if (!(write ? k.proc.canWrite(arg, 32) : k.proc.canRead(arg, 32))) return -E.EFAULT;
      return k.host(libc.fcntl(e.hostFd, cmd, k.proc.hostBase + arg));
    }
    case 1025: // F_GETLEASE
    case 1033: // F_GET_SEALS
      return -E.EINVAL;
    case 1031: // F_SETPIPE_SZ
    case 1032: // F_GETPIPE_SZ
    case 8: // F_SETOWN
    case 9: // F_GETOWN
      return k.host(libc.fcntl(e.hostFd, cmd, arg | 0));
  }
  return -E.EINVAL;
}

function pipe2(k: Task, a: Float64Array): number {
  const addr = a[0], flags = a[1] >>> 0;
  const O_NONBLOCK = 0o4000;
  if ((flags & ~(O_CLOEXEC | O_NONBLOCK | 0o200000 /* O_DIRECT (aarch64) */)) !== 0) {
    return -E.EINVAL;
  }
  if (!k.proc.canWrite(addr, 8)) return -E.EFAULT;
  const s = k.rt.scratch;
  if (libc.pipe2(s.address, openFlagsToHost(flags) | O_CLOEXEC) < 0) return k.fail();
  const r = s.view.getInt32(0, true), w = s.view.getInt32(4, true);
  const cloexec = (flags & O_CLOEXEC) !== 0;
  const rfd = install(k, r, cloexec, "pipe:");
  if (rfd < 0) {
    libc.close(w);
    return rfd;
  }
  const wfd = install(k, w, cloexec, "pipe:");
  if (wfd < 0) {
    libc.close(k.proc.fds.take(rfd)!.hostFd);
    return wfd;
  }
  k.proc.view.setInt32(addr, rfd, true);
  k.proc.view.setInt32(addr + 4, wfd, true);
  return 0;
}

// ioctl requests (asm-generic/ioctls.h, identical on x86_64 and aarch64 Linux), with the size of
// the argument struct the kernel reads or writes, or 0 for an int passed by value.
const TCGETS = 0x5401, TCSETS = 0x5402, TCSETSW = 0x5403, TCSETSF = 0x5404;
const TIOCGPGRP = 0x540f, TIOCSPGRP = 0x5410, TIOCGWINSZ = 0x5413, TIOCSWINSZ = 0x5414;
const FIONREAD = 0x541b, FIONBIO = 0x5421, FIONCLEX = 0x5450, FIOCLEX = 0x5451;
const TIOCGSID = 0x5429, TIOCSCTTY = 0x540e;
const passthrough: Record<number, { size: number; write: boolean }> = {
  [TCGETS]: { size: 36, write: true },
  [TCSETS]: { size: 36, write: false },
  [TCSETSW]: { size: 36, write: false },
  [TCSETSF]: { size: 36, write: false },
  [TIOCGPGRP]: { size: 4, write: true },
  [TIOCSPGRP]: { size: 4, write: false },
  [TIOCGWINSZ]: { size: 8, write: true },
  [TIOCSWINSZ]: { size: 8, write: false },
  [FIONREAD]: { size: 4, write: true },
  [FIONBIO]: { size: 4, write: false },
  [TIOCGSID]: { size: 4, write: true },
};

function ioctl(k: Task, a: Float64Array): number {
  const e = k.proc.fds.get(a[0] | 0);
  if (e === undefined) return -E.EBADF;
  const req = a[1] >>> 0, arg = a[2];
  if (req === FIOCLEX || req === FIONCLEX) {
    e.cloexec = req === FIOCLEX;
    return 0;
  }
  if (req === TIOCSCTTY) return -E.EPERM;
  const p = passthrough[req];
  if (p === undefined) return -E.ENOTTY;
  const ok = p.write ? k.proc.canWrite(arg, p.size) : k.proc.canRead(arg, p.size);
  if (!ok) return -E.EFAULT;
  return k.host(libc.ioctl(e.hostFd, req, k.proc.hostBase + arg));
}

export const fdSyscalls: SyscallDef[] = [
  { name: "openat", handler: openat, args: ["dirfd", "path", "oflags", "octal"] },
  { name: "close", handler: close, args: ["fd"] },
  { name: "close_range", handler: closeRange, args: ["uint", "uint", "hex"] },
  { name: "dup", handler: dup, args: ["fd"] },
  { name: "dup3", handler: dup3, args: ["fd", "fd", "oflags"] },
  {
    name: "fcntl",
    handler: fcntl,
    args: ["fd", "int", "hex"],
    status: "partial",
    note:
      "F_DUPFD(_CLOEXEC), F_GETFD/SETFD, F_GETFL/SETFL, record and OFD locks, pipe size, owner; no leases or seals",
  },
  { name: "pipe2", handler: pipe2, args: ["outbuf", "oflags"] },
  {
    name: "ioctl",
    handler: ioctl,
    args: ["fd", "hex", "ptr"],
    status: "partial",
    note:
      "terminal (TCGETS, TCSETS*, TIOCGWINSZ/SWINSZ, TIOCGPGRP/SPGRP, TIOCGSID) and FIONREAD, FIONBIO, FIOCLEX, FIONCLEX; others ENOTTY",
  },
];
