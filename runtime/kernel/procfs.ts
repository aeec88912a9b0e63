// Synthesised /proc/self files (and /proc/net, which is /proc/self/net): the guest must see
// itself, not the elfuse host process. Each open
// renders the file once into a host memfd, which then reads, seeks and closes like a file.
import { libc } from "../host/libc.ts";
import type { Task } from "./task.ts";
import { fuseMountRows } from "./fuse/mounts.ts";

const enc = new TextEncoder();
const hex = (n: number, w = 8) => n.toString(16).padStart(w, "0");

function maps(k: Task): string {
  let out = "";
  for (const v of k.proc.as.vmas.list) {
    const perms = (v.prot & 1 ? "r" : "-") + (v.prot & 2 ? "w" : "-") + (v.prot & 4 ? "x" : "-") +
      (v.shared ? "s" : "p");
    const head = `${hex(v.start)}-${hex(v.end)} ${perms} 00000000 00:00 0`;
    // Linux pads the name to column 73.
    out += v.name ? `${head.padEnd(72)} ${v.name}\n` : `${head}\n`;
  }
  return out;
}

/** A thread's name: its own (PR_SET_NAME), else the program's, 15 bytes at most. */
function comm(k: Task): string {
  return k.name || k.proc.info.exePath.split("/").pop()!.slice(0, 15);
}

/** The file's subject: the process (its leader's view, tid the pid) or one of its threads. */
interface Subject {
  k: Task;
  tid: number;
}

function stat({ k, tid }: Subject): string {
  const vsize = k.proc.as.vmas.list.reduce((s, v) => s + (v.end - v.start), 0);
  // Fields 1..52 of proc(5); times and counters the guest cannot be told apart from 0.
  const f: (string | number)[] = [
    tid,
    `(${comm(k)})`,
    "R",
    k.proc.ppid(),
    libc.getpgid(0),
    libc.getsid(0),
  ];
  while (f.length < 52) f.push(0);
  f[19] = k.proc.tasks.length; // num_threads
  f[22] = vsize;
  f[27] = k.proc.info.stackStart ?? 0; // startstack
  f[17] = 20; // priority
  return f.join(" ") + "\n";
}

function status({ k, tid }: Subject): string {
  const { uid, euid, suid, fsuid, gid, egid, sgid, fsgid } = k.proc.creds;
  return [
    `Name:\t${comm(k)}`,
    "State:\tR (running)",
    `Tgid:\t${k.proc.pid}`,
    `Pid:\t${tid}`,
    `PPid:\t${k.proc.ppid()}`,
    `Uid:\t${uid}\t${euid}\t${suid}\t${fsuid}`,
    `Gid:\t${gid}\t${egid}\t${sgid}\t${fsgid}`,
    `VmLck:\t${k.proc.locks.bytes(k.proc.as.vmas) / 1024} kB`, // mlock'd and mapped
    `Threads:\t${k.proc.tasks.length}`,
    "",
  ].join("\n");
}

/** The header line of each /proc/net table (what a host without them shows: macOS). */
const netHeaders: Record<string, string> = {
  tcp:
    "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n",
  tcp6:
    "  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n",
  udp:
    "   sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops\n",
  udp6:
    "  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops\n",
  unix: "Num       RefCount Protocol Flags    Type St Inode Path\n",
};

/** Socket inodes of host fds in /proc/self/fd (all of elfuse's, or only `of`). */
function socketInodes(of?: number[]): Set<string> {
  const out = new Set<string>();
  const names = of?.map(String) ?? [...Deno.readDirSync("/proc/self/fd")].map((d) => d.name);
  for (const n of names) {
    try {
      const m = /^socket:\[(\d+)\]$/.exec(Deno.readLinkSync(`/proc/self/fd/${n}`));
      if (m !== null) out.add(m[1]);
    } catch { /* closed meanwhile */ }
  }
  return out;
}

/**
 * /proc/net/{tcp,tcp6,udp,udp6,unix}: the host's tables (the guest shares the host's network
 * namespace), less the unix sockets elfuse holds for itself (signal listener, fork spares, pid
 * holders), which the guest must not find; the header alone where the host has no such file.
 */
