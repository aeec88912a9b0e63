// The one place where a guest (dirfd, path) pair becomes a host one. Every path-taking syscall
// calls pathAt(). Without --sysroot a guest path is the host's, byte for byte, and nothing is
// allocated; with one, the rules of runtime/sysroot/resolve.ts apply (docs/sysroot.md).
import type { Sysroot } from "../sysroot/resolve.ts";
import type { Task } from "./task.ts";
import { E } from "./errno.ts";
import type { FdEntry } from "./fdtable.ts";
import { isRendered, isRenderedSystemFile, otherProcessPath } from "./procfs/mod.ts";
import { Slot } from "./scratch.ts";

export const AT_FDCWD = -100;
const HOST_AT_FDCWD = Deno.build.os === "darwin" ? -2 : -100;

/** Scratch slots for rewritten paths (two: rename/link take two paths). */
const PATH_SLOTS = [Slot.PATH_0, Slot.PATH_1];

/**
 * Resolves a guest dirfd and path pointer. Returns the host address of a NUL-terminated path and
 * records the host dirfd it is relative to in `k.path.atDir` (and in `k.path.procRest` whether it
 * names a file elfuse renders), or returns -errno. `slot` selects the scratch area when the path is rewritten.
 * `emptyOk`: AT_EMPTY_PATH was given, so "" names dirfd itself. `follow`: the call follows a
 * symlink in the last component (under a sysroot the walk must then follow it itself).
 */
export function pathAt(
  k: Task,
  dirfd: number,
  addr: number,
  slot = 0,
  emptyOk = false,
  follow = true,
): number {
  const res = k.path;
  res.procRest = undefined;
  res.shown = undefined;
  const len = k.proc.strlen(addr);
  if (len < 0) return len;
  if (len === 0 && !emptyOk) return -E.ENOENT;
  // A path outside the slab (in Rosetta's image, through an alias) is read at its backing.
  if (addr < 0 || addr >= k.proc.mem.length) addr = k.proc.readable(addr, len + 1);
  const fd = dirfd | 0;
  const abs = k.proc.mem[addr] === 0x2f; /* '/' */
  let entry: FdEntry | undefined;
  if (fd === AT_FDCWD || abs) res.atDir = HOST_AT_FDCWD;
  else {
    entry = k.proc.fds.get(fd);
    if (entry === undefined) return -E.EBADF;
    res.atDir = entry.hostFd;
  }
  if (!abs && len > 0) {
    const base = fd === AT_FDCWD ? k.proc.fuseCwd : fuseDir(entry!);
    if (base !== undefined) return fromFuseDir(k, base, addr, slot, follow);
  }
  if (len > 0) {
    const special = procView(k, abs, entry, addr, len);
    if (typeof special === "number") return special;
    if (special !== undefined) {
      res.atDir = HOST_AT_FDCWD;
      return k.rt.scratchString(special, PATH_SLOTS[slot]);
    }
  }
  const sr = k.proc.info.sysroot;
  if (sr !== undefined && len > 0) return inSysroot(k, sr, fd, addr, slot, follow);
  return k.proc.hostBase + addr;
}

/** pathAt under a sysroot: relative paths from a directory inside it are walked as guest paths. */
function inSysroot(
  k: Task,
  sr: Sysroot,
  fd: number,
  addr: number,
  slot: number,
  follow: boolean,
): number {
  let s = checked(k, addr);
  const abs = s.startsWith("/");
  if (!abs) {
    // Relative paths follow the same rules: from the working directory or dirfd as the guest
    // sees it ("../etc/passwd" from /tmp is /etc/passwd, the sysroot's).
    const base = baseDir(k, fd);
    if (base === undefined) return k.proc.hostBase + addr;
    s = `${sr.guestPath(base)}/${s}`;
  }
  const host = sr.hostPath(s, follow);
  if (typeof host === "number") return host;
  k.path.atDir = HOST_AT_FDCWD;
  // The walk may have arrived in /proc or /dev (a symlink to /proc/self/fd/N): the guest's view.
  if (under(host, "/sys")) {
    const hidden = sysPath(host);
    if (hidden !== undefined) return hidden;
  }
  if (under(host, "/proc") || under(host, "/dev")) {
    const special = procPath(k, devView(host));
    if (typeof special === "number") return special;
    if (special !== undefined) return k.rt.scratchString(special, PATH_SLOTS[slot]);
  }
  if (abs && host === s) return k.proc.hostBase + addr;
  return k.rt.scratchString(host, PATH_SLOTS[slot]);
}

