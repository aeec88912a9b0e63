// File metadata and names: stat family, access, permissions, ownership, times, links,
// directories. Paths go through pathAt(); struct layouts that match between host and guest
// (statx, linux_dirent64, statfs, timespec) are written by the host straight into guest memory.
import { hostSyscallNumber } from "../../host/syscall_numbers.ts";
import { mayAccess } from "../file_permission.ts";
import { Slot } from "../scratch.ts";
import { libc } from "../../host/libc.ts";
import { openFlagsToHost } from "../../host/mod.ts";
import { STAT_SIZE, statFromStatx, statx as hostStatx, STATX_SIZE } from "../../host/linux.ts";
import { E } from "../errno.ts";
import type { Task } from "../task.ts";
import { path, pathAt, shownPath, sysVisible } from "../paths.ts";
import {
  isFdDir,
  isProcRoot,
  listFds,
  listFiltered,
  listProcRoot,
  otherExeLink,
  otherTaskDir,
} from "../procfs/mod.ts";
import type { SyscallDef } from "../syscall_def.ts";

const AT_SYMLINK_NOFOLLOW = 0x100, AT_REMOVEDIR = 0x200, AT_EACCESS = 0x200;
const AT_SYMLINK_FOLLOW = 0x400, AT_NO_AUTOMOUNT = 0x800, AT_EMPTY_PATH = 0x1000;
const AT_STATX_SYNC_TYPE = 0x6000;
const STATX_BASIC_STATS = 0x7ff;
/** Scratch offsets: a statx buffer and an empty C string. */
const STATX_SLOT = Slot.STATX, EMPTY_SLOT = Slot.EMPTY_PATH, CWD = Slot.CWD;

/** Whether an *at call's flags follow a symlink in the last component. */
function follows(flags: number): boolean {
  return (flags & AT_SYMLINK_NOFOLLOW) === 0;
}

function hostFd(k: Task, fd: number): number {
  const e = k.proc.fds.get(fd | 0);
  return e === undefined ? -1 : e.hostFd;
}

function emptyPath(k: Task): number {
  k.rt.scratch.u8[EMPTY_SLOT] = 0;
  return k.rt.scratch.address + EMPTY_SLOT;
}

/** Host statx into scratch, then the aarch64 `struct stat` into guest memory. */
function statInto(k: Task, dirfd: number, p: number, flags: number, addr: number): number {
  const out = k.proc.writable(addr, STAT_SIZE); // its slab offset (aliases: Rosetta's image)
  if (out < 0) return -E.EFAULT;
  const r = hostStatx(dirfd, p, flags, STATX_BASIC_STATS, k.rt.scratch.address + STATX_SLOT);
  if (r < 0) return r;
  statFromStatx(k.rt.scratch.view, STATX_SLOT, k.proc.view, out);
  return 0;
}

function fstat(k: Task, a: Float64Array): number {
  const h = hostFd(k, a[0]);
  if (h < 0) return -E.EBADF;
  return statInto(k, h, emptyPath(k), AT_EMPTY_PATH, a[1]);
}

function newfstatat(k: Task, a: Float64Array): number {
  const flags = a[3] >>> 0;
  if ((flags & ~(AT_SYMLINK_NOFOLLOW | AT_NO_AUTOMOUNT | AT_EMPTY_PATH)) !== 0) return -E.EINVAL;
  const p = pathAt(k, a[0], a[1], 0, (flags & AT_EMPTY_PATH) !== 0, follows(flags));
  if (p < 0) return p;
  return statInto(k, k.path.atDir, p, flags, a[2]);
}

function statx(k: Task, a: Float64Array): number {
  const flags = a[2] >>> 0, mask = a[3] >>> 0;
  if (
    (flags & ~(AT_SYMLINK_NOFOLLOW | AT_NO_AUTOMOUNT | AT_EMPTY_PATH | AT_STATX_SYNC_TYPE)) !== 0
  ) return -E.EINVAL;
  if ((flags & AT_STATX_SYNC_TYPE) === AT_STATX_SYNC_TYPE) return -E.EINVAL;
  if ((mask & 0x80000000) !== 0) return -E.EINVAL; // STATX__RESERVED
  const p = pathAt(k, a[0], a[1], 0, (flags & AT_EMPTY_PATH) !== 0, follows(flags));
  if (p < 0) return p;
  const out = k.proc.writable(a[4], STATX_SIZE);
  if (out < 0) return -E.EFAULT;
  return hostStatx(k.path.atDir, p, flags, mask, k.proc.hostBase + out);
}

