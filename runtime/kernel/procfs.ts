// Synthesised /proc/self files (and /proc/net, which is /proc/self/net): the guest must see
// itself, not the elfuse host process. Each open
// renders the file once into a host memfd, which then reads, seeks and closes like a file.
import { libc } from "../host/libc.ts";
import type { Task } from "./task.ts";
import { hostIds } from "../host/credentials.ts";

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
  const { uid, euid, gid, egid } = hostIds();
  return [
    `Name:\t${comm(k)}`,
    "State:\tR (running)",
    `Tgid:\t${k.proc.pid}`,
    `Pid:\t${tid}`,
    `PPid:\t${k.proc.ppid()}`,
    `Uid:\t${uid}\t${euid}\t${euid}\t${euid}`,
    `Gid:\t${gid}\t${egid}\t${egid}\t${egid}`,
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

/** The files elfuse renders, by the path after /proc/self (or /proc/self/task/TID). */
const files: Record<string, (s: Subject) => string | Uint8Array> = {
  "/cmdline": ({ k }) => nulJoined(k.proc.info.argv),
  "/environ": ({ k }) => nulJoined(k.proc.info.envp),
  "/comm": ({ k }) => comm(k) + "\n",
  "/maps": ({ k }) => maps(k),
  "/stat": stat,
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
  libc.lseek(fd, 0, 0);
  return fd;
}