/** The guest path of a directory open under a FUSE mount (fuse/vfs.ts FuseFile), if `e` is one. */
function fuseDir(e: FdEntry): string | undefined {
  return e.file?.kind === "fuse" ? (e.file as unknown as { path: string }).path : undefined;
}

/**
 * A relative path from a working directory or dirfd under a FUSE mount, when it did not stay in a
 * mount (fuse/syscalls.ts routes those that do): the host has no such directory to start from, so
 * the path is made absolute in the guest's view and resolved as an absolute one.
 */
function fromFuseDir(k: Task, base: string, addr: number, slot: number, follow: boolean): number {
  const c = canonical(k, `${base}/${checked(k, addr)}`);
  k.path.atDir = HOST_AT_FDCWD;
  if (under(c, "/proc") || under(c, "/dev")) {
    const mapped = devView(c);
    const special = procPath(k, mapped);
    if (typeof special === "number") return special;
    if (special !== undefined) {
      k.path.shown = mapped;
      return k.rt.scratchString(special, PATH_SLOTS[slot]);
    }
  }
  const sr = k.proc.info.sysroot;
  const host = sr === undefined ? c : sr.hostPath(c, follow);
  if (typeof host === "number") return host;
  return k.rt.scratchString(host, PATH_SLOTS[slot]);
}

/** Host directory a relative path starts from: the cwd or the dirfd's directory. */
function baseDir(k: Task, fd: number): string | undefined {
  try {
    if (fd === AT_FDCWD) return Deno.cwd();
    const e = k.proc.fds.get(fd);
    return e === undefined ? undefined : Deno.readLinkSync(`/proc/self/fd/${e.hostFd}`);
  } catch {
    return undefined; // no /proc (macOS): the host resolves it as given
  }
}

/** A host path as the guest sees it (getcwd, readlink of /proc/self/fd): no sysroot prefix. */
export function shownPath(k: Task, host: string): string {
  const sr = k.proc.info.sysroot;
  return sr === undefined ? host : sr.guestPath(host);
}

/** Plain pathAt for a path with no dirfd (chdir, truncate, statfs). */
export function path(k: Task, addr: number): number {
  return pathAt(k, AT_FDCWD, addr);
}

/** /dev/fd and /dev/std{in,out,err}: on Linux links into /proc/self/fd (guest fd numbers). */
const devLinks: Record<string, string> = {
  "/dev/fd": "/proc/self/fd",
  "/dev/stdin": "/proc/self/fd/0",
  "/dev/stdout": "/proc/self/fd/1",
  "/dev/stderr": "/proc/self/fd/2",
};

/** A canonical path with /dev/fd and /dev/std* as the /proc/self/fd paths they stand for. */
function devView(c: string): string {
  return devLinks[c] ?? (under(c, "/dev/fd") ? `/proc/self${c.slice(4)}` : c);
}

/** A path that names nothing (ENOENT), for a guest fd number that is not open. */
const CLOSED_FD = "/nonexistent/elfuse-closed-fd";

/**
 * The guest's view of /proc and /dev/fd: its own /proc/self must show the guest, never the elfuse
 * host process (its Deno fds, its memory). Every spelling that may lead there is made canonical
 * first (".", "..", repeated and trailing slashes, /dev/fd, a relative path from a directory in
 * /proc, or one that climbs out of its directory), so "/proc/self/./fd", "/tmp/../proc/self/fd"
 * and "fd" from /proc/self are /proc/self/fd. Returns the host path to use, -errno, or undefined
 * for an ordinary path (most calls: they only pay for a scan of the bytes, and allocate nothing).
 */
