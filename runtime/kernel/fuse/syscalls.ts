// Guest-internal FUSE in the syscall table: mount(2) and umount2(2) for fuse types, open of
// /dev/fuse, and the routes that send path and fd syscalls under a mount to its daemon. table.ts
// puts each route in front of the syscall's own handler: a route answers undefined when the call
// is not FUSE's (no mount in the tree, a path outside every mount, an fd that is the host's), and
// the handler runs as before. docs/internals.md "Guest-internal FUSE".
import { libc } from "../../host/libc.ts";
import { E } from "../errno.ts";
import type { SyscallDef } from "../syscall_def.ts";
import type { Task } from "../task.ts";
import { install } from "../syscalls/fd.ts";
import { execSyscalls } from "../syscalls/exec.ts";
import { FuseDevice, UNMOUNTED } from "./device.ts";
import { activeMounts, type FuseMount, mountTable, treeDir } from "./mounts.ts";
import {
  args,
  type Attr,
  ENTRY_ATTR,
  IN_HEADER,
  MAX_IO,
  Op,
  readAttr,
  writeStat,
  writeStatx,
} from "./protocol.ts";
import { boundSocket, sendFrame } from "./transport.ts";
import { AT_FDCWD, FuseFile, guestPath, mountDev, normalise, openNull, Walk } from "./vfs.ts";

const O_ACCMODE = 3, O_CREAT = 0o100, O_EXCL = 0o200, O_TRUNC = 0o1000;
const O_NONBLOCK = 0o4000, O_DIRECTORY = 0o40000, O_NOFOLLOW = 0o100000, O_CLOEXEC = 0o2000000;
const O_PATH = 0o10000000, O_NOCTTY = 0o400;

/** The process's umask (umask(2) has no read-only form). */
function currentUmask(): number {
  const u = libc.umask(0);
  libc.umask(u);
  return u;
}
const AT_SYMLINK_NOFOLLOW = 0x100, AT_REMOVEDIR = 0x200, AT_EMPTY_PATH = 0x1000;
const S_IFMT = 0o170000, S_IFDIR = 0o040000;
const MS_RDONLY = 1, MS_NOSUID = 2, MS_NODEV = 4, MS_NOEXEC = 8;
const FUSE_SUPER_MAGIC = 0x65735546;
const execveat = execSyscalls.find((d) => d.name === "execveat")!.handler!;
const enc = new TextEncoder();

type Handler = (k: Task, a: Float64Array) => number;
/** A route: the syscall under FUSE, or undefined for the handler (`next`) to serve it. */
type Route = (k: Task, a: Float64Array, next: Handler) => number | undefined;

/** The mount and path inside it that (dirfd, path) names, or undefined when it is not FUSE's. */
function under(
  k: Task,
  dirfd: number,
  addr: number,
  start = true,
): [Walk, string, string] | undefined {
  const t = activeMounts(k.rt);
  if (t === undefined) return undefined;
  const s = k.proc.string(addr);
  if (typeof s === "number" || s === "") return undefined;
  const p = guestPath(k, dirfd, s);
  if (typeof p === "number") return undefined;
  const hit = t.find(p);
  return hit === undefined ? undefined : [new Walk(k, hit[0], start), hit[1], p];
}

function fuseFile(k: Task, fd: number): FuseFile | undefined {
  const f = k.proc.fds.get(fd | 0)?.file;
  return f instanceof FuseFile ? f : undefined;
}

/** Writes `attr` as struct stat (or statx) at `out`. */
function putStat(k: Task, m: FuseMount, attr: Attr, out: number, x: boolean): number {
  if (!k.proc.canWrite(out, x ? 256 : 128)) return -E.EFAULT;
  (x ? writeStatx : writeStat)(k.proc.view, out, attr, mountDev(m));
  return 0;
}

function statPath(k: Task, dirfd: number, addr: number, flags: number, out: number, x: boolean) {
  const empty = (flags & AT_EMPTY_PATH) !== 0 && k.proc.strlen(addr) === 0;
  if (empty) {
    const f = fuseFile(k, dirfd);
    if (f === undefined) return undefined;
    const at = f.attr(k);
    return typeof at === "number" ? at : putStat(k, f.m, at, out, x);
  }
  const u = under(k, dirfd, addr);
  if (u === undefined) return undefined;
  const [w, rest] = u;
  const n = w.walk(rest, (flags & AT_SYMLINK_NOFOLLOW) === 0);
  return w.done(typeof n === "number" ? n : putStat(k, w.m, n.attr, out, x));
}