function access(k: Task, dirfd: number, addr: number, mode: number, flags: number): number {
  if ((mode & ~7) !== 0) return -E.EINVAL;
  if ((flags & ~(AT_EACCESS | AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH)) !== 0) return -E.EINVAL;
  const p = pathAt(k, dirfd, addr, 0, (flags & AT_EMPTY_PATH) !== 0, follows(flags));
  if (p < 0) return p;
  const denied = mayAccess(k, k.path.atDir, p, mode, flags); // the guest's own ids first
  if (denied < 0) return denied;
  return k.host(libc.faccessat(k.path.atDir, p, mode, flags));
}

function readlinkat(k: Task, a: Float64Array): number {
  const size = a[3] | 0;
  if (size <= 0) return -E.EINVAL;
  const s = k.proc.string(a[1]);
  if (typeof s === "number") return s;
  if (s === "/proc/self/exe" || s === `/proc/${k.proc.pid}/exe` || s === "/proc/thread-self/exe") {
    // The guest's own program, never the elfuse host binary.
    const bytes = new TextEncoder().encode(k.proc.info.exePath);
    const n = Math.min(bytes.length, size);
    const buf = k.proc.writable(a[2], n);
    if (buf < 0) return -E.EFAULT;
    k.proc.mem.set(bytes.subarray(0, n), buf);
    return n;
  }
  const other = s.startsWith("/proc/") ? otherExeLink(k, s) : undefined;
  if (other !== undefined) {
    // Another guest process's program, as that guest names it.
    const bytes = new TextEncoder().encode(other);
    const n = Math.min(bytes.length, size);
    const buf = k.proc.writable(a[2], n);
    if (buf < 0) return -E.EFAULT;
    k.proc.mem.set(bytes.subarray(0, n), buf);
    return n;
  }
  const p = pathAt(k, a[0], a[1], 0, true, false); // "" names an O_PATH symlink fd itself
  if (p < 0) return p;
  const buf = k.proc.writable(a[2], size);
  if (buf < 0) return -E.EFAULT;
  const n = k.host(Number(libc.readlinkat(k.path.atDir, p, k.proc.hostBase + buf, size)));
  if (n <= 0 || k.proc.info.sysroot === undefined || !s.startsWith("/proc/")) return n;
  // /proc/self/fd/N and cwd links name host paths: show them without the sysroot prefix.
  const shown = new TextEncoder().encode(
    shownPath(k, new TextDecoder().decode(k.proc.mem.subarray(buf, buf + n))),
  );
  k.proc.mem.set(shown.subarray(0, size), buf);
  return Math.min(shown.length, size);
}

function utimensat(k: Task, a: Float64Array): number {
  const times = a[2], flags = a[3] >>> 0;
  if ((flags & ~(AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH)) !== 0) return -E.EINVAL;
  if (times !== 0 && !k.proc.canRead(times, 32)) return -E.EFAULT;
  const t = times === 0 ? 0 : k.proc.hostBase + times;
  if (a[1] === 0) {
    // A NULL path means the file dirfd refers to (Linux extension used by futimens).
    const h = hostFd(k, a[0]);
    if (h < 0) return -E.EBADF;
    return k.host(libc.futimens(h, t));
  }
  const p = pathAt(k, a[0], a[1], 0, (flags & AT_EMPTY_PATH) !== 0, follows(flags));
  if (p < 0) return p;
  return k.host(libc.utimensat(k.path.atDir, p, t, flags));
}

function statfsInto(k: Task, addr: number, call: (o: number) => number): number {
  const out = k.proc.writable(addr, 120);
  if (out < 0) return -E.EFAULT;
  return k.host(call(k.proc.hostBase + out));
}

