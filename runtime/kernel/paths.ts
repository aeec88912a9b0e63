// The one place where a guest (dirfd, path) pair becomes a host one. Every path-taking syscall
// calls pathAt(). Without --sysroot a guest path is the host's, byte for byte, and nothing is
// allocated; with one, the rules of runtime/sysroot/resolve.ts apply (docs/sysroot.md).
import type { Sysroot } from "../sysroot/resolve.ts";
import type { Kernel } from "./kernel.ts";
import { E } from "./errno.ts";
import { isRendered } from "./procfs.ts";

export const AT_FDCWD = -100;
const HOST_AT_FDCWD = Deno.build.os === "darwin" ? -2 : -100;

/** Host dirfd chosen by the last pathAt() call. */
export let atDir = HOST_AT_FDCWD;
/** Set by pathAt() when the path is a /proc/self file elfuse renders (the part after /proc/self). */
export let procRest: string | undefined;

/** Offsets in kernel scratch memory for rewritten paths (two: rename/link take two paths). */
const PATH_SLOTS = [0x8000, 0xa000];

/**
 * Resolves a guest dirfd and path pointer. Returns the host address of a NUL-terminated path and
 * sets `atDir`, or returns -errno. `slot` selects the scratch area when the path is rewritten.
 * `emptyOk`: AT_EMPTY_PATH was given, so "" names dirfd itself. `follow`: the call follows a
 * symlink in the last component (under a sysroot the walk must then follow it itself).
 */
export function pathAt(
  k: Kernel,
  dirfd: number,
  addr: number,
  slot = 0,
  emptyOk = false,
  follow = true,
): number {
  procRest = undefined;
  const len = k.strlen(addr);
  if (len < 0) return len;
  if (len === 0 && !emptyOk) return -E.ENOENT;
  const fd = dirfd | 0;
  if (fd === AT_FDCWD || k.mem[addr] === 0x2f /* '/' */) atDir = HOST_AT_FDCWD;
  else {
    const e = k.fds.get(fd);
    if (e === undefined) return -E.EBADF;
    atDir = e.hostFd;
  }
  const second = k.mem[addr + 1];
  if (k.mem[addr] === 0x2f && len >= 6 && (second === 0x70 /* p */ || second === 0x64 /* d */)) {
    const s = k.string(addr) as string;
    const special = procPath(k, s);
    if (special !== undefined) return k.scratchString(special, PATH_SLOTS[slot]);
  }
  const sr = k.info.sysroot;
  if (sr !== undefined && len > 0) return inSysroot(k, sr, fd, addr, slot, follow);
  return k.hostBase + addr;
}

/** pathAt under a sysroot: relative paths from a directory inside it are walked as guest paths. */
function inSysroot(
  k: Kernel,
  sr: Sysroot,
  fd: number,
  addr: number,
  slot: number,
  follow: boolean,
): number {
  let s = k.string(addr) as string;
  const abs = s.startsWith("/");
  if (!abs) {
    const base = baseDir(k, fd);
    if (base === undefined || !sr.contains(base)) return k.hostBase + addr;
    s = `${sr.guestPath(base)}/${s}`;
  }
  const host = sr.hostPath(s, follow, !abs);
  if (typeof host === "number") return host;
  atDir = HOST_AT_FDCWD;
  if (abs && host === s) return k.hostBase + addr;
  return k.scratchString(host, PATH_SLOTS[slot]);
}

/** Host directory a relative path starts from: the cwd or the dirfd's directory. */
function baseDir(k: Kernel, fd: number): string | undefined {
  try {
    if (fd === AT_FDCWD) return Deno.cwd();
    const e = k.fds.get(fd);
    return e === undefined ? undefined : Deno.readLinkSync(`/proc/self/fd/${e.hostFd}`);
  } catch {
    return undefined; // no /proc (macOS): the host resolves it as given
  }
}

/** A host path as the guest sees it (getcwd, readlink of /proc/self/fd): no sysroot prefix. */
export function shownPath(k: Kernel, host: string): string {
  const sr = k.info.sysroot;
  return sr === undefined ? host : sr.guestPath(host);
}

/** Plain pathAt for a path with no dirfd (chdir, truncate, statfs). */
export function path(k: Kernel, addr: number): number {
  return pathAt(k, AT_FDCWD, addr);
}

/** /dev/fd/N and /dev/std{in,out,err}: on Linux links into /proc/self/fd (guest fd numbers). */
const devFd: Record<string, string> = {
  "/dev/stdin": "/proc/self/fd/0",
  "/dev/stdout": "/proc/self/fd/1",
  "/dev/stderr": "/proc/self/fd/2",
};

// /proc/self (and /proc/<own pid>) paths that must not show the elfuse host process itself.
function procPath(k: Kernel, path: string): string | undefined {
  const s = path.startsWith("/dev/fd/") ? `/proc/self/fd/${path.slice(8)}` : devFd[path] ?? path;
  const m = /^\/proc\/(self|thread-self|\d+)(\/.*)?$/.exec(s);
  if (m === null) return undefined;
  if (m[1] !== "self" && m[1] !== "thread-self" && Number(m[1]) !== k.pid) return undefined;
  const rest = m[2] ?? "";
  if (rest === "/exe") return k.info.hostExePath;
  if (isRendered(rest)) {
    procRest = rest;
    return "/proc/self/comm"; // stat-able stand-in; openat serves the rendered content
  }
  const fd = /^\/fd\/(\d+)$/.exec(rest);
  if (fd !== null) {
    const e = k.fds.get(Number(fd[1]));
    return e === undefined ? "/nonexistent/elfuse-closed-fd" : `/proc/self/fd/${e.hostFd}`;
  }
  return undefined;
}