/** open(2) under a mount: CREATE, or LOOKUP then OPEN/OPENDIR. */
function open(k: Task, a: Float64Array): number | undefined {
  const flags = a[2] >>> 0;
  if (isDevFuse(k, a[1])) return openDevice(k, flags);
  const u = under(k, a[0], a[1]);
  if (u === undefined) return undefined;
  const [w, rest, p] = u;
  const m = w.m;
  let node = w.walk(
    rest,
    (flags & O_NOFOLLOW) === 0 && (flags & (O_CREAT | O_EXCL)) !== (O_CREAT | O_EXCL),
  );
  let fh = -1, created = false;
  if (node === -E.ENOENT && (flags & O_CREAT) !== 0) {
    const par = w.parent(rest);
    if (typeof par === "number") return w.done(par);
    // As fuse_create_open: the mode masked by the umask (no FUSE_DONT_MASK), which is sent too;
    // the open flags keep O_CREAT and O_EXCL.
    const umask = currentUmask();
    const mode = (a[3] & 0o7777 & ~umask) | 0o100000;
    const r = w.call(Op.CREATE, par[0].nodeid, [
      args([4, flags & ~(O_NOCTTY | O_NOFOLLOW | O_CLOEXEC)], [4, mode], [4, umask], [4, 0]),
      par[1],
    ]);
    if (typeof r === "number") return w.done(r);
    if (r.error === E.ENOSYS) {
      // A daemon without CREATE: MKNOD, then the usual OPEN below (fuse_mknod's fallback).
      const mk = w.call(Op.MKNOD, par[0].nodeid, [
        args([4, mode], [4, 0], [4, umask], [4, 0]),
        par[1],
      ]);
      if (typeof mk === "number") return w.done(mk);
      if (mk.error !== 0) return w.done(-mk.error);
      const nodeid = Number(mk.view.getBigUint64(0, true));
      w.looked.push(nodeid);
      node = { nodeid, attr: readAttr(mk.view, ENTRY_ATTR) };
      created = true;
    } else {
      if (r.error !== 0) return w.done(-r.error);
      const nodeid = Number(r.view.getBigUint64(0, true));
      w.looked.push(nodeid);
      node = { nodeid, attr: readAttr(r.view, ENTRY_ATTR) };
      fh = Number(r.view.getBigUint64(128, true));
      created = true;
    }
  }
  if (typeof node === "number") return w.done(node);
  if (!created && (flags & (O_CREAT | O_EXCL)) === (O_CREAT | O_EXCL)) return w.done(-E.EEXIST);
  const dir = (node.attr.mode & S_IFMT) === S_IFDIR;
  if ((flags & O_DIRECTORY) !== 0 && !dir) return w.done(-E.ENOTDIR);
  if (dir && (flags & O_ACCMODE) !== 0) return w.done(-E.EISDIR);
  if ((node.attr.mode & S_IFMT) === 0o120000 && (flags & O_PATH) === 0) return w.done(-E.ELOOP);
  if (fh < 0) {
    const oflags = flags & ~(O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC | O_PATH);
    const r = w.call(dir ? Op.OPENDIR : Op.OPEN, node.nodeid, [args([4, oflags], [4, 0])]);
    if (typeof r === "number") return w.done(r);
    if (r.error !== 0) return w.done(-r.error);
    fh = r.body.length >= 8 ? Number(r.view.getBigUint64(0, true)) : 0;
    if ((flags & O_TRUNC) !== 0 && !dir && (m.flags & (1 << 3)) === 0) {
      const t = w.call(Op.SETATTR, node.nodeid, [setattr({ valid: 8 | 64, fh, size: 0 })]);
      if (typeof t === "number") return w.done(t);
    }
  }
  const file = new FuseFile(m, node.nodeid, fh, flags & ~O_CLOEXEC, dir, p, k.fuse!.sock);
  const h = openNull();
  if (h < 0) return w.done(k.fail());
  return w.done(install(k, h, (flags & O_CLOEXEC) !== 0, p, 0, file), node.nodeid);
}

const DEV_FUSE = enc.encode("/dev/fuse\0");

/**
 * The guest string at `addr` is "/dev/fuse": compared in place after the checked strlen (a bad
 * pointer is left to openat's own EFAULT), so openat allocates nothing.
 */
function isDevFuse(k: Task, addr: number): boolean {
  if (k.proc.strlen(addr, 16) !== DEV_FUSE.length - 1) return false;
  for (let i = 0; i < DEV_FUSE.length; i++) if (k.proc.mem[addr + i] !== DEV_FUSE[i]) return false;
  return true;
}

/** struct fuse_setattr_in (88 bytes). */
function setattr(
  s: {
    valid: number;
    fh?: number;
    size?: number;
    mode?: number;
    uid?: number;
    gid?: number;
    atime?: [number, number];
    mtime?: [number, number];
  },
): Uint8Array {
  const b = new Uint8Array(88);
  const v = new DataView(b.buffer);
  v.setUint32(0, s.valid, true);
  v.setBigUint64(8, BigInt(s.fh ?? 0), true);
  v.setBigUint64(16, BigInt(s.size ?? 0), true);
  if (s.atime) {
    v.setBigInt64(32, BigInt(s.atime[0]), true);
    v.setUint32(56, s.atime[1], true);
  }
  if (s.mtime) {
    v.setBigInt64(40, BigInt(s.mtime[0]), true);
    v.setUint32(60, s.mtime[1], true);
  }
  v.setUint32(68, s.mode ?? 0, true);
  v.setUint32(76, s.uid ?? 0, true);
  v.setUint32(80, s.gid ?? 0, true);
  return b;
}

function openDevice(k: Task, flags: number): number {
  if (mountTable(k.rt) === undefined) return -E.ENODEV;
  const path = `${treeDir()}/d-${Deno.pid}-${k.proc.pid}-${k.proc.fds.lowestFree()}-${
    Date.now() % 1e6
  }`;
  const h = boundSocket(path);
  if (h < 0) return k.fail();
  if ((flags & O_NONBLOCK) !== 0) {
    libc.fcntl(h, 4, /* F_SETFL */ Deno.build.os === "linux" ? O_NONBLOCK : 4);
  }
  return install(k, h, (flags & O_CLOEXEC) !== 0, "/dev/fuse", 0, new FuseDevice(path));
}

