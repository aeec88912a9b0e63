// Path syscalls under a FUSE mount, as FUSE requests (client.ts): the path is made absolute and
// normalised in the guest's view, the deepest mount containing it is found (mounts.ts), and the
// rest is walked one LOOKUP per component from the root node, following symlinks inside the
// mount as Linux's walk does. Nodes looked up only for the walk are forgotten at the end of the
// syscall (BATCH_FORGET); an open file keeps its node until RELEASE. Open files are emulated
// descriptions (FuseFile) whose stand-in host fd is /dev/null, always ready for poll, as a
// regular file is.
import { libc } from "../../host/libc.ts";
import { E } from "../errno.ts";
import type { Description, DescriptionState, FdEntry } from "../fdtable.ts";
import { shownPath } from "../paths.ts";
import type { Task } from "../task.ts";
import { ERESTARTNOINTR } from "../wait.ts";
import type { FuseMount, MountTable } from "./mounts.ts";
import { begin, type Reply, request } from "./client.ts";
import {
  args,
  type Attr,
  ATTR_OUT_ATTR,
  DIRENT,
  DIRENTPLUS,
  dtype,
  encodeDev,
  ENTRY_ATTR,
  FUSE_DO_READDIRPLUS,
  FUSE_READDIRPLUS_AUTO,
  MAX_IO,
  Op,
  readAttr,
  ROOT_ID,
} from "./protocol.ts";
import { sendFrame } from "./transport.ts";

export const AT_FDCWD = -100;
const S_IFMT = 0o170000, S_IFDIR = 0o040000, S_IFLNK = 0o120000;
const MAX_LINKS = 40;
const enc = new TextEncoder(), dec = new TextDecoder();

/** st_dev of a mount: an anonymous device (major 0) as Linux gives FUSE. */
export function mountDev(m: FuseMount): number {
  return encodeDev(0, 200 + m.id);
}

/** A normalised absolute guest path ("." and ".." folded, no trailing slash). */
export function normalise(p: string): string {
  const out: string[] = [];
  for (const c of p.split("/")) {
    if (c === "" || c === ".") continue;
    if (c === "..") out.pop();
    else out.push(c);
  }
  return "/" + out.join("/");
}

/** The absolute guest path a (dirfd, path) pair names, or -errno. */
export function guestPath(k: Task, dirfd: number, s: string): string | number {
  if (s.startsWith("/")) return normalise(s);
  let base: string;
  if ((dirfd | 0) === AT_FDCWD) base = k.proc.fuseCwd ?? shownPath(k, Deno.cwd());
  else {
    const e = k.proc.fds.get(dirfd | 0);
    if (e === undefined) return -E.EBADF;
    if (e.file instanceof FuseFile) base = e.file.path;
    else if (e.path.startsWith("/")) base = e.path;
    else return -E.ENOENT;
  }
  return normalise(`${base}/${s}`);
}

/** Where a guest path lands: a FUSE mount and the path inside it, or undefined (the host's). */
export function locate(t: MountTable, p: string): [FuseMount, string] | undefined {
  return t.find(p);
}

/** A walked node: its id and attributes, and the lookups the walk made (to forget). */
export interface Node {
  nodeid: number;
  attr: Attr;
}

/** What a syscall under a mount carries through its requests. */
export class Walk {
  readonly k: Task;
  readonly m: FuseMount;
  readonly looked: number[] = [];

  /** `start`: the first Walk of this run of the syscall (a second one, as rename's, passes false). */
  constructor(k: Task, m: FuseMount, start = true) {
    this.k = k;
    this.m = m;
    if (start) begin(k);
  }

  call(opcode: number, nodeid: number, parts: (Uint8Array | string)[]): Reply | number {
    if (this.m.minor === -1) return -E.ECONNREFUSED;
    return request(this.k, this.m, opcode, nodeid, parts);
  }

