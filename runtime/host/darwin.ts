// macOS host translation tables: Linux (guest) values to and from XNU's (host). The numbers are
// from XNU's <sys/errno.h>, <sys/fcntl.h>, <sys/poll.h>, <time.h> and <sys/stat.h> (arm64, 64-bit
// inodes). Unit-tested here; exercised for real only on a Mac.
import { E } from "../kernel/errno.ts";
import { hostErrno } from "./libc.ts";
import type { SocketHost } from "./socket_host.ts";

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

// Sockets (XNU <sys/socket.h>, <netinet/in.h>, <netinet/tcp.h>, <netinet6/in6.h>). BSD sockaddrs
// start with a length byte and a family byte where Linux has a 16-bit family; AF_INET6 is 30;
// SOL_SOCKET is 0xffff and its options are numbered apart; struct msghdr's iovlen and
// controllen are ints; a cmsghdr is 12 bytes aligned to 4.

/** [Linux family, XNU family]. macOS has no AF_NETLINK. */
const familyPairs: [number, number][] = [[0, 0], [1, 1], [2, 2], [10, 30]];
const XNU_SOL_SOCKET = 0xffff;

/** Linux (level, option) -> XNU (level, option), for the options XNU has. */
const optionPairs: [number, number, number, number][] = [
  // SOL_SOCKET
  [1, 1, XNU_SOL_SOCKET, 0x1], // SO_DEBUG
  [1, 2, XNU_SOL_SOCKET, 0x4], // SO_REUSEADDR
  [1, 3, XNU_SOL_SOCKET, 0x1008], // SO_TYPE
  [1, 4, XNU_SOL_SOCKET, 0x1007], // SO_ERROR
  [1, 5, XNU_SOL_SOCKET, 0x10], // SO_DONTROUTE
  [1, 6, XNU_SOL_SOCKET, 0x20], // SO_BROADCAST
  [1, 7, XNU_SOL_SOCKET, 0x1001], // SO_SNDBUF
  [1, 8, XNU_SOL_SOCKET, 0x1002], // SO_RCVBUF
  [1, 9, XNU_SOL_SOCKET, 0x8], // SO_KEEPALIVE
  [1, 10, XNU_SOL_SOCKET, 0x100], // SO_OOBINLINE
  [1, 13, XNU_SOL_SOCKET, 0x1080], // SO_LINGER: SO_LINGER_SEC counts seconds, as Linux's does
  [1, 15, XNU_SOL_SOCKET, 0x200], // SO_REUSEPORT
  [1, 18, XNU_SOL_SOCKET, 0x1004], // SO_RCVLOWAT
  [1, 19, XNU_SOL_SOCKET, 0x1003], // SO_SNDLOWAT
  [1, 20, XNU_SOL_SOCKET, 0x1006], // SO_RCVTIMEO (struct timeval: same bytes for usec < 2^31)
  [1, 21, XNU_SOL_SOCKET, 0x1005], // SO_SNDTIMEO
  [1, 66, XNU_SOL_SOCKET, 0x1006], // SO_RCVTIMEO_NEW
  [1, 67, XNU_SOL_SOCKET, 0x1005], // SO_SNDTIMEO_NEW
  [1, 29, XNU_SOL_SOCKET, 0x400], // SO_TIMESTAMP
  [1, 30, XNU_SOL_SOCKET, 0x2], // SO_ACCEPTCONN
  // IPPROTO_IP
  [0, 1, 0, 3], // IP_TOS
  [0, 2, 0, 4], // IP_TTL
  [0, 3, 0, 2], // IP_HDRINCL
  [0, 4, 0, 1], // IP_OPTIONS
  [0, 8, 0, 26], // IP_PKTINFO
  [0, 12, 0, 24], // IP_RECVTTL
  [0, 13, 0, 27], // IP_RECVTOS
  [0, 32, 0, 9], // IP_MULTICAST_IF
  [0, 33, 0, 10], // IP_MULTICAST_TTL
  [0, 34, 0, 11], // IP_MULTICAST_LOOP
  [0, 35, 0, 12], // IP_ADD_MEMBERSHIP
  [0, 36, 0, 13], // IP_DROP_MEMBERSHIP
  // IPPROTO_IPV6
  [41, 16, 41, 4], // IPV6_UNICAST_HOPS
  [41, 17, 41, 9], // IPV6_MULTICAST_IF
  [41, 18, 41, 10], // IPV6_MULTICAST_HOPS
  [41, 19, 41, 11], // IPV6_MULTICAST_LOOP
  [41, 20, 41, 12], // IPV6_JOIN_GROUP
  [41, 21, 41, 13], // IPV6_LEAVE_GROUP
  [41, 26, 41, 27], // IPV6_V6ONLY
  [41, 49, 41, 61], // IPV6_RECVPKTINFO
  [41, 50, 41, 46], // IPV6_PKTINFO
  [41, 51, 41, 37], // IPV6_RECVHOPLIMIT
  [41, 52, 41, 47], // IPV6_HOPLIMIT
  [41, 66, 41, 35], // IPV6_RECVTCLASS
  [41, 67, 41, 36], // IPV6_TCLASS
  // IPPROTO_TCP
  [6, 1, 6, 0x1], // TCP_NODELAY
  [6, 2, 6, 0x2], // TCP_MAXSEG
  [6, 4, 6, 0x10], // TCP_KEEPIDLE is XNU's TCP_KEEPALIVE
  [6, 5, 6, 0x101], // TCP_KEEPINTVL
  [6, 6, 6, 0x102], // TCP_KEEPCNT
  [6, 23, 6, 0x105], // TCP_FASTOPEN
  [6, 25, 6, 0x201], // TCP_NOTSENT_LOWAT
];
const optionMap = new Map(optionPairs.map(([l, n, hl, hn]) => [l * 65536 + n, [hl, hn] as const]));

