// The one place where a guest (dirfd, path) pair becomes a host one. Every path-taking syscall
// calls pathAt(). Without --sysroot a guest path is the host's, byte for byte, and nothing is
// allocated; with one, the rules of runtime/sysroot/resolve.ts apply (docs/sysroot.md).
import type { Sysroot } from "../sysroot/resolve.ts";
import type { Task } from "./task.ts";
import { E } from "./errno.ts";
import { isRendered } from "./procfs.ts";
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
  const len = k.proc.strlen(addr);
  if (len < 0) return len;
  if (len === 0 && !emptyOk) return -E.ENOENT;
  const fd = dirfd | 0;
  if (fd === AT_FDCWD || k.proc.mem[addr] === 0x2f /* '/' */) res.atDir = HOST_AT_FDCWD;
  else {
    const e = k.proc.fds.get(fd);
    if (e === undefined) return -E.EBADF;
    res.atDir = e.hostFd;
  }
  const second = k.proc.mem[addr + 1];
  if (
    k.proc.mem[addr] === 0x2f && len >= 6 && (second === 0x70 /* p */ || second === 0x64 /* d */)
  ) {
    const s = k.proc.string(addr) as string;
    const special = procPath(k, s);
    if (special !== undefined) return k.rt.scratchString(special, PATH_SLOTS[slot]);
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
  let s = k.proc.string(addr) as string;
  const abs = s.startsWith("/");
  if (!abs) {
    const base = baseDir(k, fd);
    if (base === undefined || !sr.contains(base)) return k.proc.hostBase + addr;
    s = `${sr.guestPath(base)}/${s}`;
  }
  const host = sr.hostPath(s, follow, !abs);
  if (typeof host === "number") return host;
  k.path.atDir = HOST_AT_FDCWD;
  if (abs && host === s) return k.proc.hostBase + addr;
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

/** /dev/fd/N and /dev/std{in,out,err}: on Linux links into /proc/self/fd (guest fd numbers). */
const devFd: Record<string, string> = {
  "/dev/stdin": "/proc/self/fd/0",
  "/dev/stdout": "/proc/self/fd/1",
  "/dev/stderr": "/proc/self/fd/2",
};

// /proc/self (and /proc/<own pid>) paths that must not show the elfuse host process itself.
function procPath(k: Task, path: string): string | undefined {
  let s = path.startsWith("/dev/fd/") ? `/proc/self/fd/${path.slice(8)}` : devFd[path] ?? path;
  if (s.startsWith("/proc/net/")) s = `/proc/self${s.slice(5)}`; // /proc/net links to self/net
  const m = /^\/proc\/(self|thread-self|\d+)(\/.*)?$/.exec(s);
  if (m === null) return undefined;
  if (m[1] !== "self" && m[1] !== "thread-self" && Number(m[1]) !== k.proc.pid) return undefined;
  const rest = m[2] ?? "";
  if (rest === "/exe") return k.proc.info.hostExePath;
  if (isRendered(rest)) {
    k.path.procRest = rest;
    return "/proc/self/comm"; // stat-able stand-in; openat serves the rendered content
  }
  const fd = /^\/fd\/(\d+)$/.exec(rest);
  if (fd !== null) {
    const e = k.proc.fds.get(Number(fd[1]));
    return e === undefined ? "/nonexistent/elfuse-closed-fd" : `/proc/self/fd/${e.hostFd}`;
  }
  return undefined;
}