/** mount(2): fuse and fuse.<subtype> with Linux's options; other types EPERM (unprivileged). */
function mount(k: Task, a: Float64Array): number {
  const src = a[0] === 0 ? "none" : k.proc.string(a[0]);
  const tgt = k.proc.string(a[1]);
  const type = k.proc.string(a[2]);
  const flags = a[3] >>> 0;
  const data = a[4] === 0 ? "" : k.proc.string(a[4]);
  for (const x of [src, tgt, type, data]) if (typeof x === "number") return x;
  if (typeof type !== "string" || typeof tgt !== "string") return -E.EFAULT;
  if (type !== "fuse" && !type.startsWith("fuse.")) return -E.EPERM;
  const opts = new Map<string, string>();
  for (const o of (data as string).split(",")) {
    if (o === "") continue;
    const eq = o.indexOf("=");
    opts.set(eq < 0 ? o : o.slice(0, eq), eq < 0 ? "" : o.slice(eq + 1));
  }
  const fdStr = opts.get("fd"), rootmode = opts.get("rootmode");
  if (
    fdStr === undefined || rootmode === undefined || !opts.has("user_id") || !opts.has("group_id")
  ) {
    return -E.EINVAL;
  }
  const dev = k.proc.fds.get(Number(fdStr))?.file;
  if (!(dev instanceof FuseDevice) || dev.mountId !== undefined) return -E.EINVAL;
  const target = guestPath(k, AT_FDCWD, tgt);
  if (typeof target === "number") return target;
  const sr = k.proc.info.sysroot;
  const host = sr === undefined ? target : sr.hostPath(target, true);
  if (typeof host === "number") return host;
  try {
    if (!Deno.statSync(host).isDirectory && (Number.parseInt(rootmode, 8) & S_IFMT) === S_IFDIR) {
      return -E.ENOTDIR;
    }
  } catch {
    return -E.ENOENT;
  }
  const t = mountTable(k.rt);
  if (t === undefined) return -E.ENOMEM;
  const shown = [flags & MS_RDONLY ? "ro" : "rw"];
  if (flags & MS_NOSUID) shown.push("nosuid");
  if (flags & MS_NODEV) shown.push("nodev");
  if (flags & MS_NOEXEC) shown.push("noexec");
  shown.push("relatime", `user_id=${opts.get("user_id")}`, `group_id=${opts.get("group_id")}`);
  if (opts.has("default_permissions")) shown.push("default_permissions");
  if (opts.has("allow_other")) shown.push("allow_other");
  if (opts.has("max_read")) shown.push(`max_read=${opts.get("max_read")}`);
  let id = 0;
  const r = t.update((ms) => {
    id = ms.reduce((n, m) => Math.max(n, m.id), 0) + 1;
    ms.push({
      id,
      target,
      source: (src as string) || "none",
      fstype: type,
      options: shown.join(","),
      socket: dev.socket,
      rootmode: Number.parseInt(rootmode, 8),
      userId: Number(opts.get("user_id")),
      groupId: Number(opts.get("group_id")),
      maxRead: Number(opts.get("max_read") ?? 0),
      maxWrite: 4096,
      minor: 0,
      flags: 0,
    });
    return 0;
  });
  if (r !== 0) return -r;
  dev.mountId = id;
  return 0;
}

/** umount2(2) of a FUSE mount point: the daemon's reads then fail with ENODEV. */
function umount2(k: Task, a: Float64Array): number {
  const tgt = k.proc.string(a[0]);
  if (typeof tgt === "number") return tgt;
  if ((a[1] >>> 0) & ~0xf) return -E.EINVAL;
  const t = mountTable(k.rt);
  const p = guestPath(k, AT_FDCWD, tgt);
  if (typeof p === "number") return p;
  let gone: FuseMount | undefined;
  const r = t === undefined ? E.EINVAL : t.update((ms) => {
    const i = ms.findIndex((m) => m.target === p);
    if (i < 0) return E.EINVAL;
    gone = ms.splice(i, 1)[0];
    return 0;
  });
  if (r !== 0 || gone === undefined) return -(r || E.EINVAL);
  const marker = new Uint8Array(IN_HEADER);
  const v = new DataView(marker.buffer);
  v.setUint32(0, IN_HEADER, true);
  v.setUint32(4, UNMOUNTED, true);
  const s = boundSocket(`${treeDir()}/u-${Deno.pid}-${k.tid}`);
  if (s >= 0) {
    sendFrame(s, gone.socket, marker);
    libc.close(s);
  }
  return 0;
}

// ---- the routes ----