/** [Linux MSG_ flag, XNU MSG_ flag]. */
const msgPairs: [number, number][] = [
  [0x1, 0x1], // MSG_OOB
  [0x2, 0x2], // MSG_PEEK
  [0x4, 0x4], // MSG_DONTROUTE
  [0x8, 0x20], // MSG_CTRUNC
  [0x20, 0x10], // MSG_TRUNC
  [0x40, 0x80], // MSG_DONTWAIT
  [0x80, 0x8], // MSG_EOR
  [0x100, 0x40], // MSG_WAITALL
  [0x4000, 0x80000], // MSG_NOSIGNAL
];

/** Linux's sun_path is 108 bytes, XNU's 104; XNU has no abstract names. */
const XNU_SUN_PATH = 104;

export const socketHost: SocketHost = {
  identity: false,
  family(af) {
    return familyPairs.find(([l]) => l === af)?.[1] ?? -1;
  },
  option: (level, name) => optionMap.get(level * 65536 + name),
  msgFlagsToHost(f) {
    let out = 0;
    for (const [l, x] of msgPairs) if (f & l) out |= x;
    return out;
  },
  msgFlagsFromHost(f) {
    let out = 0;
    for (const [l, x] of msgPairs) if (f & x) out |= l;
    return out;
  },
  addrToHost(src, out) {
    if (src.length < 2) return -E.EINVAL;
    const af = src[0] | (src[1] << 8);
    const xaf = socketHost.family(af);
    if (xaf < 0) return -E.EAFNOSUPPORT;
    let len = src.length;
    if (af === 1) {
      // AF_UNIX: the path, NUL-terminated within XNU's shorter sun_path.
      if (len > 2 && src[2] === 0) return -E.EINVAL; // an abstract name
      const end = src.indexOf(0, 2);
      const path = (end < 0 ? src.length : end) - 2;
      if (path >= XNU_SUN_PATH) return -E.EINVAL;
      len = 2 + path + 1;
      out.fill(0, 0, len);
    } else if (af === 2 && len < 16) return -E.EINVAL;
    else if (af === 10) {
      if (len < 24) return -E.EINVAL;
      len = 28;
    }
    out.set(src.subarray(2, Math.min(src.length, len)), 2);
    out[0] = len;
    out[1] = xaf;
    return len;
  },
  addrFromHost(src, out) {
    if (src.length < 2) return 0;
    const af = familyPairs.find(([, x]) => x === src[1])?.[0] ?? src[1];
    let len = Math.min(src[0] || src.length, src.length);
    if (af === 1) {
      const end = src.indexOf(0, 2);
      len = end < 0 ? len : end + 1; // Linux counts the path and its NUL
    }
    const bytes = new Uint8Array(len);
    bytes.set(src.subarray(0, len));
    bytes[0] = af & 0xff;
    bytes[1] = af >> 8;
    out.set(bytes.subarray(0, Math.min(len, out.length)));
    return len;
  },
  msghdr: {
    size: 48,
    name: 0,
    namelen: 8,
    iov: 16,
    iovlen: 24,
    iovlenSize: 4,
    control: 32,
    controllen: 40,
    controllenSize: 4,
    flags: 44,
  },
  cmsg: { size: 12, align: 4, lenSize: 4 },
  solSocket: XNU_SOL_SOCKET,
  scmRights: 1,
  scmCredentials: -1,
  sockNonblock: 0,
  sockCloexec: 0,
  msgDontwait: 0x80,
  msgNosignal: 0x80000,
  msgCmsgCloexec: 0,
};