  /** Ends the syscall: forgets the walk's nodes, returns `r`. */
  done(r: number, keep = 0): number {
    if (r === -530 /* BLOCKED */ || r <= -512 && r >= -530) return r; // runs again
    const ids = this.looked.filter((n, i) => !(n === keep && this.looked.indexOf(keep) === i));
    if (ids.length > 0) {
      const body = args(
        [4, ids.length],
        [4, 0],
        ...ids.flatMap((n) => [[8, n], [8, 1]] as [8, number][]),
      );
      request(this.k, this.m, Op.BATCH_FORGET, 0, [body], true);
    }
    return r;
  }

  /** LOOKUP `name` in `parent`. */
  lookup(parent: number, name: string): Node | number {
    if (enc.encode(name).length > 255) return -E.ENAMETOOLONG;
    const r = this.call(Op.LOOKUP, parent, [name]);
    if (typeof r === "number") return r;
    if (r.error !== 0) return -r.error;
    if (r.body.length < ENTRY_ATTR + 88) return -E.EIO;
    const nodeid = Number(r.view.getBigUint64(0, true));
    if (nodeid === 0) return -E.ENOENT; // a negative entry
    this.looked.push(nodeid);
    return { nodeid, attr: readAttr(r.view, ENTRY_ATTR) };
  }

  getattr(nodeid: number, fh?: number): Node | number {
    const r = this.call(Op.GETATTR, nodeid, [
      args([4, fh === undefined ? 0 : 1], [4, 0], [8, fh ?? 0]),
    ]);
    if (typeof r === "number") return r;
    if (r.error !== 0) return -r.error;
    if (r.body.length < ATTR_OUT_ATTR + 88) return -E.EIO;
    return { nodeid, attr: readAttr(r.view, ATTR_OUT_ATTR) };
  }

  readlink(nodeid: number): string | number {
    const r = this.call(Op.READLINK, nodeid, []);
    if (typeof r === "number") return r;
    if (r.error !== 0) return -r.error;
    return dec.decode(r.body);
  }

  /**
   * Walks `rest` (the path inside the mount) to its node. `follow`: a symlink as the last
   * component is followed. `parent`: stop at the parent, returning it and the last name.
   */
  walk(rest: string, follow: boolean, links = 0): Node | number {
    const comps = rest.split("/").filter((c) => c !== "");
    let node: Node | number = this.getattr(ROOT_ID);
    if (typeof node === "number") return node;
    let dirPath = "";
    for (let i = 0; i < comps.length; i++) {
      if ((node.attr.mode & S_IFMT) !== S_IFDIR) return -E.ENOTDIR;
      const next: Node | number = this.lookup(node.nodeid, comps[i]);
      if (typeof next === "number") return next;
      const last = i === comps.length - 1;
      if ((next.attr.mode & S_IFMT) === S_IFLNK && (!last || follow)) {
        if (links >= MAX_LINKS) return -E.ELOOP;
        const target = this.readlink(next.nodeid);
        if (typeof target === "number") return target;
        const tail = comps.slice(i + 1).join("/");
        const joined = target.startsWith("/")
          ? normalise(`${target}/${tail}`)
          : normalise(`${this.m.target}/${dirPath}/${target}/${tail}`);
        // Only links that stay in this mount are followed here.
        if (joined !== this.m.target && !joined.startsWith(this.m.target + "/")) return -E.EXDEV;
        return this.walk(joined.slice(this.m.target.length), follow, links + 1);
      }
      dirPath += "/" + comps[i];
      node = next;
    }
    return node;
  }

  /** The parent directory's node and the last name of `rest`. */
  parent(rest: string): [Node, string] | number {
    const p = normalise(rest);
    if (p === "/") return -E.EBUSY; // the mount point itself
    const cut = p.lastIndexOf("/");
    const dir = this.walk(p.slice(0, cut), true);
    if (typeof dir === "number") return dir;
    if ((dir.attr.mode & S_IFMT) !== S_IFDIR) return -E.ENOTDIR;
    return [dir, p.slice(cut + 1)];
  }
}