const routes: Record<string, Route> = {
  openat: open,
  newfstatat: (k, a) => statPath(k, a[0], a[1], a[3] >>> 0, a[2], false),
  statx: (k, a) => statPath(k, a[0], a[1], a[2] >>> 0, a[4], true),
  fstat: (k, a) => {
    const f = fuseFile(k, a[0]);
    if (f === undefined) return undefined;
    const at = f.attr(k);
    return typeof at === "number" ? at : putStat(k, f.m, at, a[1], false);
  },
  faccessat: (k, a) => access(k, a[0], a[1], a[2] >>> 0),
  faccessat2: (k, a) => access(k, a[0], a[1], a[2] >>> 0),
  readlinkat: (k, a) => {
    if (k.proc.fuseCwd !== undefined) {
      const cwd = cwdLink(k, a[0], a[1], a[2], a[3] | 0);
      if (cwd !== undefined) return cwd;
    }
    const u = under(k, a[0], a[1]);
    if (u === undefined) return undefined;
    const [w, rest] = u;
    const n = w.walk(rest, false);
    if (typeof n === "number") return w.done(n);
    if ((n.attr.mode & S_IFMT) !== 0o120000) return w.done(-E.EINVAL);
    const s = w.readlink(n.nodeid);
    if (typeof s === "number") return w.done(s);
    const b = enc.encode(s).subarray(0, a[3] | 0);
    if (!k.proc.canWrite(a[2], b.length)) return w.done(-E.EFAULT);
    k.proc.mem.set(b, a[2]);
    return w.done(b.length);
  },
  mkdirat: (k, a) =>
    named(
      k,
      a[0],
      a[1],
      (w, dir, name) =>
        entryReply(
          w,
          w.call(Op.MKDIR, dir, [
            args([4, a[2] & 0o7777 & ~currentUmask()], [4, currentUmask()]),
            name,
          ]),
        ),
    ),
  mknodat: (k, a) =>
    named(
      k,
      a[0],
      a[1],
      (w, dir, name) =>
        entryReply(
          w,
          w.call(Op.MKNOD, dir, [
            args([4, (a[2] >>> 0) & ~currentUmask()], [4, a[3] >>> 0], [4, currentUmask()], [4, 0]),
            name,
          ]),
        ),
    ),
  unlinkat: (k, a) =>
    named(
      k,
      a[0],
      a[1],
      (w, dir, name) => status(w.call((a[2] & AT_REMOVEDIR) ? Op.RMDIR : Op.UNLINK, dir, [name])),
    ),
  symlinkat: (k, a) => {
    const target = k.proc.string(a[0]);
    if (typeof target === "number") return undefined;
    return named(
      k,
      a[1],
      a[2],
      (w, dir, name) => entryReply(w, w.call(Op.SYMLINK, dir, [name, target])),
    );
  },
  renameat: (k, a) => rename(k, a[0], a[1], a[2], a[3], 0),
  renameat2: (k, a) => rename(k, a[0], a[1], a[2], a[3], a[4] >>> 0),
  getdents64: (k, a) => {
    const f = fuseFile(k, a[0]);
    if (f === undefined) return undefined;
    if (!k.proc.canWrite(a[1], a[2] >>> 0)) return -E.EFAULT;
    return f.getdents(k, a[1], a[2] >>> 0);
  },
  lseek: (k, a) => fuseFile(k, a[0])?.seek(k, a[1], a[2] | 0),
  pread64: (k, a) => {
    const f = fuseFile(k, a[0]);
    if (f === undefined) return undefined;
    if (!k.proc.canWrite(a[1], a[2])) return -E.EFAULT;
    return f.pread(k, a[1], a[2], a[3]);
  },
  pwrite64: (k, a) => {
    const f = fuseFile(k, a[0]);
    if (f === undefined) return undefined;
    if (!k.proc.canRead(a[1], a[2])) return -E.EFAULT;
    return f.pwrite(k, k.proc.mem.subarray(a[1], a[1] + a[2]), a[3]);
  },
  write: (k, a) => {
    const e = k.proc.fds.get(a[0] | 0);
    const f = e?.file;
    if (!(f instanceof FuseFile || f instanceof FuseDevice)) return undefined;
    if (!k.proc.canRead(a[1], a[2])) return -E.EFAULT;
    return f.write(k, e!, k.proc.mem.subarray(a[1], a[1] + a[2]));
  },
  writev: (k, a) => {
    const e = k.proc.fds.get(a[0] | 0);
    const f = e?.file;
    if (!(f instanceof FuseFile || f instanceof FuseDevice)) return undefined;
    const n = a[2] | 0;
    if (n < 0 || n > 1024) return -E.EINVAL;
    if (!k.proc.canRead(a[1], n * 16)) return -E.EFAULT;
    const parts: Uint8Array[] = [];
    for (let i = 0; i < n; i++) {
      const base = Number(k.proc.view.getBigUint64(a[1] + i * 16, true));
      const len = Number(k.proc.view.getBigUint64(a[1] + i * 16 + 8, true));
      if (!k.proc.canRead(base, len)) return -E.EFAULT;
      parts.push(k.proc.mem.subarray(base, base + len));
    }
    const all = new Uint8Array(parts.reduce((s, p) => s + p.length, 0));
    let at = 0;
    for (const p of parts) {
      all.set(p, at);
      at += p.length;
    }
    return f.write(k, e!, all);
  },
  statfs: (k, a) => {
    const u = under(k, AT_FDCWD, a[0]);
    if (u === undefined) return undefined;
    const [w, rest] = u;
    const n = w.walk(rest, true);
    if (typeof n === "number") return w.done(n);
    return w.done(statfs(k, w, n.nodeid, a[1]));
  },
  fstatfs: (k, a) => {
    const f = fuseFile(k, a[0]);
    if (f === undefined) return undefined;
    const w = new Walk(k, f.m);
    return f.ready(w) || statfs(k, w, f.nodeid, a[1]);
  },
  fsync: (k, a) => fsync(k, a[0], 0),
  fdatasync: (k, a) => fsync(k, a[0], 1),
  ftruncate: (k, a) => {
    const f = fuseFile(k, a[0]);
    if (f === undefined) return undefined;
    const w = new Walk(k, f.m);
    return f.ready(w) ||
      status(w.call(Op.SETATTR, f.nodeid, [setattr({ valid: 8 | 64, fh: f.fh, size: a[1] })]));
  },
  fchmodat: (k, a) => attrPath(k, a[0], a[1], { valid: 1, mode: a[2] & 0o7777 }),
  fchownat: (k, a) => {
    const uid = a[2] >>> 0, gid = a[3] >>> 0;
    const valid = (uid !== 0xffffffff ? 2 : 0) | (gid !== 0xffffffff ? 4 : 0);
    return attrPath(k, a[0], a[1], { valid, uid, gid }, (a[4] & AT_SYMLINK_NOFOLLOW) === 0);
  },
  utimensat: utimensat,
  linkat: (k, a) => {
    const from = under(k, a[0], a[1]);
    const to = under(k, a[2], a[3], from === undefined);
    if (from === undefined && to === undefined) return undefined;
    if (from === undefined || to === undefined || from[0].m.id !== to[0].m.id) {
      return (from ?? to)![0].done(-E.EXDEV);
    }
    const w = from[0];
    const old = w.walk(from[1], (a[4] & 0x400 /* AT_SYMLINK_FOLLOW */) !== 0);
    if (typeof old === "number") return w.done(old);
    if ((old.attr.mode & S_IFMT) === S_IFDIR) return w.done(-E.EPERM);
    const par = w.parent(to[1]);
    if (typeof par === "number") return w.done(par);
    return w.done(entryReply(w, w.call(Op.LINK, par[0].nodeid, [args([8, old.nodeid]), par[1]])));
  },
  truncate: (k, a) => attrPath(k, AT_FDCWD, a[0], { valid: 8, size: a[1] }),
  getxattr: (k, a) => xattrPath(k, a[0], true, a[1], a[2], a[3] >>> 0),
  lgetxattr: (k, a) => xattrPath(k, a[0], false, a[1], a[2], a[3] >>> 0),
  listxattr: (k, a) => xattrPath(k, a[0], true, 0, a[1], a[2] >>> 0),
  llistxattr: (k, a) => xattrPath(k, a[0], false, 0, a[1], a[2] >>> 0),
  fgetxattr: (k, a) => {
    const f = fuseFile(k, a[0]);
    return f === undefined
      ? undefined
      : xattr(k, new Walk(k, f.m), f.nodeid, a[1], a[2], a[3] >>> 0);
  },
  flistxattr: (k, a) => {
    const f = fuseFile(k, a[0]);
    if (f === undefined) return undefined;
    const w = new Walk(k, f.m);
    return f.ready(w) || xattr(k, w, f.nodeid, 0, a[1], a[2] >>> 0);
  },
  mmap: (k, a, next) => {
    const fd = a[4] | 0;
    const f = fuseFile(k, fd);
    if (f === undefined || (a[3] & 0x20 /* MAP_ANONYMOUS */) !== 0) return undefined;
    return mapFile(k, a, f, next);
  },
  execve: (k, a) => execUnder(k, AT_FDCWD, a[0], a, 0),
  execveat: (k, a) => execUnder(k, a[0], a[1], a, 1),
  chdir: (k, a, next) => {
    const u = under(k, AT_FDCWD, a[0]);
    if (u === undefined) return leaveFuseCwd(k, a, next);
    const [w, rest, p] = u;
    const n = w.walk(rest, true);
    if (typeof n === "number") return w.done(n);
    if ((n.attr.mode & S_IFMT) !== S_IFDIR) return w.done(-E.ENOTDIR);
    const ok = searchable(w, n.nodeid);
    if (ok === 0) k.proc.fuseCwd = p;
    return w.done(ok);
  },
  fchdir: (k, a, next) => {
    const f = fuseFile(k, a[0]);
    if (f === undefined) return leaveFuseCwd(k, a, next);
    if (!f.dir) return -E.ENOTDIR;
    const w = new Walk(k, f.m);
    const ok = f.ready(w) || searchable(w, f.nodeid);
    if (ok === 0) k.proc.fuseCwd = f.path;
    return ok;
  },
  getcwd: (k, a) => {
    const cwd = k.proc.fuseCwd;
    if (cwd === undefined) return undefined;
    const b = enc.encode(cwd + "\0");
    if ((a[1] >>> 0) < b.length) return -E.ERANGE;
    if (!k.proc.canWrite(a[0], b.length)) return -E.EFAULT;
    k.proc.mem.set(b, a[0]);
    return b.length;
  },
};