function getdents64(k: Task, a: Float64Array): number {
  const e = k.proc.fds.get(a[0] | 0);
  if (e === undefined) return -E.EBADF;
  const buf = a[1], len = Math.min(a[2] >>> 0, 0x7ffff000);
  if (!k.proc.canWrite(buf, len)) return -E.EFAULT;
  // The host's /proc/self/fd would list elfuse's own fds: the guest sees its table.
  if (isFdDir(k, e.path)) return listFds(k, e.hostFd, e.path, buf, len);
  if (isProcRoot(e.path)) return listProcRoot(k, e.hostFd, buf, len);
  const other = e.path.startsWith("/proc/") ? otherTaskDir(k, e.path) : undefined;
  if (other !== undefined) {
    // Another guest process's threads are not known here: its main thread alone (the host's
    // task/ of an elfuse lists Deno's threads).
    const self = String(other);
    return listFiltered(k, e.hostFd, buf, len, (n) => n === "." || n === ".." || n === self);
  }
  // /sys and the directories above what the guest sees of it list only that (paths.ts).
  const dir = e.path.startsWith("/sys") ? e.path.replace(/\/+$/, "") : "";
  if (dir === "/sys" || dir.startsWith("/sys/")) {
    return listFiltered(
      k,
      e.hostFd,
      buf,
      len,
      (name) => name === "." || name === ".." || sysVisible(`${dir}/${name}`),
    );
  }
  return k.host(Number(libc.getdents64(e.hostFd, k.proc.hostBase + buf, len)));
}

function getcwd(k: Task, a: Float64Array): number {
  const size = a[1];
  const s = k.rt.scratch;
  if (Number(libc.getcwd(s.address + CWD, 4096)) === 0) return k.fail();
  let len = s.u8.indexOf(0, CWD) - CWD;
  if (k.proc.info.sysroot !== undefined) {
    // Inside the sysroot the guest sees its own path, never the host prefix.
    const shown = shownPath(k, new TextDecoder().decode(s.u8.subarray(CWD, CWD + len)));
    k.rt.scratchString(shown, CWD);
    len = s.u8.indexOf(0, CWD) - CWD;
  }
  if (size < len + 1) return -E.ERANGE;
  const buf = k.proc.writable(a[0], len + 1);
  if (buf < 0) return -E.EFAULT;
  k.proc.mem.set(s.u8.subarray(CWD, CWD + len + 1), buf);
  return len + 1;
}

function withPath(call: (k: Task, p: number, a: Float64Array) => number) {
  return (k: Task, a: Float64Array): number => {
    const p = path(k, a[0]);
    return p < 0 ? p : k.host(call(k, p, a));
  };
}

function withPathAt(
  call: (k: Task, dir: number, p: number, a: Float64Array) => number,
  flagsArg = -1,
  follow = true,
) {
  return (k: Task, a: Float64Array): number => {
    const flags = flagsArg >= 0 ? a[flagsArg] >>> 0 : 0;
    const emptyOk = (flags & AT_EMPTY_PATH) !== 0;
    const p = pathAt(k, a[0], a[1], 0, emptyOk, follow && follows(flags));
    return p < 0 ? p : k.host(call(k, k.path.atDir, p, a));
  };
}

/** Two-path calls (rename, link): old at (a0, a1), new at (a2, a3); neither follows a last link. */
function twoPaths(
  call: (k: Task, od: number, op: number, nd: number, np: number, a: Float64Array) => number,
  followOld = false,
) {
  return (k: Task, a: Float64Array): number => {
    const op = pathAt(k, a[0], a[1], 0, false, followOld);
    if (op < 0) return op;
    const od = k.path.atDir;
    const np = pathAt(k, a[2], a[3], 1, false, false);
    if (np < 0) return np;
    return k.host(call(k, od, op, k.path.atDir, np, a));
  };
}

function symlinkat(k: Task, a: Float64Array): number {
  const n = k.proc.strlen(a[0]);
  if (n < 0) return n;
  if (n === 0) return -E.ENOENT;
  const target = k.proc.hostBase + a[0];
  const p = pathAt(k, a[1], a[2], 0, false, false);
  if (p < 0) return p;
  return k.host(libc.symlinkat(target, k.path.atDir, p));
}

const S_IFMT = 0o170000, S_IFSOCK = 0o140000, S_IFREG = 0o100000, S_IFBLK = 0o060000;
const S_IFDIR = 0o040000, S_IFCHR = 0o020000, S_IFIFO = 0o010000;
/** The file types mknodat makes (may_mknod: 0 is S_IFREG). */
const NODE_TYPES = new Set([0, S_IFREG, S_IFCHR, S_IFBLK, S_IFIFO, S_IFSOCK]);
/** Linux's O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC (asm-generic/fcntl.h). */
const CREATE_NEW = 0o1 | 0o100 | 0o200 | 0o2000000;
/** The host's AT_SYMLINK_NOFOLLOW (Linux 0x100; Apple's fcntl.h 0x20). */
const hostNoFollow = Deno.build.os === "darwin" ? 0x20 : 0x100;

