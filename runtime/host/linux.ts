// Linux host translation. errno values and most flags are the same on every Linux architecture,
// but open flags differ between aarch64 and x86_64 (asm-generic/fcntl.h vs arch/x86), and
// `struct stat` differs in layout; `struct statx`, `linux_dirent64`, `struct statfs` (64-bit),
// `struct timespec`, `struct rusage`, `struct sysinfo` and termios ioctls do not.
import { hostErrno, libc } from "./libc.ts";
import { knownOption, MSGHDR } from "../kernel/socket_abi.ts";
import type { SocketHost } from "./socket_host.ts";

/** The aarch64 guest's open flags that x86_64 numbers differently: [guest, x86_64 host]. */
const openFlagPairs: [number, number][] = [
  [0o40000, 0o200000], // O_DIRECTORY
  [0o100000, 0o400000], // O_NOFOLLOW
  [0o200000, 0o40000], // O_DIRECT
  [0o400000, 0o100000], // O_LARGEFILE
];
const movedGuest = openFlagPairs.reduce((m, [g]) => m | g, 0);
const movedHost = openFlagPairs.reduce((m, [, h]) => m | h, 0);
const sameArch = Deno.build.arch === "aarch64";

export function openFlagsToHost(flags: number): number {
  if (sameArch) return flags;
  let out = flags & ~movedGuest;
  for (const [g, h] of openFlagPairs) if (flags & g) out |= h;
  return out;
}

export function openFlagsFromHost(flags: number): number {
  if (sameArch) return flags;
  let out = flags & ~movedHost;
  for (const [g, h] of openFlagPairs) if (flags & h) out |= g;
  return out;
}

/** A host errno number as Linux's (identity here). */
export function errnoToLinux(n: number): number {
  return n;
}

/** The last failed call's errno, as a Linux errno (identity on a Linux host). */
export function errno(): number {
  return hostErrno();
}

/** glibc's gnu_dev_makedev, which st_dev and st_rdev use. */
function makedev(major: number, minor: number): bigint {
  return BigInt((minor & 0xff) | ((major & 0xfff) << 8)) | (BigInt(minor & ~0xff) << 12n) |
    (BigInt(major & ~0xfff) << 32n);
}

export const STATX_SIZE = 256;
export const STAT_SIZE = 128;

/**
 * Encodes the aarch64 `struct stat` (asm-generic/stat.h, 128 bytes) at `out` from a host
 * `struct statx` at `sx` (both views of host memory).
 */
export function statFromStatx(sx: DataView, so: number, out: DataView, o: number): void {
  out.setBigUint64(
    o + 0,
    makedev(sx.getUint32(so + 136, true), sx.getUint32(so + 140, true)),
    true,
  );
  out.setBigUint64(o + 8, sx.getBigUint64(so + 32, true), true); // st_ino
  out.setUint32(o + 16, sx.getUint16(so + 28, true), true); // st_mode
  out.setUint32(o + 20, sx.getUint32(so + 16, true), true); // st_nlink
  out.setUint32(o + 24, sx.getUint32(so + 20, true), true); // st_uid
  out.setUint32(o + 28, sx.getUint32(so + 24, true), true); // st_gid
  out.setBigUint64(
    o + 32,
    makedev(sx.getUint32(so + 128, true), sx.getUint32(so + 132, true)),
    true,
  );
  out.setBigUint64(o + 40, 0n, true);
  out.setBigUint64(o + 48, sx.getBigUint64(so + 40, true), true); // st_size
  out.setInt32(o + 56, sx.getUint32(so + 4, true), true); // st_blksize
  out.setInt32(o + 60, 0, true);
  out.setBigUint64(o + 64, sx.getBigUint64(so + 48, true), true); // st_blocks
  // atime (statx 64), mtime (112), ctime (96): each { i64 sec; u32 nsec; i32 pad }.
  const times: [number, number][] = [[72, 64], [88, 112], [104, 96]];
  for (const [to, from] of times) {
    out.setBigInt64(o + to, sx.getBigInt64(so + from, true), true);
    out.setBigUint64(o + to + 8, BigInt(sx.getUint32(so + from + 8, true)), true);
  }
  out.setUint32(o + 120, 0, true);
  out.setUint32(o + 124, 0, true);
}

/** statx(2) on the host: 0 or -errno. */
export function statx(
  dirfd: number,
  path: number,
  flags: number,
  mask: number,
  out: number,
): number {
  return libc.statx(dirfd, path, flags, mask, out) < 0 ? -hostErrno() : 0;
}

/** Sockets on a Linux host: the guest's own ABI (socket_host.ts). */
export const socketHost: SocketHost = {
  identity: true,
  family: (af) => af,
  option: (level, name) => (knownOption(level, name) ? [level, name] : undefined),
  msgFlagsToHost: (f) => f,
  msgFlagsFromHost: (f) => f,
  addrToHost(src, out) {
    out.set(src);
    return src.length;
  },
  addrFromHost(src, out) {
    out.set(src.subarray(0, out.length));
    return src.length;
  },
  msghdr: { ...MSGHDR, iovlenSize: 8, controllenSize: 8 },
  cmsg: { size: 16, align: 8, lenSize: 8 },
  solSocket: 1,
  scmRights: 1,
  scmCredentials: 2,
  sockNonblock: 0o4000,
  sockCloexec: 0o2000000,
  msgDontwait: 0x40,
  msgNosignal: 0x4000,
  msgCmsgCloexec: 0x40000000,
};