const CWD_LINK = /^\/proc\/(self|thread-self|\d+)(\/task\/\d+)?\/cwd$/;

/** readlink of this process's /proc/.../cwd while it is under a mount: the guest path. */
function cwdLink(k: Task, dirfd: number, addr: number, buf: number, size: number) {
  const s = k.proc.string(addr);
  if (typeof s === "number") return undefined;
  const p = guestPath(k, dirfd, s);
  const m = typeof p === "string" ? CWD_LINK.exec(p) : null;
  if (m === null || (m[1] !== "self" && m[1] !== "thread-self" && Number(m[1]) !== k.proc.pid)) {
    return undefined;
  }
  if (size <= 0) return -E.EINVAL;
  const b = enc.encode(k.proc.fuseCwd).subarray(0, size);
  if (!k.proc.canWrite(buf, b.length)) return -E.EFAULT;
  k.proc.mem.set(b, buf);
  return b.length;
}

/**
 * chdir or fchdir to a directory that is not under a mount: the host's, as before; a working
 * directory under a mount is left once it succeeds (a relative path was made absolute from it
 * by paths.ts).
 */
function leaveFuseCwd(k: Task, a: Float64Array, next: Handler): number | undefined {
  if (k.proc.fuseCwd === undefined) return undefined;
  const r = next(k, a);
  if (r === 0) k.proc.fuseCwd = undefined;
  return r;
}

/**
 * The search permission chdir needs: Linux's fuse_permission asks the daemon (ACCESS with X_OK,
 * MAY_CHDIR) unless the mount has default_permissions; a daemon without ACCESS allows.
 */
function searchable(w: Walk, nodeid: number): number {
  if (w.m.options.includes("default_permissions")) return 0;
  const r = w.call(Op.ACCESS, nodeid, [args([4, 1], [4, 0])]);
  if (typeof r === "number") return r;
  return r.error === E.ENOSYS ? 0 : -r.error;
}

/** getxattr/listxattr on a path (`name` 0: LISTXATTR). */
function xattrPath(
  k: Task,
  addr: number,
  follow: boolean,
  name: number,
  buf: number,
  size: number,
) {
  const u = under(k, AT_FDCWD, addr);
  if (u === undefined) return undefined;
  const [w, rest] = u;
  const n = w.walk(rest, follow);
  if (typeof n === "number") return w.done(n);
  return w.done(xattr(k, w, n.nodeid, name, buf, size));
}

/**
 * GETXATTR (or LISTXATTR when `name` is 0): with size 0 the daemon answers the size needed
 * (fuse_getxattr_out), else the value; ERANGE when it is longer; a daemon without xattrs
 * (ENOSYS) gives EOPNOTSUPP, as Linux's fuse_getxattr does.
 */
function xattr(k: Task, w: Walk, nodeid: number, name: number, buf: number, size: number): number {
  let key: string | undefined;
  if (name !== 0) {
    const s = k.proc.string(name, 256);
    if (typeof s === "number") return s === -E.ENAMETOOLONG ? -E.ERANGE : s;
    key = s;
  }
  const size32 = Math.min(size, 65536);
  const r = w.call(name === 0 ? Op.LISTXATTR : Op.GETXATTR, nodeid, [
    args([4, size32], [4, 0]),
    ...(key === undefined ? [] : [key]),
  ]);
  if (typeof r === "number") return r;
  if (r.error === E.ENOSYS) return -E.EOPNOTSUPP;
  if (r.error !== 0) return -r.error;
  if (size === 0) return r.body.length >= 4 ? r.view.getUint32(0, true) : -E.EIO;
  if (r.body.length > size) return -E.ERANGE;
  if (!k.proc.canWrite(buf, r.body.length)) return -E.EFAULT;
  k.proc.mem.set(r.body, buf);
  return r.body.length;
}

