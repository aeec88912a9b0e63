// The FUSE wire format as Linux speaks it (include/uapi/linux/fuse.h, protocol 7.31): opcodes,
// header and argument layouts, and the conversions of `struct fuse_attr` into the aarch64
// `struct stat` and `struct statx` a guest reads. Every layout is little-endian and naturally
// aligned, the same on every Linux architecture.

/** The protocol version elfuse offers in FUSE_INIT (major 7, minor 31: no FUSE_INIT_EXT). */
export const FUSE_MAJOR = 7, FUSE_MINOR = 31;

export const Op = {
  LOOKUP: 1,
  FORGET: 2,
  GETATTR: 3,
  SETATTR: 4,
  READLINK: 5,
  SYMLINK: 6,
  MKNOD: 8,
  MKDIR: 9,
  UNLINK: 10,
  RMDIR: 11,
  RENAME: 12,
  LINK: 13,
  OPEN: 14,
  READ: 15,
  WRITE: 16,
  STATFS: 17,
  RELEASE: 18,
  FSYNC: 20,
  SETXATTR: 21,
  GETXATTR: 22,
  LISTXATTR: 23,
  REMOVEXATTR: 24,
  FLUSH: 25,
  INIT: 26,
  OPENDIR: 27,
  READDIR: 28,
  RELEASEDIR: 29,
  FSYNCDIR: 30,
  ACCESS: 34,
  CREATE: 35,
  INTERRUPT: 36,
  DESTROY: 38,
  BATCH_FORGET: 42,
  READDIRPLUS: 44,
  RENAME2: 45,
} as const;

/** sizeof(struct fuse_in_header), sizeof(struct fuse_out_header). */
export const IN_HEADER = 40, OUT_HEADER = 16;
/** The largest frame either way (the original's cap; Linux's is max_pages * 4 KiB + headers). */
export const MAX_FRAME = 8 << 20;
/** Linux's FUSE_MIN_READ_BUFFER: a read of /dev/fuse with less fails with EINVAL. */
export const MIN_READ_BUFFER = 8192;
/** The largest READ/WRITE payload elfuse sends in one request (one host datagram holds it). */
export const MAX_IO = 128 << 10;
/** The root node's id (FUSE_ROOT_ID). */
export const ROOT_ID = 1;

/** sizeof(struct fuse_attr), and fuse_entry_out / fuse_attr_out (attr at 40 / 16). */
export const ATTR_SIZE = 88, ENTRY_OUT = 128, ATTR_OUT = 104;
export const ENTRY_ATTR = 40, ATTR_OUT_ATTR = 16;
/** sizeof(struct fuse_init_in) for 7.36+ (the kernel sends the full struct), fuse_init_out. */
export const INIT_IN = 64, INIT_OUT_MIN = 24;

/** FUSE_INIT flags elfuse offers: big writes, atomic O_TRUNC, readdirplus (and its auto mode). */
export const INIT_FLAGS = (1 << 3) | (1 << 5) | (1 << 13) | (1 << 14);
export const FUSE_DO_READDIRPLUS = 1 << 13, FUSE_READDIRPLUS_AUTO = 1 << 14;
/** sizeof(struct fuse_dirent) without its name, and fuse_direntplus's (an entry_out before it). */
export const DIRENT = 24, DIRENTPLUS = ENTRY_OUT + DIRENT;

/** fuse_setattr_in.valid bits. */
export const FATTR = {
  MODE: 1,
  UID: 2,
  GID: 4,
  SIZE: 8,
  ATIME: 16,
  MTIME: 32,
  FH: 64,
  ATIME_NOW: 128,
  MTIME_NOW: 256,
} as const;

/** A node's attributes as the daemon reported them. */
export interface Attr {
  ino: number;
  size: number;
  blocks: number;
  atime: number;
  mtime: number;
  ctime: number;
  atimens: number;
  mtimens: number;
  ctimens: number;
  mode: number;
  nlink: number;
  uid: number;
  gid: number;
  rdev: number;
  blksize: number;
}

/** Reads a struct fuse_attr at `at`. */
export function readAttr(v: DataView, at: number): Attr {
  const u64 = (o: number) => Number(v.getBigUint64(at + o, true));
  const u32 = (o: number) => v.getUint32(at + o, true);
  return {
    ino: u64(0),
    size: u64(8),
    blocks: u64(16),
    atime: Number(v.getBigInt64(at + 24, true)),
    mtime: Number(v.getBigInt64(at + 32, true)),
    ctime: Number(v.getBigInt64(at + 40, true)),
    atimens: u32(48),
    mtimens: u32(52),
    ctimens: u32(56),
    mode: u32(60),
    nlink: u32(64),
    uid: u32(68),
    gid: u32(72),
    rdev: u32(76),
    blksize: u32(80) || 4096,
  };
}

/** Linux's new_encode_dev(): the st_dev/st_rdev encoding userspace sees. */
export function encodeDev(major: number, minor: number): number {
  return ((minor & 0xff) | (major << 8) | ((minor & ~0xff) << 12)) >>> 0;
}