function procView(
  k: Task,
  abs: boolean,
  entry: FdEntry | undefined,
  addr: number,
  len: number,
): string | number | undefined {
  const mem = k.proc.mem;
  let guest: string;
  if (abs) {
    const second = mem[addr + 1];
    const plain = isCanonical(mem, addr, len);
    const sy = second === 0x73 /* s */ && mem[addr + 2] === 0x79; /* y */
    if (plain && second !== 0x70 /* p */ && second !== 0x64 /* d */ && !sy) return undefined;
    guest = checked(k, addr);
    if (plain && under(guest, "/sys")) return sysPath(guest);
    if (plain && !under(guest, "/proc") && !under(guest, "/dev")) return undefined;
  } else {
    const base = relativeBase(k, entry, addr, len);
    if (base === undefined) return undefined;
    guest = `${base}/${checked(k, addr)}`;
  }
  const c = canonical(k, guest);
  if (under(c, "/sys")) return sysPath(c) ?? (abs ? undefined : c);
  if (!under(c, "/proc") && !under(c, "/dev")) return undefined;
  const mapped = devView(c);
  const special = procPath(k, mapped);
  if (special === undefined) return abs ? undefined : c; // the host resolves it as the guest does
  if (typeof special === "string") k.path.shown = mapped;
  return special;
}

/**
 * What of /sys the guest sees: the CPUs (`online`, `possible`, `present`, cpuN/), NUMA nodes,
 * cgroup limits and transparent huge page sizes, which glibc, Go, Python and node read at
 * start-up, and the directories above them; the rest (the host's devices, firmware, DMI tables,
 * its x86 CPU's details elsewhere) is ENOENT, as where /sys has no such entry.
 */
const SYS_SHOWN = [
  "/sys/devices/system/cpu",
  "/sys/devices/system/node",
  "/sys/fs/cgroup",
  "/sys/kernel/mm/transparent_hugepage",
];

/** Whether the guest sees the canonical /sys path `c`. */
export function sysVisible(c: string): boolean {
  return sysPath(c) === undefined;
}

/** -ENOENT for a canonical /sys path the guest does not see, else undefined (the host's). */
function sysPath(c: string): number | undefined {
  for (const shown of SYS_SHOWN) if (under(c, shown) || under(shown, c)) return undefined;
  return -E.ENOENT;
}

/**
 * The path at slab offset `addr`, which pathAt has checked (strlen) and, for a path in an alias,
 * turned into its backing's offset: read straight from the slab.
 */
function checked(k: Task, addr: number): string {
  const mem = k.proc.mem;
  return pathDecoder.decode(mem.subarray(addr, mem.indexOf(0, addr)));
}
const pathDecoder = new TextDecoder();

/** `p` is `dir` or below it. */
function under(p: string, dir: string): boolean {
  return p.startsWith(dir) && (p.length === dir.length || p.charCodeAt(dir.length) === 0x2f);
}

/** No "//", "/./", "/../", nor a trailing "/", "/." or "/.." in the guest string. */
function isCanonical(mem: Uint8Array, addr: number, len: number): boolean {
  const end = addr + len; // mem[end] is the NUL
  for (let i = addr; i < end; i++) {
    if (mem[i] !== 0x2f) continue;
    const a = mem[i + 1];
    if (a === 0x2f || (a === 0 && i > addr)) return false;
    if (a !== 0x2e) continue;
    const b = mem[i + 2];
    if (b === 0x2f || b === 0 || (b === 0x2e && (mem[i + 3] === 0x2f || mem[i + 3] === 0))) {
      return false;
    }
  }
  return true;
}

/** A ".." component in the relative guest string. */
function climbs(mem: Uint8Array, addr: number, len: number): boolean {
  const end = addr + len;
  for (let i = addr; i < end - 1; i++) {
    if (mem[i] === 0x2e && mem[i + 1] === 0x2e && (i === addr || mem[i - 1] === 0x2f)) {
      const next = mem[i + 2];
      if (next === 0x2f || next === 0) return true;
    }
  }
  return false;
}