/**
 * mknodat(2), checked in Linux's order (may_mknod, then the name, then CAP_MKNOD for devices): a
 * regular file is created as open(O_CREAT|O_EXCL) creates one, a FIFO with the host's mkfifoat;
 * socket inodes and, for a guest whose emulated euid is 0 (CAP_MKNOD), device nodes go to the
 * host's own mknodat (Linux hosts), which applies the host's permission as it would to any
 * program of this user. Otherwise a device node gets EPERM, as without CAP_MKNOD.
 */
function mknodat(k: Task, a: Float64Array): number {
  const mode = a[2] >>> 0, perm = mode & 0o7777;
  const type = mode & S_IFMT;
  if (type === S_IFDIR) return -E.EPERM;
  if (!NODE_TYPES.has(type)) return -E.EINVAL;
  const p = pathAt(k, a[0], a[1], 0, false, false);
  if (p < 0) return p;
  const d = k.path.atDir;
  if (type === 0 || type === S_IFREG) {
    const fd = libc.openat(d, p, openFlagsToHost(CREATE_NEW), perm);
    if (fd < 0) return k.host(fd);
    libc.close(fd);
    return 0;
  }
  if (type === S_IFIFO) {
    const mkfifoat = libc.mkfifoat as ((d: number, p: number, m: number) => number) | null;
    return mkfifoat === null ? -E.ENOSYS : k.host(mkfifoat(d, p, perm));
  }
  const nr = Deno.build.os === "linux" ? hostSyscallNumber("mknodat") : undefined;
  const device = type !== S_IFSOCK;
  if (nr !== undefined && (!device || k.proc.creds.privileged)) {
    const dev = BigInt(device ? a[3] >>> 0 : 0); // mknodat takes an unsigned int dev
    return k.host(Number(libc.syscall6(nr, BigInt(d), BigInt(p), BigInt(mode), dev, 0n, 0n)));
  }
  // EEXIST when the name is taken, else EPERM (vfs_mknod's CAP_MKNOD check).
  const taken = libc.fstatat(d, p, k.rt.scratch.address + STATX_SLOT, hostNoFollow) === 0;
  return taken ? -E.EEXIST : -E.EPERM;
}

