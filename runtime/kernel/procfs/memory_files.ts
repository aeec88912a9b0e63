// /proc/PID/{maps,smaps,smaps_rollup,statm} and the memory lines of status: the guest's VMAs
// (memory/vmas.ts), never the host's slab. Resident pages are the host's answer for the slab's
// pages (host/pagemap.ts: present or swapped), so Rss is measured, not guessed; what Linux
// splits further (dirty or clean, referenced) the host cannot tell apart for the guest, so
// resident anonymous pages count as dirty and resident private file pages as clean.
import { touchedRuns } from "../../host/pagemap.ts";
import type { Vma } from "../../memory/vmas.ts";
import type { Task } from "../task.ts";

const KB = 1024;
const hex = (n: number, w = 8) => n.toString(16).padStart(w, "0");

/** The kind of memory a VMA holds, as Linux's status splits it. */
export type VmaKind = "file" | "anon" | "shmem" | "stack" | "special";

export function vmaKind(v: Vma): VmaKind {
  if (v.name === "[stack]") return "stack";
  if (v.name === "[vdso]" || v.name === "[vvar]") return "special";
  // Shared anonymous memory and System V segments are shmem files on Linux too.
  if (v.name === "/dev/zero (deleted)" || v.name.startsWith("/SYSV")) return "shmem";
  if (v.name.startsWith("/")) return "file";
  return v.shared ? "shmem" : "anon";
}

/** Bytes of the VMA the host holds in memory. */
export function residentBytes(k: Task, v: Vma): number {
  let n = 0;
  touchedRuns(k.proc.hostBase + v.start, v.end - v.start, (_o, len) => {
    n += len;
  });
  return n;
}

/** One /proc/PID/maps line (Linux pads the name to column 73). */
function mapsLine(v: Vma): string {
  const perms = (v.prot & 1 ? "r" : "-") + (v.prot & 2 ? "w" : "-") + (v.prot & 4 ? "x" : "-") +
    (v.shared ? "s" : "p");
  const head = `${hex(v.start)}-${hex(v.end)} ${perms} 00000000 00:00 0`;
  return v.name ? `${head.padEnd(72)} ${v.name}\n` : `${head}\n`;
}

export function maps(k: Task): string {
  let out = "";
  for (const v of k.proc.as.vmas.list) out += mapsLine(v);
  return out;
}

/** A `Name:   value kB` line as fs/proc/task_mmu.c prints it (name in 16 columns, value in 8). */
const kbLine = (name: string, bytes: number) =>
  `${(name + ":").padEnd(16)}${String(Math.floor(bytes / KB)).padStart(8)} kB\n`;

interface Usage {
  size: number;
  rss: number;
  anon: number;
  privateClean: number;
  privateDirty: number;
  sharedClean: number;
}

function usage(k: Task, v: Vma): Usage {
  const rss = residentBytes(k, v);
  const kind = vmaKind(v);
  const anon = kind === "anon" || kind === "stack" ? rss : 0;
  return {
    size: v.end - v.start,
    rss,
    anon,
    privateDirty: v.shared ? 0 : anon,
    privateClean: v.shared ? 0 : rss - anon,
    sharedClean: v.shared ? rss : 0,
  };
}

function usageLines(u: Usage): string {
  return kbLine("Rss", u.rss) + kbLine("Pss", u.rss) + kbLine("Shared_Clean", u.sharedClean) +
    kbLine("Shared_Dirty", 0) + kbLine("Private_Clean", u.privateClean) +
    kbLine("Private_Dirty", u.privateDirty) + kbLine("Referenced", u.rss) +
    kbLine("Anonymous", u.anon) + kbLine("LazyFree", 0) + kbLine("AnonHugePages", 0) +
    kbLine("ShmemPmdMapped", 0) + kbLine("FilePmdMapped", 0) + kbLine("Shared_Hugetlb", 0) +
    kbLine("Private_Hugetlb", 0) + kbLine("Swap", 0) + kbLine("SwapPss", 0) + kbLine("Locked", 0);
}

