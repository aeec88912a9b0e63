// Opening, closing and duplicating descriptors; fcntl; pipes; terminal and fd ioctls.
import { ERESTARTSYS, Outcome } from "../wait.ts";
import { libc } from "../../host/libc.ts";
import { openFlagsFromHost, openFlagsToHost } from "../../host/mod.ts";
import { E } from "../errno.ts";
import type { Task } from "../task.ts";
import { pathAt } from "../paths.ts";
import { openRendered, openRenderedForWriting } from "../procfs/mod.ts";
import { mayOpen } from "../file_permission.ts";
import type { SyscallDef } from "../syscall_def.ts";
import { closeEntry, type Description, dupEntry } from "../fdtable.ts";
import { Slot } from "../scratch.ts";

const O_CLOEXEC = 0o2000000;
const F_DUPFD = 0, F_GETFD = 1, F_SETFD = 2, F_GETFL = 3, F_SETFL = 4;
const F_DUPFD_CLOEXEC = 1030;
const FD_CLOEXEC = 1;

/**
 * Installs a new host fd at the lowest free guest fd >= min; closes it on failure. `file`: the
 * emulated description it stands for (fdtable.ts), if any.
 */
export function install(
  k: Task,
  hostFd: number,
  cloexec: boolean,
  path: string,
  min = 0,
  file?: Description,
): number {
  const fd = k.proc.fds.lowestFree(min);
  if (fd < 0) {
    libc.close(hostFd);
    if (file !== undefined && file.refs === 0) file.release();
    return -E.EMFILE;
  }
  k.proc.fds.set(fd, { hostFd, cloexec, path, file });
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
    const h = (flags & 3) === 0
      ? openRendered(k, k.path.procRest)
      : openRenderedForWriting(k, flags);
    return h < 0 ? h : install(k, h, (flags & O_CLOEXEC) !== 0, k.proc.string(a[1]) as string);
  }
  // A guest whose ids are not the host's: its own permission check first (file_permission.ts).
  const denied = mayOpen(k, k.path.atDir, p, flags, follow);
  if (denied < 0) return denied;
  // The host fd is always close-on-exec: exec of host programs must not inherit guest files.
  const h = libc.openat(k.path.atDir, p, openFlagsToHost(flags) | O_CLOEXEC, (a[3] >>> 0) & 0o7777);
  if (h < 0) return k.fail();
  // A /proc or /dev/fd path is recorded canonical: relative paths from it and getdents64 on it
  // then see the guest's view (paths.ts procView, procfs/fd_dir.ts listFds).
  const shown = k.path.shown ?? (k.proc.string(a[1]) as string);
  return install(k, h, (flags & O_CLOEXEC) !== 0, shown);
}

function close(k: Task, a: Float64Array): number {
  const e = k.proc.fds.take(a[0] | 0);
  if (e === undefined) return -E.EBADF;
  // Linux closes the fd even when close reports an error (EINTR/EIO): keep the same.
  return closeEntry(e) < 0 ? k.fail() : 0;
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
    else k.proc.fds.close(fd);
  }
  return 0;
}

