// macOS host translation tables: Linux (guest) values to and from XNU's (host). The numbers are
// from XNU's <sys/errno.h>, <sys/fcntl.h>, <sys/poll.h>, <time.h> and <sys/stat.h> (arm64, 64-bit
// inodes). Unit-tested here; exercised for real only on a Mac.
import { E } from "../kernel/errno.ts";
import { hostErrno } from "./libc.ts";

/** XNU errno numbers by name; names match Linux's where the meaning matches. */
const xnuErrno: Record<string, number> = {
  EPERM: 1,
  ENOENT: 2,
  ESRCH: 3,
  EINTR: 4,
  EIO: 5,
  ENXIO: 6,
  E2BIG: 7,
  ENOEXEC: 8,
  EBADF: 9,
  ECHILD: 10,
  EDEADLK: 11,
  ENOMEM: 12,
  EACCES: 13,
  EFAULT: 14,
  ENOTBLK: 15,
  EBUSY: 16,
  EEXIST: 17,
  EXDEV: 18,
  ENODEV: 19,
  ENOTDIR: 20,
  EISDIR: 21,
  EINVAL: 22,
  ENFILE: 23,
  EMFILE: 24,
  ENOTTY: 25,
  ETXTBSY: 26,
  EFBIG: 27,
  ENOSPC: 28,
  ESPIPE: 29,
  EROFS: 30,
  EMLINK: 31,
  EPIPE: 32,
  EDOM: 33,
  ERANGE: 34,
  EAGAIN: 35,
  EINPROGRESS: 36,
  EALREADY: 37,
  ENOTSOCK: 38,
  EDESTADDRREQ: 39,
  EMSGSIZE: 40,
  EPROTOTYPE: 41,
  ENOPROTOOPT: 42,
  EPROTONOSUPPORT: 43,
  ESOCKTNOSUPPORT: 44,
  EOPNOTSUPP: 45,
  EPFNOSUPPORT: 46,
  EAFNOSUPPORT: 47,
  EADDRINUSE: 48,
  EADDRNOTAVAIL: 49,
  ENETDOWN: 50,
  ENETUNREACH: 51,
  ENETRESET: 52,
  ECONNABORTED: 53,
  ECONNRESET: 54,
  ENOBUFS: 55,
  EISCONN: 56,
  ENOTCONN: 57,
  ESHUTDOWN: 58,
  ETOOMANYREFS: 59,
  ETIMEDOUT: 60,
  ECONNREFUSED: 61,
  ELOOP: 62,
  ENAMETOOLONG: 63,
  EHOSTDOWN: 64,
  EHOSTUNREACH: 65,
  ENOTEMPTY: 66,
  EUSERS: 68,
  EDQUOT: 69,
  ESTALE: 70,
  EREMOTE: 71,
  ENOLCK: 77,
  ENOSYS: 78,
  EOVERFLOW: 84,
  ECANCELED: 89,
  EIDRM: 90,
  ENOMSG: 91,
  EILSEQ: 92,
  EBADMSG: 94,
  EMULTIHOP: 95,
  ENODATA: 96,
  ENOLINK: 97,
  ENOSR: 98,
  ENOSTR: 99,
  EPROTO: 100,
  ETIME: 101,
  ENOTRECOVERABLE: 104,
  EOWNERDEAD: 105,
};
/** XNU-only errors and the Linux error a Linux program expects instead. */
const xnuOnly: Record<number, number> = {
  67: E.EUSERS, // EPROCLIM
  72: E.EINVAL, // EBADRPC
  79: E.EINVAL, // EFTYPE
  80: E.EACCES, // EAUTH
  86: E.ENOEXEC, // EBADARCH
  93: E.ENODATA, // ENOATTR
  102: E.EOPNOTSUPP, // XNU's socket EOPNOTSUPP (45 is ENOTSUP)
};

const toLinuxErrno: number[] = [];
for (const [name, n] of Object.entries(xnuErrno)) {
  toLinuxErrno[n] = (E as Record<string, number>)[name];
}
for (const [n, linux] of Object.entries(xnuOnly)) toLinuxErrno[Number(n)] = linux;

/** A host (XNU) errno as the Linux errno the guest sees (EIO for anything unknown). */
export function errnoToLinux(n: number): number {
  return toLinuxErrno[n] ?? E.EIO;
}

export function errno(): number {
  return errnoToLinux(hostErrno());
}

/** [Linux aarch64 open flag, XNU flag]. O_LARGEFILE and O_NOATIME have no XNU meaning. */
const openFlagPairs: [number, number][] = [
  [0o100, 0x200], // O_CREAT
  [0o200, 0x800], // O_EXCL
  [0o400, 0x20000], // O_NOCTTY
  [0o1000, 0x400], // O_TRUNC
  [0o2000, 0x8], // O_APPEND
  [0o4000, 0x4], // O_NONBLOCK
  [0o10000, 0x400000], // O_DSYNC
  [0o4000000, 0x80], // __O_SYNC (O_SYNC is O_DSYNC|__O_SYNC)
  [0o40000, 0x100000], // O_DIRECTORY (aarch64 numbering)
  [0o100000, 0x100], // O_NOFOLLOW (aarch64 numbering)
  [0o2000000, 0x1000000], // O_CLOEXEC
];
/** Linux open flags XNU cannot honour: the open fails with EINVAL instead of pretending. */
export const unsupportedOpenFlags = 0o10000000 /* O_PATH */ | 0o20000000 /* __O_TMPFILE */;

