// /proc/PID files about the process and its threads: status, stat, limits, comm, cmdline,
// environ, auxv, io. What is the guest's own (names, ids, threads, signal masks and dispositions,
// limits, memory) comes from the kernel's state; what the elfuse process shares with it on Linux
// (CPU time, faults, start time, capabilities, affinity, io counters) from the host's /proc.
import { libc } from "../../host/libc.ts";
import type { Task } from "../task.ts";
import { TaskState } from "../task.ts";
import { memoryTotals, statusMemory } from "./memory_files.ts";
import { hostProcText, hostStatFields, keyedLines } from "./host_proc.ts";

/** The file's subject: the process (its leader's view, tid the pid) or one of its threads. */
export interface Subject {
  k: Task;
  tid: number;
}

/** A thread's name: its own (PR_SET_NAME), else the program's, 15 bytes at most. */
export function comm(k: Task): string {
  return k.name || k.proc.info.exePath.split("/").pop()!.slice(0, 15);
}

/** State letter and word as Linux's task_state_array names them. */
function state(k: Task): [string, string] {
  if (k.state === TaskState.Blocked) return ["S", "sleeping"];
  if (k.state === TaskState.Exited) return ["Z", "zombie"];
  return ["R", "running"];
}

const hex16 = (hi: number, lo: number) =>
  (hi >>> 0).toString(16).padStart(8, "0") + (lo >>> 0).toString(16).padStart(8, "0");

/** SigIgn and SigCgt: dispositions SIG_IGN (1) and a handler (>1), bit n-1 for signal n. */
function dispositions(k: Task): { ign: [number, number]; cgt: [number, number] } {
  const ign: [number, number] = [0, 0], cgt: [number, number] = [0, 0];
  k.proc.actions.forEach((a, sig) => {
    if (sig < 1 || sig > 64 || a.handler === 0) return;
    const set = a.handler === 1 ? ign : cgt;
    if (sig <= 32) set[1] |= 1 << (sig - 1);
    else set[0] |= 1 << (sig - 33);
  });
  return { ign, cgt };
}

export function status({ k, tid }: Subject): string {
  const { uid, euid, suid, fsuid, gid, egid, sgid, fsgid } = k.proc.creds;
  const host = keyedLines(hostProcText("status"));
  // Umask, groups, capabilities, seccomp, affinity: the host process's, which are the guest's.
  const h = (key: string, fallback: string) => `${key}:\t${host.get(key) ?? fallback}\n`;
  const [letter, word] = state(k);
  const pgid = libc.getpgid(0), sid = libc.getsid(0);
  const { ign, cgt } = dispositions(k);
  const p = k.proc;
  let out = `Name:\t${comm(k)}\n` + h("Umask", "0022") + `State:\t${letter} (${word})\n` +
    `Tgid:\t${p.pid}\nNgid:\t0\nPid:\t${tid}\nPPid:\t${p.ppid()}\nTracerPid:\t0\n` +
    `Uid:\t${uid}\t${euid}\t${suid}\t${fsuid}\nGid:\t${gid}\t${egid}\t${sgid}\t${fsgid}\n` +
    `FDSize:\t${Math.max(64, 2 ** Math.ceil(Math.log2(p.fds.entries.length || 1)))}\n` +
    h("Groups", "") + `NStgid:\t${p.pid}\nNSpid:\t${tid}\nNSpgid:\t${pgid}\nNSsid:\t${sid}\n`;
  out += statusMemory(memoryTotals(k));
  out += `CoreDumping:\t0\nTHP_enabled:\t1\nThreads:\t${p.tasks.length}\n` +
    `SigQ:\t0/${p.rlimits[11][0] === Infinity ? "unlimited" : p.rlimits[11][0]}\n` +
    `SigPnd:\t${hex16(k.signals.pending.hi, k.signals.pending.lo)}\n` +
    `ShdPnd:\t${hex16(p.pending.hi, p.pending.lo)}\n` +
    `SigBlk:\t${hex16(k.signals.maskHi, k.signals.maskLo)}\n` +
    `SigIgn:\t${hex16(ign[0], ign[1])}\nSigCgt:\t${hex16(cgt[0], cgt[1])}\n`;
  for (const key of ["CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb"]) {
    out += h(key, "0000000000000000");
  }
  out += `NoNewPrivs:\t${p.noNewPrivs}\n` + h("Seccomp", "0") +
    h("Cpus_allowed", "1") + h("Cpus_allowed_list", "0") + h("Mems_allowed", "1") +
    h("Mems_allowed_list", "0") + h("voluntary_ctxt_switches", "0") +
    h("nonvoluntary_ctxt_switches", "0");
  return out;
}