/** Duplicates guest fd `old` to the lowest free fd >= min (or exactly `at`). */
function duplicate(k: Task, old: number, cloexec: boolean, min: number, at = -1): number {
  const e = k.proc.fds.get(old);
  if (e === undefined) return -E.EBADF;
  const h = libc.fcntl(e.hostFd, F_DUPFD_CLOEXEC, 0);
  if (h < 0) return k.fail();
  if (at < 0) return install(k, h, cloexec, e.path, min, e.file);
  if (at >= k.proc.fds.limit) {
    libc.close(h);
    return -E.EBADF;
  }
  k.proc.fds.close(at);
  k.proc.fds.set(at, dupEntry(e, h, cloexec));
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

/** How often a thread waiting for a record lock or flock held elsewhere tries again. */
const LOCK_RETRY_MS = 5;

/**
 * F_SETLKW / F_OFD_SETLKW with other threads in the process: the host's waiting call would stop
 * them all, so the lock is tried without waiting and the thread parks a little before trying
 * again (a host lock gives no fd to wait on). A handled signal ends the wait (EINTR or restart).
 */
function waitForLock(k: Task, hostFd: number, cmd: number, arg: number): number {
  if (k.resumed()?.outcome === Outcome.Signal) return -ERESTARTSYS;
  const r = libc.fcntl(hostFd, cmd === 7 ? 6 : 37, k.proc.hostBase + arg); // F_SETLK, F_OFD_SETLK
  if (r >= 0) return r;
  const err = k.fail();
  if (err !== -E.EAGAIN && err !== -E.EACCES) return err;
  return k.block({ deadline: performance.now() + LOCK_RETRY_MS });
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
      if ((cmd === 7 || cmd === 38) && k.proc.tasks.length > 1) {
        return waitForLock(k, e.hostFd, cmd, arg);
      }
      return k.host(libc.fcntl(e.hostFd, cmd, k.proc.hostBase + arg));
    }
    case 1025: // F_GETLEASE
      return -E.EINVAL;
    case 1033: // F_ADD_SEALS: the seal bits (F_SEAL_*) are the same on every Linux
    case 1034: // F_GET_SEALS
      return k.host(libc.fcntl(e.hostFd, cmd, arg >>> 0));
    case 1031: // F_SETPIPE_SZ
    case 1032: // F_GETPIPE_SZ
    case 8: // F_SETOWN
    case 9: // F_GETOWN
      return k.host(libc.fcntl(e.hostFd, cmd, arg | 0));
  }
  return -E.EINVAL;
}

const MFD_CLOEXEC = 1, MFD_ALLOW_SEALING = 2, MFD_HUGETLB = 4, MFD_NOEXEC_SEAL = 8, MFD_EXEC = 0x10;
/** MFD_HUGETLB's page-size field (MFD_HUGE_SHIFT 26, 6 bits). */
const MFD_HUGE_MASK = 0x3f << 26;
const MFD_NAME_MAX = 249; // NAME_MAX - strlen("memfd:")

/** memfd_create: the host's memfd (Linux); seals through fcntl F_ADD_SEALS/F_GET_SEALS. */
function memfdCreate(k: Task, a: Float64Array): number {
  const flags = a[1] >>> 0;
  const known = MFD_CLOEXEC | MFD_ALLOW_SEALING | MFD_HUGETLB | MFD_NOEXEC_SEAL | MFD_EXEC;
  if ((flags & ~(known | MFD_HUGE_MASK)) !== 0) return -E.EINVAL;
  if ((flags & MFD_HUGE_MASK) !== 0 && (flags & MFD_HUGETLB) === 0) return -E.EINVAL;
  const name = k.proc.string(a[0], MFD_NAME_MAX + 1);
  if (typeof name === "number") return name === -E.ENAMETOOLONG ? -E.EINVAL : name;
  if (Deno.build.os !== "linux") return -E.ENOSYS;
  const h = libc.memfd_create(k.proc.hostBase + a[0], flags | MFD_CLOEXEC);
  if (h < 0) return k.fail();
  return install(k, h, (flags & MFD_CLOEXEC) !== 0, `/memfd:${name} (deleted)`);
}

const LOCK_SH = 1, LOCK_EX = 2, LOCK_NB = 4, LOCK_UN = 8;

/**
 * flock: the host's lock on the host's open file description, which dups and fork children share
 * as Linux's do. A blocking lock in a process with other threads is tried with LOCK_NB and the
 * thread parks between tries, so the others run; signals end the wait as Linux's (ERESTARTSYS).
 */