export function openFlagsToHost(flags: number): number {
  let out = flags & 3; // O_ACCMODE is the same
  for (const [l, x] of openFlagPairs) if (flags & l) out |= x;
  return out;
}

export function openFlagsFromHost(flags: number): number {
  let out = flags & 3;
  for (const [l, x] of openFlagPairs) if (flags & x) out |= l;
  return out;
}

/** Linux clock id to XNU clockid_t, or -1 when XNU has no such clock. */
export function clockToHost(id: number): number {
  switch (id) {
    case 0: // CLOCK_REALTIME
    case 5: // CLOCK_REALTIME_COARSE
      return 0;
    case 1: // CLOCK_MONOTONIC: XNU's CLOCK_UPTIME_RAW stops in sleep, like Linux's
    case 6: // CLOCK_MONOTONIC_COARSE
      return 8;
    case 4: // CLOCK_MONOTONIC_RAW
      return 4;
    case 7: // CLOCK_BOOTTIME: XNU's CLOCK_MONOTONIC counts sleep
      return 6;
    case 2: // CLOCK_PROCESS_CPUTIME_ID
      return 12;
    case 3: // CLOCK_THREAD_CPUTIME_ID
      return 16;
  }
  return -1;
}

/** [Linux poll event, XNU poll event]. POLLRDHUP has no XNU counterpart. */
const pollPairs: [number, number][] = [
  [0x1, 0x1],
  [0x2, 0x2],
  [0x4, 0x4],
  [0x8, 0x8],
  [0x10, 0x10],
  [0x20, 0x20],
  [0x40, 0x40],
  [0x80, 0x80],
  [0x100, 0x4],
  [0x200, 0x100],
];

export function pollEventsToHost(ev: number): number {
  let out = 0;
  for (const [l, x] of pollPairs) if (ev & l) out |= x;
  return out;
}

/**
 * Revents back to Linux. Linux reports only what was asked for, plus POLLERR, POLLHUP and
 * POLLNVAL; XNU's POLLOUT stands for both POLLOUT and POLLWRNORM.
 */
export function pollEventsFromHost(rev: number, asked: number): number {
  let out = 0;
  for (const [l, x] of pollPairs) {
    if ((rev & x) && (asked & l || l === 0x8 || l === 0x10 || l === 0x20)) out |= l;
  }
  return out;
}

/** Size of XNU's `struct stat` (arm64, 64-bit inodes). */
export const XNU_STAT_SIZE = 144;

/** Encodes the Linux aarch64 `struct stat` at `out` from an XNU `struct stat` at `st`. */
export function statFromXnu(st: DataView, so: number, out: DataView, o: number): void {
  const dev = (d: number) => {
    const major = (d >>> 24) & 0xff, minor = d & 0xffffff;
    return BigInt((minor & 0xff) | ((major & 0xfff) << 8)) | (BigInt(minor & ~0xff) << 12n);
  };
  out.setBigUint64(o, dev(st.getInt32(so, true)), true);
  out.setBigUint64(o + 8, st.getBigUint64(so + 8, true), true); // st_ino
  out.setUint32(o + 16, st.getUint16(so + 4, true), true); // st_mode
  out.setUint32(o + 20, st.getUint16(so + 6, true), true); // st_nlink
  out.setUint32(o + 24, st.getUint32(so + 16, true), true); // st_uid
  out.setUint32(o + 28, st.getUint32(so + 20, true), true); // st_gid
  out.setBigUint64(o + 32, dev(st.getInt32(so + 24, true)), true); // st_rdev
  out.setBigUint64(o + 40, 0n, true);
  out.setBigInt64(o + 48, st.getBigInt64(so + 96, true), true); // st_size
  out.setInt32(o + 56, st.getInt32(so + 112, true), true); // st_blksize
  out.setInt32(o + 60, 0, true);
  out.setBigInt64(o + 64, st.getBigInt64(so + 104, true), true); // st_blocks
  // atime, mtime, ctime: XNU keeps them at 32, 48, 64 as { i64 sec; i64 nsec }.
  for (const [to, from] of [[72, 32], [88, 48], [104, 64]]) {
    out.setBigInt64(o + to, st.getBigInt64(so + from, true), true);
    out.setBigInt64(o + to + 8, st.getBigInt64(so + from + 8, true), true);
  }
  out.setUint32(o + 120, 0, true);
  out.setUint32(o + 124, 0, true);
}
