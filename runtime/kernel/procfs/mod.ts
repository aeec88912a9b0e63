// The guest's /proc: it must see itself and an aarch64 Linux system, not the elfuse host process
// (its Deno fds, memory, threads) nor x86_64 CPUs. The files elfuse renders are in table.ts; each
// open renders the file once into a host memfd, which then reads, seeks and closes like a file.
// Keys (k.path.procRest, set by paths.ts): "/stat" or "/task/TID/stat" for the process's own
// files, "/proc/cpuinfo" for the system's.
import { libc } from "../../host/libc.ts";
import { hostIds } from "../../host/credentials.ts";
import { Slot } from "../scratch.ts";
import { card, hasRegistry } from "./registry.ts";
import { otherFiles } from "./other_process.ts";
import type { Task } from "../task.ts";
import { processFiles, type Rendered, systemFiles } from "./table.ts";
import type { Subject } from "./process_files.ts";

export { isFdDir, listFds } from "./fd_dir.ts";
import { fdinfo } from "./fd_dir.ts";

const enc = new TextEncoder();
const onLinux = Deno.build.os === "linux";

/** The per-thread files of /proc/self/task/TID. */
const TASK_FILE = /^\/task\/(\d+)(\/.+)$/;
/** /proc/self/fdinfo/N (or a thread's). */
const FDINFO = /^\/fdinfo\/(\d+)$/;

/** True when /proc/self`rest` is one of the rendered files. */
export function isRendered(rest: string): boolean {
  if (rest in processFiles || FDINFO.test(rest)) return true;
  const m = TASK_FILE.exec(rest);
  return m !== null && (m[2] in processFiles || FDINFO.test(m[2]));
}

/** True when the canonical path `path` (under /proc, not a process's) is rendered. */
export function isRenderedSystemFile(path: string): boolean {
  const f = systemFiles[path];
  return f !== undefined && !(onLinux && f.hostOnLinux === true);
}

/** The subject and file of /proc/self`rest`: a thread's file, or the process's (its leader's). */
function subject(k: Task, rest: string): [Subject, string] | undefined {
  const m = TASK_FILE.exec(rest);
  if (m === null) {
    const leader = k.proc.tasks.find((t) => t.tid === k.proc.pid) ?? k;
    return [{ k: leader, tid: k.proc.pid }, rest];
  }
  const t = k.proc.tasks.find((t) => t.tid === Number(m[1]));
  return t === undefined ? undefined : [{ k: t, tid: t.tid }, m[2]];
}

function render(k: Task, key: string): Rendered | undefined {
  if (key.startsWith("/proc/")) return systemFiles[key]?.render(k);
  if (key.startsWith("pid:")) {
    // Another guest process: "pid:PID/file".
    const slash = key.indexOf("/"), pid = Number(key.slice(4, slash));
    const c = card(k.rt, pid);
    return c === undefined ? undefined : otherFiles[key.slice(slash)]?.(pid, c);
  }
  const found = subject(k, key);
  if (found === undefined) return undefined;
  const fd = FDINFO.exec(found[1]);
  return fd !== null ? fdinfo(k, Number(fd[1])) : processFiles[found[1]](found[0]);
}

/** Renders the file named by `key` into a new host memfd positioned at 0; the fd or -errno. */
export function openRendered(k: Task, key: string): number {
  const content = render(k, key);
  if (content === undefined) return -2; // ENOENT: no such thread (any more)
  const bytes = typeof content === "string" ? enc.encode(content) : content;
  const name = k.rt.scratchString("elfuse-proc");
  const fd = libc.memfd_create(name, 1 /* MFD_CLOEXEC */);
  if (fd < 0) return k.fail();
  const copy = new Uint8Array(bytes); // a stable buffer for the host write
  const addr = Number(Deno.UnsafePointer.value(Deno.UnsafePointer.of(copy)));
  if (copy.length > 0) libc.write(fd, addr, copy.length);
  // The guest gets it read-only, as a /proc file is: a write, ftruncate or fallocate on the
  // memfd would otherwise grow host memory (a fuzzed fallocate of 2^52 bytes did, until the
  // host ran out). Reopened through its /proc link; the read-write fd goes.
  const path = k.rt.scratchString(`/proc/self/fd/${fd}`);
  const ro = libc.openat(-100, path, 0 /* O_RDONLY */ | O_CLOEXEC, 0);
  libc.close(fd);
  return ro < 0 ? k.fail() : ro;
}

const O_CLOEXEC = 0o2000000;
const O_WRONLY = 1;

/**
 * A rendered file opened for writing. They are mode 0444: EACCES, except for root, whom Linux
 * lets open them (CAP_DAC_OVERRIDE) and whose writes then fail with EINVAL (a process's files:
 * seq_file without a write) or EIO (proc_create'd system files: pde_write). A host /proc file
 * of the same kind opened write-only gives exactly that. O_RDWR is served read-only: its writes
 * give EBADF instead (open work).
 */