function netTable(name: string) {
  return ({ k }: Subject): string => {
    let text: string;
    try {
      text = Deno.readTextFileSync(`/proc/net/${name}`);
    } catch {
      return netHeaders[name];
    }
    if (name !== "unix") return text;
    const guest = socketInodes(k.proc.fds.open().map((fd) => k.proc.fds.get(fd)!.hostFd));
    const hidden = new Set([...socketInodes()].filter((i) => !guest.has(i)));
    return text.split("\n").filter((line, i) => i === 0 || !hidden.has(line.split(/\s+/)[6]))
      .join("\n");
  };
}

const nulJoined = (list: string[]) => list.map((s) => s + "\0").join("");

/** The host's own table (what the guest saw before), or "" where there is none (macOS). */
function hostTable(name: string): string {
  try {
    return Deno.readTextFileSync(`/proc/self/${name}`);
  } catch {
    return "";
  }
}

/** Octal escapes of space, tab, newline and backslash, as Linux's mangle() writes them. */
const mangle = (s: string) =>
  s.replace(/[ \t\n\\]/g, (c) => "\\" + c.charCodeAt(0).toString(8).padStart(3, "0"));
const MOUNT_OPTS = new Set(["rw", "ro", "nosuid", "nodev", "noexec", "relatime"]);

/** /proc/self/mounts: the host's lines, then the process tree's FUSE mounts (fuse/mounts.ts). */
function mounts({ k }: Subject): string {
  return hostTable("mounts") +
    fuseMountRows(k.rt).map(([src, dst, type, opts]) =>
      `${mangle(src)} ${mangle(dst)} ${type} ${opts} 0 0\n`
    ).join("");
}

/** /proc/self/mountinfo: as mounts, with per-mount and superblock options apart. */
function mountinfo({ k }: Subject): string {
  return hostTable("mountinfo") +
    fuseMountRows(k.rt).map(([src, dst, type, opts], i) => {
      const o = opts.split(",");
      const mnt = o.filter((x) => MOUNT_OPTS.has(x)).join(",");
      const sup = [o[0], ...o.filter((x) => !MOUNT_OPTS.has(x))].join(",");
      return `${1000 + i} 1 0:${200 + i} / ${mangle(dst)} ${mnt} - ${type} ${mangle(src)} ${sup}\n`;
    }).join("");
}

/** The files elfuse renders, by the path after /proc/self (or /proc/self/task/TID). */
const files: Record<string, (s: Subject) => string | Uint8Array> = {
  "/cmdline": ({ k }) => nulJoined(k.proc.info.argv),
  "/environ": ({ k }) => nulJoined(k.proc.info.envp),
  "/comm": ({ k }) => comm(k) + "\n",
  "/maps": ({ k }) => maps(k),
  "/stat": stat,
  "/mounts": mounts,
  "/mountinfo": mountinfo,
  "/status": status,
  "/net/tcp": netTable("tcp"),
  "/net/tcp6": netTable("tcp6"),
  "/net/udp": netTable("udp"),
  "/net/udp6": netTable("udp6"),
  "/net/unix": netTable("unix"),
  "/auxv": ({ k }) =>
    k.proc.mem.slice(
      k.proc.info.auxvAddress ?? 0,
      (k.proc.info.auxvAddress ?? 0) + (k.proc.info.auxvLength ?? 0),
    ),
};
/** The per-thread files of /proc/self/task/TID. */
const TASK_FILE = /^\/task\/(\d+)(\/(?:comm|stat|status))$/;

/** True when /proc/self`rest` is one of the rendered files. */
export function isRendered(rest: string): boolean {
  return rest in files || TASK_FILE.test(rest);
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

/** Renders /proc/self`rest` into a new host memfd positioned at 0; returns the fd or -errno. */
export function openRendered(k: Task, rest: string): number {
  const found = subject(k, rest);
  if (found === undefined) return -2; // ENOENT: no such thread (any more)
  const content = files[found[1]](found[0]);
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

/** An fd's path that names a directory of guest fds: /proc/self/fd, /proc/PID/fdinfo, ... */
const FD_DIR = /^\/proc\/(self|thread-self|\d+)(?:\/task\/\d+)?\/(fd|fdinfo)$/;

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
  const type = path.endsWith("/fdinfo") ? DT_REG : DT_LNK;
  const names: [string, number, number][] = [[".", 0, DT_DIR], ["..", 1, DT_DIR]];
  for (const fd of k.proc.fds.open()) names.push([String(fd), fd + 2, type]);
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
