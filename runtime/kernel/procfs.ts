// Synthesised /proc/self files: the guest must see itself, not the elfuse host process. Each open
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

function comm(k: Task): string {
  return k.name || k.proc.info.exePath.split("/").pop()!.slice(0, 15);
}

function stat(k: Task): string {
  const vsize = k.proc.as.vmas.list.reduce((s, v) => s + (v.end - v.start), 0);
  // Fields 1..52 of proc(5); times and counters the guest cannot be told apart from 0.
  const f: (string | number)[] = [
    k.proc.pid,
    `(${comm(k)})`,
    "R",
    k.proc.ppid(),
    libc.getpgid(0),
    libc.getsid(0),
  ];
  while (f.length < 52) f.push(0);
  f[19] = 1; // num_threads
  f[22] = vsize;
  f[27] = k.proc.info.stackStart ?? 0; // startstack
  f[17] = 20; // priority
  return f.join(" ") + "\n";
}

function status(k: Task): string {
  const { uid, euid, gid, egid } = hostIds();
  return [
    `Name:\t${comm(k)}`,
    "State:\tR (running)",
    `Tgid:\t${k.proc.pid}`,
    `Pid:\t${k.proc.pid}`,
    `PPid:\t${k.proc.ppid()}`,
    `Uid:\t${uid}\t${euid}\t${euid}\t${euid}`,
    `Gid:\t${gid}\t${egid}\t${egid}\t${egid}`,
    "Threads:\t1",
    "",
  ].join("\n");
}

const nulJoined = (list: string[]) => list.map((s) => s + "\0").join("");

/** The files elfuse renders, by the path after /proc/self. */
const files: Record<string, (k: Task) => string | Uint8Array> = {
  "/cmdline": (k) => nulJoined(k.proc.info.argv),
  "/environ": (k) => nulJoined(k.proc.info.envp),
  "/comm": (k) => comm(k) + "\n",
  "/maps": maps,
  "/stat": stat,
  "/status": status,
  "/auxv": (k) =>
    k.proc.mem.slice(
      k.proc.info.auxvAddress ?? 0,
      (k.proc.info.auxvAddress ?? 0) + (k.proc.info.auxvLength ?? 0),
    ),
};

/** True when /proc/self`rest` is one of the rendered files. */
export function isRendered(rest: string): boolean {
  return rest in files;
}

/** Renders /proc/self`rest` into a new host memfd positioned at 0; returns the fd or -errno. */
export function openRendered(k: Task, rest: string): number {
  const content = files[rest](k);
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