/** An open file or directory under a mount. */
export class FuseFile implements Description {
  readonly kind = "fuse";
  refs = 0;
  readonly m: FuseMount;
  nodeid: number;
  fh: number;
  readonly flags: number;
  readonly dir: boolean;
  /** Its guest path (relative paths from it, /proc/self/fd). */
  readonly path: string;
  pos = 0;
  /** The sending socket of the thread that opened it (for RELEASE, which nobody waits for). */
  sender: number;
  /**
   * A copy in a fork child's host process: it opens the file again (LOOKUP, OPEN) before its
   * first request, so each host process holds its own node reference and handle and RELEASEs
   * only those (the daemon cannot count one handle across processes that close on their own).
   */
  reopen = false;

  constructor(
    m: FuseMount,
    nodeid: number,
    fh: number,
    flags: number,
    dir: boolean,
    path: string,
    sender: number,
  ) {
    this.m = m;
    this.nodeid = nodeid;
    this.fh = fh;
    this.flags = flags;
    this.dir = dir;
    this.path = path;
    this.sender = sender;
  }

  standIn(): number {
    return openNull();
  }

  #walk(k: Task): Walk {
    return new Walk(k, this.m);
  }

  /** Opens it again in this host process when it came from a fork (see `reopen`): 0 or -errno. */
  ready(w: Walk): number {
    if (!this.reopen) return 0;
    const node = w.walk(this.path.slice(this.m.target.length), true);
    if (typeof node === "number") return w.done(node);
    const oflags = this.flags & ~(0o100 | 0o200 | 0o1000 | 0o100000 | 0o10000000);
    const r = w.call(this.dir ? Op.OPENDIR : Op.OPEN, node.nodeid, [args([4, oflags], [4, 0])]);
    if (typeof r === "number") return w.done(r);
    if (r.error !== 0) return w.done(-r.error);
    this.nodeid = node.nodeid;
    this.fh = r.body.length >= 8 ? Number(r.view.getBigUint64(0, true)) : 0;
    this.sender = w.k.fuse!.sock;
    this.reopen = false;
    w.done(0, node.nodeid);
    // The syscall runs again from the start, now with this process's own handle (its requests
    // so far must not be replayed into the ones it makes next).
    return -ERESTARTNOINTR;
  }

  read(k: Task, _e: FdEntry, buf: number, len: number): number {
    return this.pread(k, buf, len, -1);
  }

  /** READ at `off` (-1: the file position, which then moves). */
  pread(k: Task, buf: number, len: number, off: number): number {
    if (this.dir) return -E.EISDIR;
    if ((this.flags & 3) === 1) return -E.EBADF;
    const w = this.#walk(k);
    const ok = this.ready(w);
    if (ok < 0) return ok;
    const at = off < 0 ? this.pos : off;
    const size = Math.min(len, MAX_IO, this.m.maxRead || MAX_IO);
    const r = w.call(Op.READ, this.nodeid, [
      args([8, this.fh], [8, at], [4, size], [4, 0], [8, 0], [4, this.flags], [4, 0]),
    ]);
    if (typeof r === "number") return r;
    if (r.error !== 0) return -r.error;
    const n = Math.min(r.body.length, size);
    k.proc.mem.set(r.body.subarray(0, n), buf);
    if (off < 0) this.pos += n;
    return n;
  }

  write(k: Task, _e: FdEntry, bytes: Uint8Array): number {
    return this.pwrite(k, bytes, -1);
  }

  /** WRITE in chunks of the daemon's max_write at `off` (-1: the file position, O_APPEND's end). */
  pwrite(k: Task, bytes: Uint8Array, off: number): number {
    if (this.dir) return -E.EISDIR;
    if ((this.flags & 3) === 0) return -E.EBADF;
    const w = this.#walk(k);
    const ok = this.ready(w);
    if (ok < 0) return ok;
    let at = off < 0 ? this.pos : off;
    if (off < 0 && (this.flags & 0o2000) !== 0) {
      // Linux passes the handle (FUSE_GETATTR_FH) for regular files only (fuse_do_getattr): a
      // directory's handle is the daemon's directory stream, not something it can fstat.
      const st = w.getattr(this.nodeid, this.dir ? undefined : this.fh);
      if (typeof st === "number") return st;
      at = st.attr.size;
    }
    let done = 0;
    const chunk = this.m.maxWrite || 4096;
    while (done < bytes.length || bytes.length === 0) {
      const part = bytes.subarray(done, done + chunk);
      const r = w.call(Op.WRITE, this.nodeid, [
        args([8, this.fh], [8, at + done], [4, part.length], [4, 0], [8, 0], [4, this.flags], [
          4,
          0,
        ]),
        part.slice(),
      ]);
      if (typeof r === "number") return done > 0 && r > -512 ? done : r;
      if (r.error !== 0) return done > 0 ? done : -r.error;
      const n = Math.min(r.view.byteLength >= 4 ? r.view.getUint32(0, true) : 0, part.length);
      done += n;
      if (n < part.length || bytes.length === 0) break;
    }
    if (off < 0) this.pos = at + done;
    return done;
  }

  seek(k: Task, off: number, whence: number): number {
    let base = 0;
    if (whence === 1) base = this.pos;
    else if (whence === 2) {
      const w = this.#walk(k);
      const ok = this.ready(w);
      if (ok < 0) return ok;
      // Linux passes the handle (FUSE_GETATTR_FH) for regular files only (fuse_do_getattr): a
      // directory's handle is the daemon's directory stream, not something it can fstat.
      const st = w.getattr(this.nodeid, this.dir ? undefined : this.fh);
      if (typeof st === "number") return st;
      base = st.attr.size;
    } else if (whence !== 0) return -E.EINVAL;
    const to = base + off;
    if (to < 0) return -E.EINVAL;
    this.pos = to;
    return to;
  }

  /**
   * getdents64 from READDIR or READDIRPLUS: as many linux_dirent64 records as fit in `len`.
   * READDIRPLUS when the daemon took FUSE_DO_READDIRPLUS: always, or with FUSE_READDIRPLUS_AUTO
   * only from the start of the directory (Linux's fuse_use_readdirplus, less its hint from
   * lookups). Each of its entries with a node, other than "." and "..", counts as a lookup in the
   * daemon; elfuse caches no inode, so they are forgotten at the end (fuse_direntplus_link).
   */
  getdents(k: Task, buf: number, len: number): number {
    if (!this.dir) return -E.ENOTDIR;
    const w = this.#walk(k);
    const ok = this.ready(w);
    if (ok < 0) return ok;
    const fl = this.m.flags;
    const plus = (fl & FUSE_DO_READDIRPLUS) !== 0 &&
      ((fl & FUSE_READDIRPLUS_AUTO) === 0 || this.pos === 0);
    const head = plus ? DIRENTPLUS : DIRENT, d0 = plus ? DIRENTPLUS - DIRENT : 0;
    const r = w.call(plus ? Op.READDIRPLUS : Op.READDIR, this.nodeid, [
      args([8, this.fh], [8, this.pos], [4, Math.min(len, 4096)], [4, 0], [8, 0], [4, this.flags], [
        4,
        0,
      ]),
    ]);
    if (typeof r === "number") return r;
    if (r.error !== 0) return -r.error;
    const v = k.proc.view, src = r.view, body = r.body;
    if (plus) {
      // Every entry's lookup is the daemon's to count down, whether it fits in `len` or not.
      for (let at = 0; at + head <= body.length;) {
        const namelen = src.getUint32(at + d0 + 16, true);
        const nodeid = Number(src.getBigUint64(at, true));
        const name = body.subarray(at + head, at + head + namelen);
        const dots = name[0] === 0x2e && (namelen === 1 || (namelen === 2 && name[1] === 0x2e));
        if (nodeid !== 0 && !dots && namelen > 0) w.looked.push(nodeid);
        at += (head + namelen + 7) & ~7;
      }
    }
    return w.done(this.#records(k, body, src, v, head, d0, buf, len));
  }

  /** The dirents of a READDIR(PLUS) reply as linux_dirent64 records at `buf` (`len` bytes). */
  #records(
    k: Task,
    body: Uint8Array,
    src: DataView,
    v: DataView,
    head: number,
    d0: number,
    buf: number,
    len: number,
  ): number {
    let at = 0, out = 0;
    while (at + head <= body.length) {
      const ino = src.getBigUint64(at + d0, true);
      const next = Number(src.getBigUint64(at + d0 + 8, true));
      const namelen = src.getUint32(at + d0 + 16, true);
      const type = src.getUint32(at + d0 + 20, true);
      if (namelen === 0 || namelen > 255 || at + head + namelen > body.length) {
        return out > 0 ? out : -E.EIO;
      }
      const reclen = (19 + namelen + 1 + 7) & ~7;
      if (out + reclen > len) {
        if (out === 0) return -E.EINVAL;
        break;
      }
      v.setBigUint64(buf + out, ino, true);
      v.setBigInt64(buf + out + 8, BigInt(next), true);
      v.setUint16(buf + out + 16, reclen, true);
      v.setUint8(buf + out + 18, type);
      k.proc.mem.set(body.subarray(at + head, at + head + namelen), buf + out + 19);
      k.proc.mem.fill(0, buf + out + 19 + namelen, buf + out + reclen);
      out += reclen;
      this.pos = next;
      at += (head + namelen + 7) & ~7;
    }
    return out;
  }

  /** fstat / statx on the open file: GETATTR with its handle. */
  attr(k: Task): Attr | number {
    const w = this.#walk(k);
    const ok = this.ready(w);
    if (ok < 0) return ok;
    // Linux passes the handle (FUSE_GETATTR_FH) for regular files only (fuse_do_getattr): a
    // directory's handle is the daemon's directory stream, not something it can fstat.
    const st = w.getattr(this.nodeid, this.dir ? undefined : this.fh);
    return typeof st === "number" ? st : st.attr;
  }

  save(): DescriptionState {
    return {
      kind: this.kind,
      m: this.m,
      nodeid: this.nodeid,
      fh: this.fh,
      flags: this.flags,
      dir: this.dir,
      path: this.path,
      pos: this.pos,
    };
  }

  /** The last fd closed: FLUSH and RELEASE (nobody waits for the replies), then FORGET. */
  release(): void {
    if (this.reopen || this.sender < 0) return; // never opened in this host process
    const ids = { uid: libc.getuid(), gid: libc.getgid(), pid: 0 };
    const send = (op: number, body: Uint8Array, unique: number) => {
      const f = new Uint8Array(40 + body.length);
      const v = new DataView(f.buffer);
      v.setUint32(0, f.length, true);
      v.setUint32(4, op, true);
      v.setBigUint64(8, BigInt(unique), true);
      v.setBigUint64(16, BigInt(this.nodeid), true);
      v.setUint32(24, ids.uid, true);
      v.setUint32(28, ids.gid, true);
      f.set(body, 40);
      sendFrame(this.sender, this.m.socket, f);
    };
    // Uniques nobody waits for: odd would mean FUSE_INTERRUPT, so even and never a client's.
    const u = 4 + 2 * (this.fh % 0x7fff);
    if (!this.dir && (this.flags & 3) !== 0) {
      send(Op.FLUSH, args([8, this.fh], [4, 0], [4, 0], [8, 0]), u);
    }
    send(
      this.dir ? Op.RELEASEDIR : Op.RELEASE,
      args([8, this.fh], [4, this.flags], [4, 0], [8, 0]),
      u + 2,
    );
    send(Op.FORGET, args([8, 1]), 0);
  }
}

/** A fork child's copy of an open FUSE file (its own position from here on). */
export function restoreFuseFile(s: DescriptionState): Description {
  const f = new FuseFile(
    s.m as FuseMount,
    s.nodeid as number,
    s.fh as number,
    s.flags as number,
    s.dir as boolean,
    s.path as string,
    -1,
  );
  f.pos = s.pos as number;
  f.reopen = true;
  return f;
}

const nullPath = enc.encode("/dev/null\0");

export function openNull(): number {
  const O_RDWR = 2, O_CLOEXEC = Deno.build.os === "darwin" ? 0x1000000 : 0o2000000;
  const at = Deno.build.os === "darwin" ? -2 : -100;
  return libc.openat(
    at,
    Number(Deno.UnsafePointer.value(Deno.UnsafePointer.of(nullPath))),
    O_RDWR | O_CLOEXEC,
    0,
  );
}

export { dtype };