/** VmFlags of smaps (fs/proc/task_mmu.c show_smap_vma_flags): the ones a guest VMA can carry. */
function vmFlags(v: Vma): string {
  const f: string[] = [];
  if (v.prot & 1) f.push("rd");
  if (v.prot & 2) f.push("wr");
  if (v.prot & 4) f.push("ex");
  if (v.shared) f.push("sh");
  f.push("mr", "mw", "me");
  if (v.shared) f.push("ms");
  if (v.name === "[stack]") f.push("gd");
  return f.join(" ");
}

export function smaps(k: Task): string {
  let out = "";
  for (const v of k.proc.as.vmas.list) {
    const u = usage(k, v);
    out += mapsLine(v) + kbLine("Size", u.size) + kbLine("KernelPageSize", 4096) +
      kbLine("MMUPageSize", 4096) + usageLines(u) + "THPeligible:    0\n" +
      `VmFlags: ${vmFlags(v)} \n`;
  }
  return out;
}

export function smapsRollup(k: Task): string {
  const list = k.proc.as.vmas.list;
  const sum: Usage = {
    size: 0,
    rss: 0,
    anon: 0,
    privateClean: 0,
    privateDirty: 0,
    sharedClean: 0,
  };
  for (const v of list) {
    const u = usage(k, v);
    for (const key of Object.keys(sum) as (keyof Usage)[]) sum[key] += u[key];
  }
  const lo = list.length ? list[0].start : 0, hi = list.length ? list[list.length - 1].end : 0;
  const head = `${hex(lo)}-${hex(hi)} ---p 00000000 00:00 0`;
  return `${head.padEnd(72)} [rollup]\n` + usageLines(sum);
}

/** What status and statm report, in bytes. */
export interface MemoryTotals {
  size: number;
  rss: number;
  rssAnon: number;
  rssFile: number;
  rssShmem: number;
  data: number;
  stack: number;
  exe: number;
  lib: number;
  /** mlock'd and mapped (VmLck). */
  locked: number;
}

export function memoryTotals(k: Task): MemoryTotals {
  const t: MemoryTotals = {
    size: 0,
    rss: 0,
    rssAnon: 0,
    rssFile: 0,
    rssShmem: 0,
    data: 0,
    stack: 0,
    exe: 0,
    lib: 0,
    locked: k.proc.locks.bytes(k.proc.as.vmas),
  };
  const exe = k.proc.info.exePath;
  for (const v of k.proc.as.vmas.list) {
    const len = v.end - v.start, rss = residentBytes(k, v), kind = vmaKind(v);
    t.size += len;
    t.rss += rss;
    if (kind === "file") t.rssFile += rss;
    else if (kind === "shmem") t.rssShmem += rss;
    else t.rssAnon += rss;
    // Linux's mm counters: stack_vm, exec_vm (executable, not writable, not stack), data_vm
    // (private, writable, not stack).
    if (kind === "stack") t.stack += len;
    else if ((v.prot & 4) !== 0 && (v.prot & 2) === 0) {
      if (v.name === exe) t.exe += len;
      else t.lib += len;
    } else if ((v.prot & 2) !== 0 && !v.shared) t.data += len;
  }
  return t;
}

/** status's memory lines (Linux's task_mem). */
export function statusMemory(t: MemoryTotals): string {
  const line = (name: string, bytes: number) =>
    `${name}:\t${String(Math.floor(bytes / KB)).padStart(8)} kB\n`;
  return line("VmPeak", t.size) + line("VmSize", t.size) + line("VmLck", t.locked) +
    line("VmPin", 0) +
    line("VmHWM", t.rss) + line("VmRSS", t.rss) + line("RssAnon", t.rssAnon) +
    line("RssFile", t.rssFile) + line("RssShmem", t.rssShmem) + line("VmData", t.data) +
    line("VmStk", t.stack) + line("VmExe", t.exe) + line("VmLib", t.lib) + line("VmPTE", 0) +
    line("VmSwap", 0) + line("HugetlbPages", 0);
}

/** /proc/PID/statm: size resident shared text lib data dt, in pages (lib and dt are 0 since 2.6). */
export function statm(k: Task): string {
  const t = memoryTotals(k), p = (n: number) => Math.floor(n / 4096);
  return `${p(t.size)} ${p(t.rss)} ${p(t.rssFile + t.rssShmem)} ${p(t.exe)} 0 ${
    p(t.data + t.stack)
  } 0\n`;
}