export const fileSyscalls: SyscallDef[] = [
  { name: "fstat", handler: fstat, args: ["fd", "outbuf"] },
  { name: "newfstatat", handler: newfstatat, args: ["dirfd", "path", "outbuf", "hex"] },
  { name: "statx", handler: statx, args: ["dirfd", "path", "hex", "hex", "outbuf"] },
  {
    name: "faccessat",
    handler: (k, a) => access(k, a[0], a[1], a[2] | 0, 0),
    note:
      "checks the mode against the emulated real ids (AT_EACCESS: the filesystem ids) when they differ from the host's",
    args: ["dirfd", "path", "octal"],
  },
  {
    name: "faccessat2",
    handler: (k, a) => access(k, a[0], a[1], a[2] | 0, a[3] >>> 0),
    note:
      "checks the mode against the emulated real ids (AT_EACCESS: the filesystem ids) when they differ from the host's",
    args: ["dirfd", "path", "octal", "hex"],
  },
  { name: "readlinkat", handler: readlinkat, args: ["dirfd", "path", "outbuf", "uint"] },
  {
    name: "fchmod",
    handler: (k, a) => {
      const e = k.proc.fds.get(a[0] | 0);
      return e === undefined ? -E.EBADF : k.host(libc.fchmod(e.hostFd, (a[1] >>> 0) & 0o7777));
    },
    args: ["fd", "octal"],
  },
  {
    name: "fchmodat",
    handler: withPathAt((_k, d, p, a) => libc.fchmodat(d, p, (a[2] >>> 0) & 0o7777, 0)),
    args: ["dirfd", "path", "octal"],
  },
  {
    name: "fchown",
    handler: (k, a) => {
      const e = k.proc.fds.get(a[0] | 0);
      return e === undefined ? -E.EBADF : k.host(libc.fchown(e.hostFd, a[1] >>> 0, a[2] >>> 0));
    },
    args: ["fd", "int", "int"],
  },
  {
    name: "fchownat",
    handler: (k, a) => {
      const flags = a[4] >>> 0;
      if ((flags & ~(AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH)) !== 0) return -E.EINVAL;
      return withPathAt((_k, d, p, b) => libc.fchownat(d, p, b[2] >>> 0, b[3] >>> 0, flags), 4)(
        k,
        a,
      );
    },
    args: ["dirfd", "path", "int", "int", "hex"],
  },
  { name: "utimensat", handler: utimensat, args: ["dirfd", "path", "ptr", "hex"] },
  {
    name: "truncate",
    handler: (
      k,
      a,
    ) => {
      if (a[1] < 0) return -E.EINVAL;
      const r = withPath((_k, p, b) => libc.truncate(p, b[1]))(k, a);
      if (r === 0) k.proc.as.fileShrank(); // see ftruncate
      return r;
    },
    args: ["path", "int"],
  },
  {
    name: "statfs",
    handler: (k, a) => {
      const p = path(k, a[0]);
      return p < 0 ? p : statfsInto(k, a[1], (o) => libc.statfs(p, o));
    },
    args: ["path", "outbuf"],
  },
  {
    name: "fstatfs",
    handler: (k, a) => {
      const h = hostFd(k, a[0]);
      return h < 0 ? -E.EBADF : statfsInto(k, a[1], (o) => libc.fstatfs(h, o));
    },
    args: ["fd", "outbuf"],
  },
  { name: "getdents64", handler: getdents64, args: ["fd", "outbuf", "uint"] },
  { name: "getcwd", handler: getcwd, args: ["outbuf", "uint"] },
  {
    name: "chdir",
    handler: withPath((k, p) => {
      k.proc.cwdKind = undefined; // paths.ts looks again where it is
      return libc.chdir(p);
    }),
    args: ["path"],
  },
  {
    name: "fchdir",
    handler: (k, a) => {
      const h = hostFd(k, a[0]);
      k.proc.cwdKind = undefined;
      return h < 0 ? -E.EBADF : k.host(libc.fchdir(h));
    },
    args: ["fd"],
  },
  {
    name: "mkdirat",
    handler: withPathAt((_k, d, p, a) => libc.mkdirat(d, p, (a[2] >>> 0) & 0o7777), -1, false),
    args: ["dirfd", "path", "octal"],
  },
  {
    name: "mknodat",
    handler: mknodat,
    args: ["dirfd", "path", "octal", "hex"],
    status: "partial",
    note:
      "regular files and FIFOs (macOS 13 and later); socket inodes, and device nodes for a guest with euid 0, by the host's mknodat on Linux hosts (the host's permission applies); otherwise EPERM, as without CAP_MKNOD",
  },
  {
    name: "unlinkat",
    handler: (k, a) => {
      const flags = a[2] >>> 0;
      if ((flags & ~AT_REMOVEDIR) !== 0) return -E.EINVAL;
      return withPathAt((_k, d, p) => libc.unlinkat(d, p, flags), -1, false)(k, a);
    },
    args: ["dirfd", "path", "hex"],
  },
  {
    name: "renameat",
    handler: twoPaths((_k, od, op, nd, np) => libc.renameat(od, op, nd, np)),
    args: ["dirfd", "path", "dirfd", "path"],
  },
  {
    name: "renameat2",
    handler: twoPaths((_k, od, op, nd, np, a) => libc.renameat2(od, op, nd, np, a[4] >>> 0)),
    args: ["dirfd", "path", "dirfd", "path", "hex"],
  },
  { name: "symlinkat", handler: symlinkat, args: ["path", "dirfd", "path"] },
  {
    name: "linkat",
    handler: (k, a) => {
      const flags = a[4] >>> 0;
      if ((flags & ~(AT_SYMLINK_FOLLOW | AT_EMPTY_PATH)) !== 0) return -E.EINVAL;
      return twoPaths(
        (_k, od, op, nd, np) => libc.linkat(od, op, nd, np, flags),
        (flags & AT_SYMLINK_FOLLOW) !== 0,
      )(k, a);
    },
    args: ["dirfd", "path", "dirfd", "path", "hex"],
  },
];