const XATTR_CREATE = 1, XATTR_REPLACE = 2, XATTR_SIZE_MAX = 65536;

/**
 * setxattr(2) family (`fd`: fsetxattr, else a path; `follow`: setxattr, not lsetxattr) under a
 * mount: SETXATTR with fuse_setxattr_in as protocol 7.31 has it (size, flags), the name and the
 * value. Checked first as Linux's setxattr_copy does: unknown flags EINVAL, a name of 0 or more
 * than 255 bytes ERANGE, a value over 64 KiB E2BIG. A daemon without it: EOPNOTSUPP
 * (fuse_setxattr). Anything not under a mount: ENOSYS (host xattrs are not written).
 */
function setxattr(k: Task, a: Float64Array, fd: boolean, follow: boolean): number {
  const target = xattrTarget(k, a[0], fd, follow);
  if (typeof target === "number") return target;
  const [w, nodeid] = target;
  const flags = a[4] >>> 0, size = a[3];
  if ((flags & ~(XATTR_CREATE | XATTR_REPLACE)) !== 0) return w.done(-E.EINVAL);
  const name = xattrName(k, a[1]);
  if (typeof name === "number") return w.done(name);
  if (size > XATTR_SIZE_MAX) return w.done(-E.E2BIG);
  if (size > 0 && !k.proc.canRead(a[2], size)) return w.done(-E.EFAULT);
  const value = k.proc.mem.slice(a[2], a[2] + size);
  const r = w.call(Op.SETXATTR, nodeid, [args([4, size], [4, flags]), name, value]);
  return w.done(xattrStatus(r));
}

/** removexattr(2) family under a mount: REMOVEXATTR with the name (as setxattr otherwise). */
function removexattr(k: Task, a: Float64Array, fd: boolean, follow: boolean): number {
  const target = xattrTarget(k, a[0], fd, follow);
  if (typeof target === "number") return target;
  const [w, nodeid] = target;
  const name = xattrName(k, a[1]);
  if (typeof name === "number") return w.done(name);
  return w.done(xattrStatus(w.call(Op.REMOVEXATTR, nodeid, [name])));
}

/** The node a set/removexattr names (a FUSE fd, or a path under a mount), or ENOSYS. */
function xattrTarget(
  k: Task,
  at: number,
  fd: boolean,
  follow: boolean,
): [Walk, number] | number {
  if (fd) {
    const f = fuseFile(k, at);
    if (f === undefined) return k.proc.fds.get(at | 0) === undefined ? -E.EBADF : -E.ENOSYS;
    const w = new Walk(k, f.m);
    const ok = f.ready(w);
    return ok < 0 ? ok : [w, f.nodeid];
  }
  const u = under(k, AT_FDCWD, at);
  if (u === undefined) return -E.ENOSYS;
  const [w, rest] = u;
  const n = w.walk(rest, follow);
  return typeof n === "number" ? w.done(n) : [w, n.nodeid];
}

/** An xattr name as Linux copies it (strncpy_from_user of XATTR_NAME_MAX + 1): 1..255 bytes. */
function xattrName(k: Task, addr: number): string | number {
  const s = k.proc.string(addr, 256);
  if (typeof s === "number") return s === -E.ENAMETOOLONG ? -E.ERANGE : s;
  return s === "" ? -E.ERANGE : s;
}

function xattrStatus(r: ReturnType<Walk["call"]>): number {
  if (typeof r === "number") return r;
  return r.error === E.ENOSYS ? -E.EOPNOTSUPP : -r.error;
}

function status(r: ReturnType<Walk["call"]>): number {
  if (typeof r === "number") return r;
  return -r.error;
}

function entryReply(w: Walk, r: ReturnType<Walk["call"]>): number {
  if (typeof r === "number") return r;
  if (r.error !== 0) return -r.error;
  if (r.body.length >= 8) w.looked.push(Number(r.view.getBigUint64(0, true)));
  return 0;
}

/** An operation on the parent directory of (dirfd, path) with its last name. */
function named(
  k: Task,
  dirfd: number,
  addr: number,
  op: (w: Walk, dir: number, name: string) => number,
) {
  const u = under(k, dirfd, addr);
  if (u === undefined) return undefined;
  const [w, rest] = u;
  const par = w.parent(rest);
  if (typeof par === "number") return w.done(par);
  return w.done(op(w, par[0].nodeid, par[1]));
}

function access(k: Task, dirfd: number, addr: number, mode: number): number | undefined {
  const u = under(k, dirfd, addr);
  if (u === undefined) return undefined;
  const [w, rest] = u;
  const n = w.walk(rest, true);
  if (typeof n === "number" || mode === 0) return w.done(typeof n === "number" ? n : 0);
  const r = w.call(Op.ACCESS, n.nodeid, [args([4, mode], [4, 0])]);
  if (typeof r === "number") return w.done(r);
  // ENOSYS: the daemon leaves checks to the kernel (Linux then stops asking and allows).
  return w.done(r.error === E.ENOSYS ? 0 : -r.error);
}

function rename(k: Task, od: number, op: number, nd: number, np: number, flags: number) {
  const from = under(k, od, op);
  const to = under(k, nd, np, from === undefined);
  if (from === undefined && to === undefined) return undefined;
  if (from === undefined || to === undefined || from[0].m.id !== to[0].m.id) {
    return (from ?? to)![0].done(-E.EXDEV);
  }
  const w = from[0];
  const a = w.parent(from[1]);
  if (typeof a === "number") return w.done(a);
  const b = w.parent(to[1]);
  if (typeof b === "number") return w.done(b);
  const r = flags === 0
    ? w.call(Op.RENAME, a[0].nodeid, [args([8, b[0].nodeid]), a[1], b[1]])
    : w.call(Op.RENAME2, a[0].nodeid, [args([8, b[0].nodeid], [4, flags], [4, 0]), a[1], b[1]]);
  return w.done(status(r));
}