function flock(k: Task, a: Float64Array): number {
  const e = k.proc.fds.get(a[0] | 0);
  if (e === undefined) return -E.EBADF;
  const op = a[1] | 0, kind = op & ~LOCK_NB;
  if (kind !== LOCK_SH && kind !== LOCK_EX && kind !== LOCK_UN) return -E.EINVAL;
  if (k.proc.tasks.length === 1 || (op & LOCK_NB) !== 0 || kind === LOCK_UN) {
    return k.host(libc.flock(e.hostFd, op));
  }
  if (k.resumed()?.outcome === Outcome.Signal) return -ERESTARTSYS;
  if (libc.flock(e.hostFd, op | LOCK_NB) === 0) return 0;
  const r = k.fail();
  if (r !== -E.EAGAIN) return r;
  return k.block({ deadline: performance.now() + LOCK_RETRY_MS });
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
    k.proc.fds.close(rfd);
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
const TIOCGSID = 0x5429, TIOCSCTTY = 0x540e, TIOCOUTQ = 0x5411, TIOCNOTTY = 0x5422;
// Pseudo-terminals (asm-generic/ioctls.h): the guest's ptys are the host's (/dev/ptmx, /dev/pts).
const TIOCGPTN = 0x80045430, TIOCSPTLCK = 0x40045431, TIOCGPTLCK = 0x80045439;
const TIOCPKT = 0x5420, TIOCGPKT = 0x80045438, TIOCSIG = 0x40045436, TIOCGPTPEER = 0x5441;
const TIOCEXCL = 0x540c, TIOCNXCL = 0x540d, TIOCGEXCL = 0x80045440, TIOCSTI = 0x5412;
const TCSBRK = 0x5409, TCXONC = 0x540a, TCFLSH = 0x540b, TIOCSBRK = 0x5427, TIOCCBRK = 0x5428;
const TIOCMGET = 0x5415, TIOCMSET = 0x5418, TIOCGETD = 0x5424, TIOCSETD = 0x5423;
const SIOCATMARK = 0x8905, SIOCGIFCONF = 0x8912, IFREQ_SIZE = 40;
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
  [TIOCOUTQ]: { size: 4, write: true }, // SIOCOUTQ on sockets
  [TIOCGPTN]: { size: 4, write: true },
  [TIOCSPTLCK]: { size: 4, write: false },
  [TIOCGPTLCK]: { size: 4, write: true },
  [TIOCPKT]: { size: 4, write: false },
  [TIOCGPKT]: { size: 4, write: true },
  [TIOCGEXCL]: { size: 4, write: true },
  [TIOCSTI]: { size: 1, write: false },
  [TIOCMGET]: { size: 4, write: true },
  [TIOCMSET]: { size: 4, write: false },
  [TIOCGETD]: { size: 4, write: true },
  [TIOCSETD]: { size: 4, write: false },
  // An int by value, or no argument.
  [TIOCSCTTY]: { size: 0, write: false },
  [TIOCNOTTY]: { size: 0, write: false },
  [TIOCSIG]: { size: 0, write: false },
  [TIOCEXCL]: { size: 0, write: false },
  [TIOCNXCL]: { size: 0, write: false },
  [TCSBRK]: { size: 0, write: false },
  [TCXONC]: { size: 0, write: false },
  [TCFLSH]: { size: 0, write: false },
  [TIOCSBRK]: { size: 0, write: false },
  [TIOCCBRK]: { size: 0, write: false },
  [SIOCATMARK]: { size: 4, write: true },
  // Interface queries on a socket (include/uapi/linux/sockios.h): struct ifreq, 40 bytes on every
  // 64-bit Linux, name in, answer out; if_nametoindex and if_indextoname use these.
  ...Object.fromEntries(
    [
      0x8910, // SIOCGIFNAME
      0x8913, // SIOCGIFFLAGS
      0x8915, // SIOCGIFADDR
      0x8917, // SIOCGIFDSTADDR
      0x8919, // SIOCGIFBRDADDR
      0x891b, // SIOCGIFNETMASK
      0x891d, // SIOCGIFMETRIC
      0x8921, // SIOCGIFMTU
      0x8927, // SIOCGIFHWADDR
      0x8933, // SIOCGIFINDEX
      0x8942, // SIOCGIFTXQLEN
    ].map((req) => [req, { size: IFREQ_SIZE, write: true }]),
  ),
};

function ioctl(k: Task, a: Float64Array): number {
  const e = k.proc.fds.get(a[0] | 0);
  if (e === undefined) return -E.EBADF;
  const req = a[1] >>> 0, arg = a[2];
  if (req === FIOCLEX || req === FIONCLEX) {
    e.cloexec = req === FIOCLEX;
    return 0;
  }
  if (req === SIOCGIFCONF) return ifconf(k, e.hostFd, arg);
  if (req === TIOCGPTPEER) return ptyPeer(k, e.hostFd, arg >>> 0);
  const p = passthrough[req];
  if (p === undefined) {
    // Rosetta's VZ ioctls (x86/rosetta.ts): checked only for requests no host device takes.
    return k.proc.vzIoctl?.(e.path, req, arg) ?? -E.ENOTTY;
  }
  if (p.size === 0) return k.host(libc.ioctl(e.hostFd, req, arg >>> 0));
  const ok = p.write ? k.proc.canWrite(arg, p.size) : k.proc.canRead(arg, p.size);
  if (!ok) return -E.EFAULT;
  return k.host(libc.ioctl(e.hostFd, req, k.proc.hostBase + arg));
}