/** The relative guest string starts with "proc" or "dev" (from "/", that is /proc or /dev). */
function namesProcOrDev(mem: Uint8Array, addr: number): boolean {
  return (mem[addr] === 0x70 && mem[addr + 1] === 0x72 && mem[addr + 2] === 0x6f &&
    mem[addr + 3] === 0x63) ||
    (mem[addr] === 0x64 && mem[addr + 1] === 0x65 && mem[addr + 2] === 0x76);
}

/**
 * The directory a relative path starts from, when it may lead into /proc or /dev: a working
 * directory or dirfd there, or "/" with "proc..." or "dev...", or a path with "..". Otherwise
 * undefined, without a host call (the working directory's kind is cached on the process).
 */
function relativeBase(
  k: Task,
  entry: FdEntry | undefined,
  addr: number,
  len: number,
): string | undefined {
  const mem = k.proc.mem;
  if (entry === undefined) {
    const kind = k.proc.cwdKind ??= cwdKind();
    if (kind === 0 && !climbs(mem, addr, len)) return undefined;
    if (kind === 1 && !climbs(mem, addr, len) && !namesProcOrDev(mem, addr)) return undefined;
    try {
      return Deno.cwd();
    } catch {
      return undefined;
    }
  }
  // A directory fd opened in /proc or /dev keeps its canonical guest path (k.path.shown).
  if (under(entry.path, "/proc") || under(entry.path, "/dev")) return entry.path;
  if (!climbs(mem, addr, len) && !namesProcOrDev(mem, addr)) return undefined;
  try {
    return Deno.readLinkSync(`/proc/self/fd/${entry.hostFd}`);
  } catch {
    return undefined;
  }
}

/** 0: the working directory is elsewhere; 1: it is "/"; 2: it is in /proc or /dev. */
function cwdKind(): number {
  let cwd: string;
  try {
    cwd = Deno.cwd();
  } catch {
    return 0;
  }
  return cwd === "/" ? 1 : under(cwd, "/proc") || under(cwd, "/dev") ? 2 : 0;
}

const MAX_LINKS = 40; // Linux's MAXSYMLINKS

/**
 * `path` with ".", ".." and repeated slashes resolved lexically, except that this process's own
 * links in /proc are followed when more components come after them, as the host kernel would:
 * /proc/self/cwd, /proc/self/root, /proc/self/fd/N (a directory), and /dev/fd.
 */
function canonical(k: Task, path: string): string {
  const out: string[] = [];
  const todo = path.split("/").reverse(); // a stack: next component last
  let links = 0;
  while (todo.length) {
    const c = todo.pop()!;
    if (c === "" || c === ".") continue;
    if (c === "..") {
      out.pop();
      continue;
    }
    out.push(c);
    if (!todo.some((t) => t !== "" && t !== ".") || links >= MAX_LINKS) continue;
    const target = ownLink(k, out);
    if (target === undefined) continue;
    links++;
    out.length = 0;
    todo.push(...target.split("/").reverse());
  }
  return "/" + out.join("/");
}

/** Where one of this process's /proc or /dev links leads (a host path), if `parts` is one. */
function ownLink(k: Task, parts: string[]): string | undefined {
  if (parts.length === 2 && parts[0] === "dev" && parts[1] === "fd") return "/proc/self/fd";
  if (parts[0] !== "proc" || !isOwn(k, parts[1])) return undefined;
  let i = 2;
  if (parts[i] === "task" && parts.length >= 4) i += 2;
  if (parts.length === i + 1 && parts[i] === "cwd") {
    try {
      return Deno.cwd();
    } catch {
      return CLOSED_FD;
    }
  }
  if (parts.length === i + 1 && parts[i] === "root") return "/";
  if (parts.length === i + 2 && parts[i] === "fd" && /^\d+$/.test(parts[i + 1])) {
    const e = k.proc.fds.get(Number(parts[i + 1]));
    if (e === undefined) return CLOSED_FD;
    try {
      const target = Deno.readLinkSync(`/proc/self/fd/${e.hostFd}`);
      return target.startsWith("/") ? target : CLOSED_FD; // pipe:[...] has no components
    } catch {
      return CLOSED_FD;
    }
  }
  return undefined;
}