function attrPath(
  k: Task,
  dirfd: number,
  addr: number,
  s: Parameters<typeof setattr>[0],
  follow = true,
) {
  const u = under(k, dirfd, addr);
  if (u === undefined) return undefined;
  const [w, rest] = u;
  const n = w.walk(rest, follow);
  if (typeof n === "number") return w.done(n);
  return w.done(status(w.call(Op.SETATTR, n.nodeid, [setattr(s)])));
}

/** The bytes [off, off + len) of an open FUSE file (READs in MAX_IO pieces), or -errno. */
function readAll(
  w: Walk,
  nodeid: number,
  fh: number,
  off: number,
  len: number,
): Uint8Array | number {
  const out = new Uint8Array(len);
  let done = 0;
  while (done < len) {
    const size = Math.min(len - done, MAX_IO);
    const r = w.call(Op.READ, nodeid, [
      args([8, fh], [8, off + done], [4, size], [4, 0], [8, 0], [4, 0], [4, 0]),
    ]);
    if (typeof r === "number") return r;
    if (r.error !== 0) return -r.error;
    out.set(r.body.subarray(0, Math.min(r.body.length, size)), done);
    done += r.body.length;
    if (r.body.length < size) break; // end of file: the rest stays zero, as past EOF in a page
  }
  return out;
}

/** A host memfd holding `bytes` at offset `at` (the file's own offsets), or -errno. */
function memfdWith(k: Task, bytes: Uint8Array, at: number): number {
  const fd = libc.memfd_create(k.rt.scratchString("elfuse-fuse"), 1 /* MFD_CLOEXEC */);
  if (fd < 0) return k.fail();
  const p = Number(Deno.UnsafePointer.value(Deno.UnsafePointer.of(bytes)));
  if (bytes.length > 0 && Number(libc.pwrite(fd, p, bytes.length, BigInt(at))) !== bytes.length) {
    libc.close(fd);
    return -E.EIO;
  }
  return fd;
}

/** The most elfuse reads for one mmap or execve of a FUSE file. */
const MAX_COPY = 256 << 20;

/**
 * mmap of a FUSE file: its bytes are read (READ) into a host memfd, which the ordinary handler
 * then maps in its place (private: copy-on-write, as a file's private mapping; shared read-only:
 * the file's contents now). A shared writable mapping would need writes to reach the daemon:
 * ENODEV, as Linux answers for a file that cannot be mapped so.
 */
function mapFile(k: Task, a: Float64Array, f: FuseFile, next: Handler): number {
  const shared = (a[3] & 3) === 1;
  if (shared && (a[2] & 2) !== 0) return -E.ENODEV;
  const len = a[1], off = a[5];
  if (len <= 0) return next(k, a);
  if (len > MAX_COPY) return -E.ENOMEM;
  const w = new Walk(k, f.m);
  const ok = f.ready(w);
  if (ok < 0) return ok;
  const bytes = readAll(w, f.nodeid, f.fh, off, len);
  if (typeof bytes === "number") return bytes;
  const mfd = memfdWith(k, bytes, off);
  if (mfd < 0) return mfd;
  const e = k.proc.fds.get(a[4] | 0)!;
  const own = e.hostFd;
  e.hostFd = mfd;
  try {
    return next(k, a);
  } finally {
    e.hostFd = own;
    libc.close(mfd);
  }
}

/**
 * execve of a file under a mount: its bytes are read into a host memfd (as the original's
 * fuse_materialize_path copies it to a temp file), installed as a close-on-exec guest fd, and
 * execveat runs that fd (AT_EMPTY_PATH): the new image is the file's, /proc/self/exe names the
 * memfd. `at`: 0 execve (path in a[0]), 1 execveat (dirfd a[0], path a[1]).
 */
function execUnder(
  k: Task,
  dirfd: number,
  pathAddr: number,
  a: Float64Array,
  at: number,
): number | undefined {
  const u = under(k, dirfd, pathAddr);
  if (u === undefined) return undefined;
  const [w, rest] = u;
  const node = w.walk(rest, true);
  if (typeof node === "number") return w.done(node);
  if ((node.attr.mode & S_IFMT) !== 0o100000) return w.done(-E.EACCES);
  if ((node.attr.mode & 0o111) === 0) return w.done(-E.EACCES);
  if (node.attr.size > MAX_COPY) return w.done(-E.ENOMEM);
  const r = w.call(Op.OPEN, node.nodeid, [args([4, 0], [4, 0])]);
  if (typeof r === "number") return w.done(r);
  if (r.error !== 0) return w.done(-r.error);
  const fh = r.body.length >= 8 ? Number(r.view.getBigUint64(0, true)) : 0;
  const bytes = readAll(w, node.nodeid, fh, 0, node.attr.size);
  const rel = w.call(Op.RELEASE, node.nodeid, [args([8, fh], [4, 0], [4, 0], [8, 0])]);
  if (typeof rel === "number" && rel <= -512) return rel;
  if (typeof bytes === "number") return w.done(bytes);
  const mfd = memfdWith(k, bytes, 0);
  if (mfd < 0) return w.done(mfd);
  // A script's interpreter opens it by /dev/fd/N, so that fd must survive the exec (a program
  // never sees it: close-on-exec).
  const script = bytes[0] === 0x23 && bytes[1] === 0x21;
  const gfd = install(k, mfd, !script, "");
  if (gfd < 0) return w.done(gfd);
  w.done(0);
  // execveat(gfd, "", argv, envp, AT_EMPTY_PATH): "" is the NUL that ends the guest's own path.
  const args6 = new Float64Array(6);
  args6[0] = gfd;
  args6[1] = pathAddr + k.proc.strlen(pathAddr);
  args6[2] = a[1 + at];
  args6[3] = a[2 + at];
  args6[4] = AT_EMPTY_PATH;
  const res = execveat(k, args6);
  if (res === res && res < 0) k.proc.fds.close(gfd); // failed before the point of no return
  return res;
}

