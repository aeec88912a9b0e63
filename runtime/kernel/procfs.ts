// Synthesised /proc/self files: the guest must see itself, not the elfuse host process. Each open
// renders the file once into a host memfd, which then reads, seeks and closes like a file.
import { libc } from "../host/libc.ts";
import type { Kernel } from "./kernel.ts";
import { hostIds } from "../host/credentials.ts";

const enc = new TextEncoder();
const hex = (n: number, w = 8) => n.toString(16).padStart(w, "0");

function maps(k: Kernel): string {
  let out = "";
  for (const v of k.as.vmas.list) {
    const perms = (v.prot & 1 ? "r" : "-") + (v.prot & 2 ? "w" : "-") + (v.prot & 4 ? "x" : "-") +
      (v.shared ? "s" : "p");
    const head = `${hex(v.start)}-${hex(v.end)} ${perms} 00000000 00:00 0`;
    // Linux pads the name to column 73.
    out += v.name ? `${head.padEnd(72)} ${v.name}\n` : `${head}\n`;
  }
  return out;
}

function comm(k: Kernel): string {
  return k.name || k.info.exePath.split("/").pop()!.slice(0, 15);
}

function stat(k: Kernel): string {
  const vsize = k.as.vmas.list.reduce((s, v) => s + (v.end - v.start), 0);
  // Fields 1..52 of proc(5); times and counters the guest cannot be told apart from 0.
  const f: (string | number)[] = [
    k.pid,
    `(${comm(k)})`,
    "R",
    k.ppid(),
    libc.getpgid(0),
    libc.getsid(0),
  ];
  while (f.length < 52) f.push(0);
  f[19] = 1; // num_threads
  f[22] = vsize;
  f[27] = k.info.stackStart ?? 0; // startstack
  f[17] = 20; // priority
  return f.join(" ") + "\n";
}

function status(k: Kernel): string {
  const { uid, euid, gid, egid } = hostIds();
  return [
    `Name:\t${comm(k)}`,
    "State:\tR (running)",
    `Tgid:\t${k.pid}`,
    `Pid:\t${k.pid}`,
    `PPid:\t${k.ppid()}`,
    `Uid:\t${uid}\t${euid}\t${euid}\t${euid}`,
    `Gid:\t${gid}\t${egid}\t${egid}\t${egid}`,
    "Threads:\t1",
    "",
  ].join("\n");
}

const nulJoined = (list: string[]) => list.map((s) => s + "\0").join("");

/** The files elfuse renders, by the path after /proc/self. */
const files: Record<string, (k: Kernel) => string | Uint8Array> = {
  "/cmdline": (k) => nulJoined(k.info.argv),
  "/environ": (k) => nulJoined(k.info.envp),
  "/comm": (k) => comm(k) + "\n",
  "/maps": maps,
  "/stat": stat,
  "/status": status,
  "/auxv": (k) =>
    k.mem.slice(k.info.auxvAddress ?? 0, (k.info.auxvAddress ?? 0) + (k.info.auxvLength ?? 0)),
};

/** True when /proc/self`rest` is one of the rendered files. */
export function isRendered(rest: string): boolean {
  return rest in files;
}

/** Renders /proc/self`rest` into a new host memfd positioned at 0; returns the fd or -errno. */
export function openRendered(k: Kernel, rest: string): number {
  const content = files[rest](k);
  const bytes = typeof content === "string" ? enc.encode(content) : content;
  const name = k.scratchString("elfuse-proc");
  const fd = libc.memfd_create(name, 1 /* MFD_CLOEXEC */);
  if (fd < 0) return k.fail();
  const copy = new Uint8Array(bytes); // a stable buffer for the host write
  const addr = Number(Deno.UnsafePointer.value(Deno.UnsafePointer.of(copy)));
  if (copy.length > 0) libc.write(fd, addr, copy.length);
  libc.lseek(fd, 0, 0);
  return fd;
}
