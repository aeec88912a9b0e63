// Files of /proc that describe the system rather than one process. The guest runs on the host's
// CPUs and memory, so on a Linux host most are the host's own files (meminfo, stat, uptime,
// loadavg, filesystems, sys/...), which the table marks `hostOnLinux`: they are rendered only
// where the host has none (macOS). cpuinfo is always rendered: the host's describes x86_64 CPUs,
// the guest's must be the aarch64 CPU the backend presents, with the features its hwcaps report.
import type { Task } from "../task.ts";
import { hostGlobal } from "./host_proc.ts";

/** Linux's hwcap_str (arch/arm64/kernel/cpuinfo.c): AT_HWCAP bits 0-31, then AT_HWCAP2 bits. */
const HWCAP = [
  "fp",
  "asimd",
  "evtstrm",
  "aes",
  "pmull",
  "sha1",
  "sha2",
  "crc32",
  "atomics",
  "fphp",
  "asimdhp",
  "cpuid",
  "asimdrdm",
  "jscvt",
  "fcma",
  "lrcpc",
  "dcpop",
  "sha3",
  "sm3",
  "sm4",
  "asimddp",
  "sha512",
  "sve",
  "asimdfhm",
  "dit",
  "uscat",
  "ilrcpc",
  "flagm",
  "ssbs",
  "sb",
  "paca",
  "pacg",
];
const HWCAP2 = [
  "dcpodp",
  "sve2",
  "sveaes",
  "svepmull",
  "svebitperm",
  "svesha3",
  "svesm4",
  "flagm2",
  "frint",
  "svei8mm",
  "svef32mm",
  "svef64mm",
  "svebf16",
  "i8mm",
  "bf16",
  "dgh",
  "rng",
  "bti",
];

/** The CPUs the guest may run on: as many as the host gives elfuse. */
export function cpuCount(): number {
  return Math.max(1, navigator.hardwareConcurrency || 1);
}

/** /proc/cpuinfo in arm64's format (c_show): one block per CPU, MIDR fields, features. */
export function cpuinfo(k: Task): string {
  const rt = k.rt;
  const features = HWCAP.filter((_, i) => (rt.hwcap & 2 ** i) !== 0)
    .concat(HWCAP2.filter((_, i) => (rt.hwcap2 & 2 ** i) !== 0)).join(" ");
  const midr = rt.midr;
  const field = (shift: number, bits: number) => Math.floor(midr / 2 ** shift) % 2 ** bits;
  // Linux prints BogoMIPS from the generic timer: 2 * CNTFRQ / 1e6 (arch/arm64 lpj from it).
  const bogo = rt.counterHz > 0 ? `BogoMIPS\t: ${(2 * rt.counterHz / 1e6).toFixed(2)}\n` : "";
  let out = "";
  for (let cpu = 0; cpu < cpuCount(); cpu++) {
    out += `processor\t: ${cpu}\n${bogo}Features\t: ${features}\n` +
      `CPU implementer\t: 0x${field(24, 8).toString(16).padStart(2, "0")}\n` +
      `CPU architecture: 8\n` +
      `CPU variant\t: 0x${field(20, 4).toString(16)}\n` +
      `CPU part\t: 0x${field(4, 12).toString(16).padStart(3, "0")}\n` +
      `CPU revision\t: ${field(0, 4)}\n\n`;
  }
  return out;
}

/** The kernel release the guest is told (uname's, syscalls/system.ts): the host's on Linux. */
function release(): string {
  return Deno.build.os === "linux" ? Deno.osRelease() : "6.1.0-elfuse";
}

/** /proc/version: built from uname's fields, as the guest's uname reports them. */
export function version(_k: Task): string {
  const v = hostGlobal("sys/kernel/version")?.trim() ?? "#1 SMP";
  return `Linux version ${release()} (elfuse) (elfuse) ${v}\n`;
}

/** Fallbacks where the host has no /proc: from what Deno reports of the machine. */
export function meminfo(_k: Task): string {
  const m = Deno.systemMemoryInfo();
  const kb = (name: string, bytes: number) =>
    `${(name + ":").padEnd(16)}${String(Math.floor(bytes / 1024)).padStart(8)} kB\n`;
  return kb("MemTotal", m.total) + kb("MemFree", m.free) + kb("MemAvailable", m.available) +
    kb("Buffers", m.buffers) + kb("Cached", m.cached) + kb("SwapCached", 0) +
    kb("Shmem", 0) + kb("SReclaimable", 0) + kb("SwapTotal", m.swapTotal) +
    kb("SwapFree", m.swapFree);
}

export function uptime(_k: Task): string {
  const up = Deno.osUptime();
  return `${up.toFixed(2)} ${(up * cpuCount()).toFixed(2)}\n`;
}

export function loadavg(_k: Task): string {
  const [a, b, c] = Deno.loadavg();
  return `${a.toFixed(2)} ${b.toFixed(2)} ${c.toFixed(2)} 1/1 1\n`;
}

export function stat(_k: Task): string {
  const zeros = " 0 0 0 0 0 0 0 0 0 0";
  let out = `cpu ${zeros}\n`;
  for (let i = 0; i < cpuCount(); i++) out += `cpu${i}${zeros}\n`;
  const btime = Math.floor(Date.now() / 1000 - Deno.osUptime());
  return out + `intr 0\nctxt 0\nbtime ${btime}\nprocesses 0\nprocs_running 1\nprocs_blocked 0\n`;
}

export function filesystems(_k: Task): string {
  return ["sysfs", "tmpfs", "proc", "devtmpfs", "devpts", "mqueue"].map((f) => `nodev\t${f}\n`)
    .join("") + "\text4\n\tfuseblk\nnodev\tfuse\n";
}

export const osrelease = (_k: Task) => release() + "\n";
export const ostype = (_k: Task) => "Linux\n";
export const pidMax = (k: Task) => `${k.rt.pidMax()}\n`;
export const uuid = (_k: Task) => crypto.randomUUID() + "\n";
export const overcommit = (_k: Task) => "0\n";
export const maxMapCount = (_k: Task) => "65530\n";