const UTIME_NOW = 0x3fffffff, UTIME_OMIT = 0x3ffffffe;

/** utimensat (and futimens, a NULL path): SETATTR with the times, or "now" (FATTR_*_NOW). */
function utimensat(k: Task, a: Float64Array): number | undefined {
  const f = a[1] === 0 ? fuseFile(k, a[0]) : undefined;
  if (a[1] === 0 && f === undefined) return undefined;
  const s: Parameters<typeof setattr>[0] = { valid: 0 };
  const times = a[2];
  if (times === 0) s.valid = 16 | 32 | 128 | 256;
  else {
    if (!k.proc.canRead(times, 32)) return -E.EFAULT;
    const v = k.proc.view;
    for (const [i, bit, now] of [[0, 16, 128], [1, 32, 256]] as const) {
      const sec = Number(v.getBigInt64(times + i * 16, true));
      const nsec = Number(v.getBigInt64(times + i * 16 + 8, true));
      if (nsec === UTIME_OMIT) continue;
      if (nsec === UTIME_NOW) s.valid |= bit | now;
      else if (nsec < 0 || nsec > 999999999) return -E.EINVAL;
      else {
        s.valid |= bit;
        if (i === 0) s.atime = [sec, nsec];
        else s.mtime = [sec, nsec];
      }
    }
  }
  if (f !== undefined) {
    const w = new Walk(k, f.m);
    return f.ready(w) ||
      status(w.call(Op.SETATTR, f.nodeid, [setattr({ ...s, valid: s.valid | 64, fh: f.fh })]));
  }
  return attrPath(k, a[0], a[1], s, (a[3] & AT_SYMLINK_NOFOLLOW) === 0);
}

function fsync(k: Task, fd: number, datasync: number): number | undefined {
  const f = fuseFile(k, fd);
  if (f === undefined) return undefined;
  const w = new Walk(k, f.m);
  const ok = f.ready(w);
  if (ok < 0) return ok;
  const r = w.call(f.dir ? Op.FSYNCDIR : Op.FSYNC, f.nodeid, [
    args([8, f.fh], [4, datasync], [4, 0]),
  ]);
  if (typeof r === "number") return r;
  return r.error === E.ENOSYS ? 0 : -r.error;
}

/** STATFS into the aarch64 struct statfs (120 bytes). */
function statfs(k: Task, w: Walk, nodeid: number, out: number): number {
  const r = w.call(Op.STATFS, nodeid, []);
  if (typeof r === "number") return r;
  if (r.error !== 0) return -r.error;
  if (r.body.length < 56) return -E.EIO;
  if (!k.proc.canWrite(out, 120)) return -E.EFAULT;
  const v = k.proc.view, s = r.view;
  k.proc.mem.fill(0, out, out + 120);
  v.setBigUint64(out, BigInt(FUSE_SUPER_MAGIC), true);
  v.setBigUint64(out + 8, BigInt(s.getUint32(40, true)), true); // bsize
  for (let i = 0; i < 5; i++) v.setBigUint64(out + 16 + i * 8, s.getBigUint64(i * 8, true), true);
  v.setInt32(out + 56, 200 + w.m.id, true);
  v.setBigUint64(out + 64, BigInt(s.getUint32(44, true)), true); // namelen
  v.setBigUint64(out + 72, BigInt(s.getUint32(48, true) || s.getUint32(40, true)), true); // frsize
  return 0;
}

/**
 * The dispatch table with FUSE's routes in front of the handlers they cover (table.ts calls it
 * with the handler by syscall name).
 */
export function withFuseRoutes(
  handlerOf: (name: string) => ((k: Task, a: Float64Array) => number) | undefined,
  set: (name: string, h: (k: Task, a: Float64Array) => number) => void,
): void {
  for (const [name, route] of Object.entries(routes)) {
    const orig = handlerOf(name);
    if (orig === undefined) continue;
    set(name, (k, a) => route(k, a, orig) ?? orig(k, a));
  }
}

export const fuseSyscalls: SyscallDef[] = [
  {
    name: "mount",
    handler: mount,
    args: ["path", "path", "path", "hex", "ptr"],
    status: "partial",
    note:
      "fuse and fuse.<subtype> only (guest-internal FUSE: fd, rootmode, user_id, group_id, allow_other, default_permissions, max_read); other types EPERM, as for an unprivileged process. Under a mount: chdir and fchdir keep a guest-side working directory (relative paths and getcwd use it); execve and mmap read the file into a memfd; a shared writable mmap is ENODEV",
  },
  ...([
    ["setxattr", false, true],
    ["lsetxattr", false, false],
    ["fsetxattr", true, false],
  ] as const).map(([name, fd, follow]): SyscallDef => ({
    name,
    handler: (k, a) => setxattr(k, a, fd, follow),
    args: [fd ? "fd" : "path", "path", "ptr", "uint", "hex"],
    status: "partial",
    note: "under a guest-internal FUSE mount only (SETXATTR); elsewhere ENOSYS",
  })),
  ...([
    ["removexattr", false, true],
    ["lremovexattr", false, false],
    ["fremovexattr", true, false],
  ] as const).map(([name, fd, follow]): SyscallDef => ({
    name,
    handler: (k, a) => removexattr(k, a, fd, follow),
    args: [fd ? "fd" : "path", "path"],
    status: "partial",
    note: "under a guest-internal FUSE mount only (REMOVEXATTR); elsewhere ENOSYS",
  })),
  {
    name: "umount2",
    handler: umount2,
    args: ["path", "hex"],
    status: "partial",
    note: "FUSE mounts only (the daemon's reads then fail with ENODEV); anything else EINVAL",
  },
];

export { normalise };
