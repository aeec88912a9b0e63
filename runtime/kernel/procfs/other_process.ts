// /proc/PID of another guest process of the run (procfs/registry.ts): what its card says (argv,
// environment, program) and, for state and times, the host's view of the process that runs it,
// with the host's name, memory, signal state and thread count left out: they are elfuse's
// (Deno's threads and handlers, the slab), not the guest's. Those are not known here: stat
// reports vsize and rss 0, no signals and one thread (task/ lists the pid alone), statm zeros,
// status leaves the Vm lines out, as Linux does for kernel threads, and shows empty signal sets.
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

export function otherStat(pid: number, c: Card): string | undefined {
  const text = hostFile(pid, "stat");
  if (text === undefined) return undefined;
  const f = text.slice(text.lastIndexOf(")") + 2).trim().split(" ");
  // f[0] is field 3 (state); field n is f[n - 3].
  f[20 - 3] = "1"; // num_threads
  // Memory and signal state: elfuse's (the slab, Deno's handlers and masks), not the guest's.
  for (const n of [23, 24, 26, 27, 28, 29, 30, 31, 32, 33, 34, 45, 46, 47, 48, 49, 50, 51]) {
    f[n - 3] = "0";
  }
  return `${pid} (${otherComm(c)}) ${f.join(" ")}\n`;
}

/** Signal lines: Deno's masks and handlers, not the guest's (which are not known here). */
const SIGNALS = /^(SigPnd|ShdPnd|SigBlk|SigIgn|SigCgt):/;

/** Lines of the host's status that describe elfuse's memory and threads, not the guest's. */
const HIDDEN = /^(Vm|Rss|Hugetlb|Threads|Name)/;

export function otherStatus(pid: number, c: Card): string | undefined {
  const text = hostFile(pid, "status");
  if (text === undefined) return undefined;
  const lines = text.split("\n").filter((l) => l !== "" && !HIDDEN.test(l)).map((l) =>
    SIGNALS.test(l) ? `${l.slice(0, l.indexOf(":"))}:\t0000000000000000` : l
  );
  lines.unshift(`Name:\t${otherComm(c)}`);
  const state = lines.findIndex((l) => l.startsWith("PPid:"));
  lines.splice(state + 1, 0, "Threads:\t1");
  return lines.join("\n") + "\n";
}

/** Files of another guest process elfuse renders, by the path after /proc/PID. */
export const otherFiles: Record<string, (pid: number, c: Card) => string | undefined> = {
  "/cmdline": (_p, c) => nulJoined(c.argv),
  "/environ": (_p, c) => nulJoined(c.envp),
  "/comm": (_p, c) => otherComm(c) + "\n",
  "/stat": otherStat,
  "/status": otherStatus,
  "/statm": () => "0 0 0 0 0 0 0\n",
};