/**
 * TIOCGPTPEER (Linux 4.13): opens the pty's slave with `flags` and returns the new fd, which
 * becomes a guest fd (the host's close-on-exec always, the guest's as asked).
 */
function ptyPeer(k: Task, hostFd: number, flags: number): number {
  const h = libc.ioctl(hostFd, TIOCGPTPEER, openFlagsToHost(flags) | O_CLOEXEC);
  if (h < 0) return k.fail();
  const s = k.rt.scratch;
  const n = libc.ioctl(hostFd, TIOCGPTN, s.address + Slot.BUFFER) < 0
    ? ""
    : String(s.view.getUint32(Slot.BUFFER, true));
  return install(k, h, (flags & O_CLOEXEC) !== 0, `/dev/pts/${n}`);
}

/**
 * SIOCGIFCONF: struct ifconf { int len; char *buf; } holds a guest pointer, so the host gets a
 * copy with the buffer's host address; the length it answers goes back (a NULL buffer asks for
 * the length needed).
 */
function ifconf(k: Task, h: number, arg: number): number {
  if (!k.proc.canWrite(arg, 16)) return -E.EFAULT;
  const len = k.proc.view.getInt32(arg, true), buf = k.proc.readU64(arg + 8);
  if (buf !== 0 && len > 0 && !k.proc.canWrite(buf, len)) return -E.EFAULT;
  const s = k.rt.scratch, at = Slot.SOCKOPT;
  s.view.setInt32(at, len, true);
  s.view.setBigUint64(at + 8, BigInt(buf === 0 ? 0 : k.proc.hostBase + buf), true);
  if (libc.ioctl(h, SIOCGIFCONF, s.address + at) < 0) return k.fail();
  k.proc.view.setInt32(arg, s.view.getInt32(at, true), true);
  return 0;
}

export const fdSyscalls: SyscallDef[] = [
  {
    name: "openat",
    handler: openat,
    args: ["dirfd", "path", "oflags", "octal"],
    note:
      "the file's mode is checked against the guest's emulated ids when they differ from the host's (not the directories' search bits)",
  },
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
      "F_DUPFD(_CLOEXEC), F_GETFD/SETFD, F_GETFL/SETFL, record and OFD locks, pipe size, owner, seals; no leases",
  },
  { name: "pipe2", handler: pipe2, args: ["outbuf", "oflags"] },
  {
    name: "memfd_create",
    handler: memfdCreate,
    args: ["path", "hex"],
    status: "partial",
    note: "the host's memfd, with seals (F_ADD_SEALS, F_GET_SEALS); ENOSYS on macOS",
  },
  {
    name: "flock",
    handler: flock,
    args: ["fd", "hex"],
    note: "the host's lock; a waiting thread lets the others run (it tries again every 5 ms)",
  },
  {
    name: "ioctl",
    handler: ioctl,
    args: ["fd", "hex", "ptr"],
    status: "partial",
    note:
      "terminal (TCGETS, TCSETS*, TIOCGWINSZ/SWINSZ, TIOCGPGRP/SPGRP, TIOCGSID, TIOCSCTTY, TIOCNOTTY, TCSBRK, TCXONC, TCFLSH, TIOCSTI, TIOCEXCL/NXCL/GEXCL, TIOCM*, TIOCGETD/SETD), host ptys (TIOCGPTN, TIOCSPTLCK/GPTLCK, TIOCPKT/GPKT, TIOCSIG, TIOCGPTPEER), FIONREAD, FIONBIO, FIOCLEX, FIONCLEX, and on sockets SIOCOUTQ, SIOCATMARK and the SIOCGIF* interface queries (SIOCGIFCONF, NAME, INDEX, FLAGS, ADDR, NETMASK, BRDADDR, DSTADDR, MTU, HWADDR, METRIC, TXQLEN); others ENOTTY",
  },
];
