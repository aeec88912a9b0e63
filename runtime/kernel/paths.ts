// The one place where a guest (dirfd, path) pair becomes a host one. Every path-taking syscall
// calls pathAt(); the sysroot rules (issue: dynamic programs) will live here too.
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
 * `emptyOk`: AT_EMPTY_PATH was given, so "" names dirfd itself.
 */
export function pathAt(k: Kernel, dirfd: number, addr: number, slot = 0, emptyOk = false): number {
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
  if (k.mem[addr] === 0x2f && len >= 6 && k.mem[addr + 1] === 0x70 /* p */) {
    const s = k.string(addr) as string;
    const special = procPath(k, s);
    if (special !== undefined) return k.scratchString(special, PATH_SLOTS[slot]);
  }
  return k.hostBase + addr;
}

/** Plain pathAt for a path with no dirfd (chdir, truncate, statfs). */
export function path(k: Kernel, addr: number): number {
  return pathAt(k, AT_FDCWD, addr);
}

// /proc/self (and /proc/<own pid>) paths that must not show the elfuse host process itself.
function procPath(k: Kernel, s: string): string | undefined {
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