function isOwn(k: Task, who: string): boolean {
  return who === "self" || who === "thread-self" || Number(who) === k.proc.pid;
}

/** What a rendered file's path stands for on the host: a stat-able /proc file (openat renders). */
const RENDERED_STAND_IN = "/proc/self/comm";

// /proc/self (and /proc/<own pid>, /proc/thread-self, /proc/self/task/TID) paths that must not
// show the elfuse host process itself; `s` is canonical.
function procPath(k: Task, path: string): string | number | undefined {
  // /proc/net is a link to self/net: the guest's own view (procfs/ renders it).
  let s = under(path, "/proc/net") ? `/proc/self${path.slice(5)}` : path;
  // /proc/TID of one of this process's other threads (not listed, but there, as on Linux) is
  // that thread's view: /proc/self/task/TID.
  const tid = /^\/proc\/(\d+)(\/.*)?$/.exec(s);
  if (tid !== null && Number(tid[1]) !== k.proc.pid) {
    if (k.proc.tasks.some((t) => t.tid === Number(tid[1]))) {
      s = `/proc/self/task/${tid[1]}${tid[2] ?? ""}`;
    }
  }
  const m = /^\/proc\/(self|thread-self|\d+)(\/task\/(\d+))?(\/.*)?$/.exec(s);
  if (m === null) {
    if (!isRenderedSystemFile(s)) return undefined;
    k.path.procRest = s;
    return RENDERED_STAND_IN;
  }
  const rest = m[4] ?? "";
  if (!isOwn(k, m[1])) {
    return otherProcessPath(k, Number(m[1]), (m[2] ?? "") + rest) ??
      otherProcess(Number(m[1]), rest);
  }
  if (rest === "/exe") return k.proc.info.hostExePath;
  const info = /^\/fdinfo\/(\d+)$/.exec(rest);
  if (info !== null && k.proc.fds.get(Number(info[1])) === undefined) return CLOSED_FD;
  if (isRendered((m[2] ?? "") + rest)) {
    k.path.procRest = (m[2] ?? "") + rest;
    return RENDERED_STAND_IN;
  }
  if (m[3] !== undefined) {
    // A guest thread's directory: its tid is elfuse's, not a host thread's, so the host's
    // /proc/self/task has no such entry; the process's own directory stands in for it.
    if (!k.proc.tasks.some((t) => t.tid === Number(m[3]))) return -E.ENOENT;
    if (rest === "") return "/proc/self";
  }
  // The thread list: getdents64 lists the guest's threads (procfs/fd_dir.ts listFds).
  if (rest === "/task") return "/proc/self/task";
  const fd = /^\/(fd|fdinfo)\/(\d+)(\/.*)?$/.exec(rest);
  if (fd !== null) {
    const e = k.proc.fds.get(Number(fd[2]));
    return e === undefined ? CLOSED_FD : `/proc/self/${fd[1]}/${e.hostFd}${fd[3] ?? ""}`;
  }
  // The directories themselves: getdents64 lists the guest's fds (procfs/fd_dir.ts listFds).
  if (rest === "/fd" || rest === "/fdinfo") return `/proc/self${rest}`;
  return m[3] !== undefined ? `/proc/self${rest}` : undefined;
}

/**
 * /proc/PID/fd of another process. The fds of another elfuse (a guest's child in a process of
 * its own) or of a pid holder are elfuse's, not the guest's, and elfuse cannot show that guest's
 * own table from here: EACCES, as Linux answers for a process one may not inspect.
 */
function otherProcess(pid: number, rest: string): number | undefined {
  if (!/^\/(fd|fdinfo)(\/|$)/.test(rest)) return undefined;
  try {
    const exe = Deno.readLinkSync(`/proc/${pid}/exe`);
    if (exe === Deno.execPath()) return -E.EACCES;
    const cmdline = Deno.readTextFileSync(`/proc/${pid}/cmdline`);
    if (cmdline.includes("elfuse-pid-holder")) return -E.EACCES;
  } catch {
    // gone, or not ours to read: the host answers
  }
  return undefined;
}