/** The aarch64 `struct stat` (128 bytes) for `a` on a mount whose st_dev is `dev`. */
export function writeStat(v: DataView, at: number, a: Attr, dev: number): void {
  new Uint8Array(v.buffer, v.byteOffset + at, 128).fill(0);
  v.setBigUint64(at, BigInt(dev), true);
  v.setBigUint64(at + 8, BigInt(a.ino), true);
  v.setUint32(at + 16, a.mode, true);
  v.setUint32(at + 20, a.nlink, true);
  v.setUint32(at + 24, a.uid, true);
  v.setUint32(at + 28, a.gid, true);
  v.setBigUint64(at + 32, BigInt(a.rdev), true);
  v.setBigInt64(at + 48, BigInt(a.size), true);
  v.setInt32(at + 56, a.blksize, true);
  v.setBigInt64(at + 64, BigInt(a.blocks), true);
  v.setBigInt64(at + 72, BigInt(a.atime), true);
  v.setBigInt64(at + 80, BigInt(a.atimens), true);
  v.setBigInt64(at + 88, BigInt(a.mtime), true);
  v.setBigInt64(at + 96, BigInt(a.mtimens), true);
  v.setBigInt64(at + 104, BigInt(a.ctime), true);
  v.setBigInt64(at + 112, BigInt(a.ctimens), true);
}

/** STATX_BASIC_STATS: what a FUSE attr answers (no birth time). */
export const STATX_BASIC = 0x7ff;

/** `struct statx` (256 bytes) for `a`. */
export function writeStatx(v: DataView, at: number, a: Attr, dev: number): void {
  new Uint8Array(v.buffer, v.byteOffset + at, 256).fill(0);
  v.setUint32(at, STATX_BASIC, true);
  v.setUint32(at + 4, a.blksize, true);
  v.setUint32(at + 16, a.nlink, true);
  v.setUint32(at + 20, a.uid, true);
  v.setUint32(at + 24, a.gid, true);
  v.setUint16(at + 28, a.mode, true);
  v.setBigUint64(at + 32, BigInt(a.ino), true);
  v.setBigUint64(at + 40, BigInt(a.size), true);
  v.setBigUint64(at + 48, BigInt(a.blocks), true);
  const time = (o: number, s: number, ns: number) => {
    v.setBigInt64(at + o, BigInt(s), true);
    v.setUint32(at + o + 8, ns, true);
  };
  time(64, a.atime, a.atimens);
  time(96, a.ctime, a.ctimens);
  time(112, a.mtime, a.mtimens);
  // rdev and dev as major:minor (Linux's huge encoding: major 12 bits, minor 20 bits).
  v.setUint32(at + 128, (a.rdev >>> 20) & 0xfff, true);
  v.setUint32(at + 132, a.rdev & 0xfffff, true);
  v.setUint32(at + 136, (dev >>> 8) & 0xfff, true);
  v.setUint32(at + 140, (dev & 0xff) | ((dev >>> 12) & ~0xff), true);
}

/** The d_type of a mode (DT_* = S_IFMT >> 12). */
export function dtype(mode: number): number {
  return (mode >>> 12) & 0xf;
}

/** Builds a request frame: the in header, then each part (strings get their NUL). */
export function frame(
  opcode: number,
  unique: number,
  nodeid: number,
  ids: { uid: number; gid: number; pid: number },
  parts: (Uint8Array | string)[],
): Uint8Array {
  const enc = new TextEncoder();
  const bytes = parts.map((p) => {
    if (typeof p !== "string") return p;
    const b = enc.encode(p);
    const z = new Uint8Array(b.length + 1);
    z.set(b);
    return z;
  });
  const len = bytes.reduce((n, b) => n + b.length, IN_HEADER);
  const out = new Uint8Array(len);
  const v = new DataView(out.buffer);
  v.setUint32(0, len, true);
  v.setUint32(4, opcode, true);
  v.setBigUint64(8, BigInt(unique), true);
  v.setBigUint64(16, BigInt(nodeid), true);
  v.setUint32(24, ids.uid, true);
  v.setUint32(28, ids.gid, true);
  v.setUint32(32, ids.pid, true);
  let at = IN_HEADER;
  for (const b of bytes) {
    out.set(b, at);
    at += b.length;
  }
  return out;
}

/** Little-endian argument struct builder: fields as [byte size, value]. */
export function args(...fields: [4 | 8, number][]): Uint8Array {
  const len = fields.reduce((n, [s]) => n + s, 0);
  const out = new Uint8Array(len);
  const v = new DataView(out.buffer);
  let at = 0;
  for (const [s, x] of fields) {
    if (s === 4) v.setUint32(at, x >>> 0, true);
    else v.setBigUint64(at, BigInt.asUintN(64, BigInt(Math.trunc(x))), true);
    at += s;
  }
  return out;
}
