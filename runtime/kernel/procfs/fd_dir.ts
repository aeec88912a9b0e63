// getdents64 on the guest's own directories of fds and threads (/proc/self/fd, /proc/PID/fdinfo,
// /proc/self/task): the guest's fd numbers and thread ids, never the host directory's list of
// elfuse's fds and Deno's threads.
import { libc } from "../../host/libc.ts";
import type { Task } from "../task.ts";
import { openFlagsFromHost } from "../../host/mod.ts";

const enc = new TextEncoder();

/** An fd's path that names a listed directory: /proc/self/fd, /proc/PID/fdinfo, /proc/self/task. */
const FD_DIR = /^\/proc\/(self|thread-self|\d+)(?:(?:\/task\/\d+)?\/(fd|fdinfo)|\/(task))$/;

/** Whether `path` (an fd's canonical guest path) is one of this process's fd directories. */
export function isFdDir(k: Task, path: string): boolean {
  if (!path.startsWith("/proc/")) return false;
  const m = FD_DIR.exec(path);
  return m !== null && (m[1] === "self" || m[1] === "thread-self" || Number(m[1]) === k.proc.pid);
}

const DT_DIR = 4, DT_REG = 8, DT_LNK = 10;
const SEEK_SET = 0, SEEK_CUR = 1;

/**
 * getdents64 on one of this process's fd directories: ".", ".." and the guest's own fd numbers
 * (the host's directory would list elfuse's). The position is the host fd's offset, as Linux's
 * proc_readfd uses f_pos (0 ".", 1 "..", then fd + 2), so rewinddir and dups behave.
 * Returns the bytes written at guest `buf` (at most `len`), or -errno.
 */
export function listFds(k: Task, hostFd: number, path: string, buf: number, len: number): number {
  let pos = Number(libc.lseek(hostFd, 0, SEEK_CUR));
  if (pos < 0) return k.fail();
  const names: [string, number, number][] = [[".", 0, DT_DIR], ["..", 1, DT_DIR]];
  if (path.endsWith("/task")) {
    // Thread ids in creation order; the position after one is its index (Linux: f_pos too).
    k.proc.tasks.forEach((t, i) => names.push([String(t.tid), i + 2, DT_DIR]));
  } else {
    const type = path.endsWith("/fdinfo") ? DT_REG : DT_LNK;
    for (const fd of k.proc.fds.open()) names.push([String(fd), fd + 2, type]);
  }
  const view = k.proc.view;
  let off = 0;
  for (const [name, at, t] of names) {
    if (at < pos) continue;
    const reclen = (19 + name.length + 1 + 7) & ~7; // struct linux_dirent64, 8-byte aligned
    if (off + reclen > len) {
      if (off === 0) return -22; // EINVAL: the buffer cannot hold one entry
      break;
    }
    const d = buf + off;
    view.setBigUint64(d, BigInt(0x10000 + at), true); // d_ino
    view.setBigInt64(d + 8, BigInt(at + 1), true); // d_off: where the next read starts
    view.setUint16(d + 16, reclen, true);
    view.setUint8(d + 18, t);
    k.proc.mem.fill(0, d + 19, d + reclen);
    enc.encodeInto(name, k.proc.mem.subarray(d + 19, d + reclen - 1));
    off += reclen;
    pos = at + 1;
  }
  libc.lseek(hostFd, pos, SEEK_SET);
  return off;
}

const F_GETFL = 3, O_CLOEXEC = 0o2000000;

/**
 * /proc/self/fdinfo/N: the host's fdinfo of the fd behind guest fd N, with the guest's view of
 * its flags (aarch64's numbers, and its own close-on-exec: the host fd always has one) and,
 * for a description elfuse emulates, only the lines every fd has (the host's would describe
 * the fd that stands for it). Undefined when N is not open.
 */
export function fdinfo(k: Task, fd: number): string | undefined {
  const e = k.proc.fds.get(fd);
  if (e === undefined) return undefined;
  let text = "";
  try {
    text = Deno.readTextFileSync(`/proc/self/fdinfo/${e.hostFd}`);
  } catch { /* no /proc (macOS): position and flags only */ }
  const hostFlags = libc.fcntl(e.hostFd, F_GETFL, 0);
  const flags = (openFlagsFromHost(Math.max(hostFlags, 0)) & ~O_CLOEXEC) |
    (e.cloexec ? O_CLOEXEC : 0);
  const lines = text.split("\n").filter((l) => l !== "");
  const keep = e.file === undefined ? lines : lines.filter((l) => /^(pos|mnt_id|ino):/.test(l));
  const out = keep.map((l) => l.startsWith("flags:") ? `flags:\t0${flags.toString(8)}` : l);
  if (!out.some((l) => l.startsWith("pos:"))) {
    out.unshift(`pos:\t${Math.max(0, Number(libc.lseek(e.hostFd, 0, 1)))}`);
  }
  if (!out.some((l) => l.startsWith("flags:"))) out.splice(1, 0, `flags:\t0${flags.toString(8)}`);
  return out.join("\n") + "\n";
}
