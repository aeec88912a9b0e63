// The guest's /proc: it must see itself and an aarch64 Linux system, not the elfuse host process
// (its Deno fds, memory, threads) nor x86_64 CPUs. The files elfuse renders are in table.ts; each
// open renders the file once into a host memfd, which then reads, seeks and closes like a file.
// Keys (k.path.procRest, set by paths.ts): "/stat" or "/task/TID/stat" for the process's own
// files, "/proc/cpuinfo" for the system's.
import { libc } from "../../host/libc.ts";
import { hostIds } from "../../host/credentials.ts";
import type { Task } from "../task.ts";
import { processFiles, type Rendered, systemFiles } from "./table.ts";
import type { Subject } from "./process_files.ts";

export { isFdDir, listFds } from "./fd_dir.ts";

const enc = new TextEncoder();
const onLinux = Deno.build.os === "linux";

/** The per-thread files of /proc/self/task/TID. */
const TASK_FILE = /^\/task\/(\d+)(\/.+)$/;

/** True when /proc/self`rest` is one of the rendered files. */
export function isRendered(rest: string): boolean {
  if (rest in processFiles) return true;
  const m = TASK_FILE.exec(rest);
  return m !== null && m[2] in processFiles;
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
  const found = subject(k, key);
  return found === undefined ? undefined : processFiles[found[1]](found[0]);
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
