// /proc/PID of another guest process of the run (procfs/registry.ts): what its card says (argv,
// environment, program), what its live page says (live.ts: address-space size, threads, the
// leader's blocked signals, dispositions), its resident memory as the host counts the pages of
// its slab, and, for state and times, the host's view of the process that runs it. The host's
// name, memory, signal state and thread count stay out: they are elfuse's (Deno's threads and
// handlers, the whole process), not the guest's. Without a live page (no room for it) stat and
// statm report zeros and one thread, and status leaves the Vm lines out.
import { Live, readLive } from "./live.ts";
import type { Card } from "./registry.ts";

const nulJoined = (list: string[]) => list.map((s) => s + "\0").join("");

export function otherComm(c: Card): string {
  return c.exe.split("/").pop()!.slice(0, 15);
}

function hostFile(pid: number, name: string): string | undefined {
  try {
    return Deno.readTextFileSync(`/proc/${pid}/${name}`);
  } catch {
    return undefined;
  }
}

/** What the guest's memory, threads and signals are, from the live page and the host's smaps. */
interface Numbers {
  size: number;
  rss: number;
  threads: number;
  blk: [number, number];
  ign: [number, number];
  cgt: [number, number];
}

/**
 * Bytes of `pid`'s slab [base, base + size) the host holds resident: the sum of Rss over the
 * host's mappings inside it (the slab is one mapping, split where files are mapped into it).
 */
export function slabRss(smaps: string, base: number, size: number): number {
  let inside = false, rss = 0;
  for (const line of smaps.split("\n")) {
    const range = /^([0-9a-f]+)-([0-9a-f]+) /.exec(line);
    if (range !== null) {
      const lo = parseInt(range[1], 16), hi = parseInt(range[2], 16);
      inside = lo >= base && hi <= base + size;
    } else if (inside && line.startsWith("Rss:")) {
      rss += parseInt(line.slice(4)) * 1024;
    }
  }
  return rss;
}

function numbers(pid: number, c: Card): Numbers | undefined {
  const f = c.live === undefined ? undefined : readLive(c.live);
  if (f === undefined) return undefined;
  // An in-process fork child's memory is its parent's slab, in the parent's host process.
  const smaps = hostFile(f[Live.HOST_PID] || pid, "smaps");
  return {
    size: f[Live.SIZE],
    rss: smaps === undefined ? 0 : slabRss(smaps, f[Live.SLAB_BASE], f[Live.SLAB_SIZE]),
    threads: f[Live.THREADS],
    blk: [f[Live.BLK_HI], f[Live.BLK_LO]],
    ign: [f[Live.IGN_HI], f[Live.IGN_LO]],
    cgt: [f[Live.CGT_HI], f[Live.CGT_LO]],
  };
}

const sigWord = ([hi, lo]: [number, number]) => hi * 4294967296 + lo;
const hex16 = ([hi, lo]: [number, number]) =>
  hi.toString(16).padStart(8, "0") + lo.toString(16).padStart(8, "0");

export function otherStat(pid: number, c: Card): string | undefined {
  const text = hostFile(pid, "stat");
  if (text === undefined) return undefined;
  const f = text.slice(text.lastIndexOf(")") + 2).trim().split(" ");
  // f[0] is field 3 (state); field n is f[n - 3].
  // Memory and signal state: elfuse's (the slab, Deno's handlers and masks), not the guest's.
  for (const n of [23, 24, 26, 27, 28, 29, 30, 31, 32, 33, 34, 45, 46, 47, 48, 49, 50, 51]) {
    f[n - 3] = "0";
  }
  const n = numbers(pid, c);
  f[20 - 3] = String(n?.threads ?? 1); // num_threads
  if (n !== undefined) {
    f[23 - 3] = String(n.size); // vsize
    f[24 - 3] = String(Math.floor(n.rss / 4096)); // rss, pages
    f[32 - 3] = String(sigWord(n.blk)); // blocked
    f[33 - 3] = String(sigWord(n.ign)); // sigignore
    f[34 - 3] = String(sigWord(n.cgt)); // sigcatch
  }
  return `${pid} (${otherComm(c)}) ${f.join(" ")}\n`;
}

/** Signal lines: Deno's masks and handlers, not the guest's. */
const SIGNALS = /^(SigPnd|ShdPnd|SigBlk|SigIgn|SigCgt):/;

/** Lines of the host's status that describe elfuse's memory and threads, not the guest's. */
const HIDDEN = /^(Vm|Rss|Hugetlb|Threads|Name)/;

const kb = (name: string, bytes: number) =>
  `${name}:\t${String(Math.floor(bytes / 1024)).padStart(8)} kB`;

export function otherStatus(pid: number, c: Card): string | undefined {
  const text = hostFile(pid, "status");
  if (text === undefined) return undefined;
  const n = numbers(pid, c);
  const zero: [number, number] = [0, 0];
  const sets: Record<string, [number, number]> = {
    SigBlk: n?.blk ?? zero,
    SigIgn: n?.ign ?? zero,
    SigCgt: n?.cgt ?? zero,
  };
  // Pending signals are not known here (they are queued in the other process): none shown.
  const lines = text.split("\n").filter((l) => l !== "" && !HIDDEN.test(l)).map((l) => {
    if (!SIGNALS.test(l)) return l;
    const key = l.slice(0, l.indexOf(":"));
    return `${key}:\t${hex16(sets[key] ?? zero)}`;
  });
  lines.unshift(`Name:\t${otherComm(c)}`);
  // Linux's order: the Vm lines after NSsid (or the last NS line), Threads after them.
  let at = lines.findLastIndex((l) => l.startsWith("NS"));
  if (at < 0) at = lines.findIndex((l) => l.startsWith("PPid:"));
  const added = n === undefined ? [] : [kb("VmSize", n.size), kb("VmRSS", n.rss)];
  lines.splice(at + 1, 0, ...added);
  const threadsAt = lines.findIndex((l) => l.startsWith("SigQ:"));
  lines.splice(
    threadsAt < 0 ? at + 1 + added.length : threadsAt,
    0,
    `Threads:\t${n?.threads ?? 1}`,
  );
  return lines.join("\n") + "\n";
}

/** statm: size and resident, in pages; what Linux splits further is not known here (0). */
export function otherStatm(pid: number, c: Card): string {
  const n = numbers(pid, c);
  if (n === undefined) return "0 0 0 0 0 0 0\n";
  return `${Math.floor(n.size / 4096)} ${Math.floor(n.rss / 4096)} 0 0 0 0 0\n`;
}

/** Files of another guest process elfuse renders, by the path after /proc/PID. */
export const otherFiles: Record<string, (pid: number, c: Card) => string | undefined> = {
  "/cmdline": (_p, c) => nulJoined(c.argv),
  "/environ": (_p, c) => nulJoined(c.envp),
  "/comm": (_p, c) => otherComm(c) + "\n",
  "/stat": otherStat,
  "/status": otherStatus,
  "/statm": otherStatm,
};