const sigWord = (hi: number, lo: number) => (hi >>> 0) * 4294967296 + (lo >>> 0);

export function stat({ k, tid }: Subject): string {
  const p = k.proc;
  const t = memoryTotals(k);
  const host = hostStatFields();
  const { ign, cgt } = dispositions(k);
  // Fields 1..52 of proc(5); from field 3 on, index i holds field i + 1.
  const f: (string | number)[] = [tid, `(${comm(k)})`, state(k)[0], p.ppid()];
  f.push(libc.getpgid(0), libc.getsid(0));
  while (f.length < 52) f.push(0);
  // The host's: tty_nr, tpgid, faults and CPU times, nice, start time, processor, policy.
  for (const field of [7, 8, 10, 11, 12, 13, 14, 15, 16, 17, 19, 22, 39, 40, 41, 42]) {
    const v = host.get(field);
    if (v !== undefined) f[field - 1] = v;
  }
  f[17] = 20; // priority
  f[19] = p.tasks.length; // num_threads
  f[22] = t.size; // vsize
  f[23] = Math.floor(t.rss / 4096); // rss in pages
  f[24] = p.rlimits[5][0] === Infinity ? "18446744073709551615" : p.rlimits[5][0]; // rsslim
  f[27] = p.info.stackStart ?? 0; // startstack
  f[30] = sigWord(p.pending.hi, p.pending.lo);
  f[31] = sigWord(k.signals.maskHi, k.signals.maskLo);
  f[32] = sigWord(ign[0], ign[1]);
  f[33] = sigWord(cgt[0], cgt[1]);
  f[37] = 17; // exit_signal: SIGCHLD
  return f.join(" ") + "\n";
}

/** RLIMIT_* in order: name, units (fs/proc/base.c lnames). */
const LIMITS: [string, string][] = [
  ["Max cpu time", "seconds"],
  ["Max file size", "bytes"],
  ["Max data size", "bytes"],
  ["Max stack size", "bytes"],
  ["Max core file size", "bytes"],
  ["Max resident set", "bytes"],
  ["Max processes", "processes"],
  ["Max open files", "files"],
  ["Max locked memory", "bytes"],
  ["Max address space", "bytes"],
  ["Max file locks", "locks"],
  ["Max pending signals", "signals"],
  ["Max msgqueue size", "bytes"],
  ["Max nice priority", ""],
  ["Max realtime priority", ""],
  ["Max realtime timeout", "us"],
];

/** /proc/PID/limits: the guest's limits (prlimit), laid out as fs/proc/base.c proc_pid_limits. */
export function limits({ k }: Subject): string {
  const v = (n: number) => (n === Infinity ? "unlimited" : String(n)).padEnd(20);
  let out = `${"Limit".padEnd(25)} ${"Soft Limit".padEnd(20)} ${"Hard Limit".padEnd(20)} ${
    "Units".padEnd(10)
  }\n`;
  LIMITS.forEach(([name, unit], i) => {
    const [soft, hard] = k.proc.rlimits[i];
    out += `${name.padEnd(25)} ${v(soft)} ${v(hard)} ${unit ? unit.padEnd(10) : ""}\n`;
  });
  return out;
}

const nulJoined = (list: string[]) => list.map((s) => s + "\0").join("");

export const cmdline = ({ k }: Subject) => nulJoined(k.proc.info.argv);
export const environ = ({ k }: Subject) => nulJoined(k.proc.info.envp);
export const commFile = ({ k }: Subject) => comm(k) + "\n";

export function auxv({ k }: Subject): Uint8Array {
  const at = k.proc.info.auxvAddress ?? 0;
  return k.proc.mem.slice(at, at + (k.proc.info.auxvLength ?? 0));
}

/** /proc/PID/io: the host process's counters (its reads and writes are the guest's). */
export function io(_s: Subject): string {
  const text = hostProcText("io");
  if (text !== "") return text;
  return ["rchar", "wchar", "syscr", "syscw", "read_bytes", "write_bytes", "cancelled_write_bytes"]
    .map((n) => `${n}: 0\n`).join("");
}