export function openRenderedForWriting(k: Task, flags: number): number {
  if (hostIds().euid !== 0) return -13; // EACCES
  const key = k.path.procRest!;
  if ((flags & 3) !== O_WRONLY) return openRendered(k, key);
  const standIn = key.startsWith("/proc/") ? "/proc/version" : "/proc/self/stat";
  const fd = libc.openat(-100, k.rt.scratchString(standIn), O_WRONLY | O_CLOEXEC, 0);
  return fd < 0 ? k.fail() : fd;
}

/** Files of another guest process that are elfuse's, not the guest's, to show: EACCES. */
const PRIVATE =
  /^\/(fd|fdinfo|maps|smaps|smaps_rollup|mem|pagemap|auxv|limits|io|mounts|mountinfo|net)(\/|$)/;

/**
 * /proc/PID`rest` of another process (paths.ts): a rendered file (k.path.procRest set), the
 * host path to use, -errno, or undefined for the host's own. Where the run's registry knows the
 * guest processes, a pid that is not one is ENOENT, as Linux answers for no such process.
 */
export function otherProcessPath(
  k: Task,
  pid: number,
  path: string,
): string | number | undefined {
  let rest = path;
  if (!hasRegistry(k.rt)) return undefined;
  const c = card(k.rt, pid);
  if (c === undefined) return -2; // ENOENT
  // Its one thread shown (task/PID) is the process; task/ itself lists only it (listFiltered).
  const task = /^\/task\/(\d+)(\/.*)?$/.exec(rest);
  if (task !== null) {
    if (Number(task[1]) !== pid) return -2;
    if (task[2] === undefined) return `/proc/${pid}`;
    rest = task[2];
  }
  if (rest in otherFiles) {
    k.path.procRest = `pid:${pid}${rest}`;
    return RENDERED_STAND_IN;
  }
  if (rest === "/exe") return c.hostExe;
  if (PRIVATE.test(rest)) return -13; // EACCES
  return undefined;
}

/** What readlink of /proc/PID/exe says for another guest process, if `path` is one. */
export function otherExeLink(k: Task, path: string): string | undefined {
  const m = /^\/proc\/(\d+)\/exe$/.exec(path);
  if (m === null || !hasRegistry(k.rt)) return undefined;
  return card(k.rt, Number(m[1]))?.exe;
}

const RENDERED_STAND_IN = "/proc/self/comm";

/** The pid whose task/ directory `path` names, when it is another guest process's. */
export function otherTaskDir(k: Task, path: string): number | undefined {
  const m = /^\/proc\/(\d+)\/task\/*$/.exec(path);
  if (m === null || Number(m[1]) === k.proc.pid || !hasRegistry(k.rt)) return undefined;
  return card(k.rt, Number(m[1])) === undefined ? undefined : Number(m[1]);
}

/** Whether a directory fd's path is /proc itself. */
export function isProcRoot(path: string): boolean {
  return /^\/proc\/*$/.test(path);
}

/**
 * getdents64 on /proc: the host's entries, less the pids that are not this run's guest
 * processes (elfuse's own helpers, other users' processes). Returns bytes written or -errno.
 */
export function listProcRoot(k: Task, hostFd: number, buf: number, len: number): number {
  if (!hasRegistry(k.rt)) {
    return k.host(Number(libc.getdents64(hostFd, k.proc.hostBase + buf, len)));
  }
  return listFiltered(
    k,
    hostFd,
    buf,
    len,
    (name) =>
      !/^\d+$/.test(name) || Number(name) === k.proc.pid || card(k.rt, Number(name)) !== undefined,
  );
}

/**
 * getdents64 of the host directory `hostFd` with only the entries `keep` accepts, written at
 * guest `buf` (at most `len` bytes); the host fd's position stays right after the last entry
 * given, so the next call goes on from there. Bytes written, or -errno.
 */
export function listFiltered(
  k: Task,
  hostFd: number,
  buf: number,
  len: number,
  keep: (name: string) => boolean,
): number {
  const s = k.rt.scratch, at = Slot.BUFFER, chunk = Math.min(len, 0x8000);
  const dec = new TextDecoder();
  let out = 0;
  for (;;) {
    let pos = Number(libc.lseek(hostFd, 0, 1 /* SEEK_CUR */));
    const n = Number(libc.getdents64(hostFd, s.address + at, chunk));
    if (n <= 0) return out > 0 ? out : n < 0 ? k.fail() : 0;
    for (let o = 0; o < n;) {
      const reclen = s.view.getUint16(at + o + 16, true);
      const next = Number(s.view.getBigInt64(at + o + 8, true));
      const nameEnd = s.u8.indexOf(0, at + o + 19);
      const name = dec.decode(s.u8.subarray(at + o + 19, nameEnd));
      if (keep(name)) {
        if (out + reclen > len) {
          libc.lseek(hostFd, pos, 0 /* SEEK_SET */); // this entry comes first next time
          return out > 0 ? out : -22; // EINVAL: the buffer cannot hold one entry
        }
        k.proc.mem.set(s.u8.subarray(at + o, at + o + reclen), buf + out);
        out += reclen;
      }
      pos = next;
      o += reclen;
    }
    if (out > 0) return out;
  }
}
