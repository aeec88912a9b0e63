// Which host processes are this run's guest processes, and what their /proc shows. Guest pids
// are host pids, but the host process behind one is an elfuse (Deno, its 64 GiB slab, its
// command line with host paths) or a pid holder (/bin/sh), which the guest must not see. So each
// guest process leaves a card (its argv, environment, program) in a directory shared by the run
// — the first elfuse makes it and names it in its host environment (ELFUSE_PROCS), which every
// elfuse it starts (fork spares, pid holders) inherits; the guest's environment is its own.
// A card is written when a process starts or execs and removed when it ends; one whose host
// process is gone (or whose pid now names another process: the start time differs) is stale.
// /proc lists the processes with valid cards; /proc/PID of any other pid is ENOENT.
import { hostIds } from "../../host/credentials.ts";
import type { Process } from "../process.ts";
import { mapLive, placeLive, unmapLive } from "./live.ts";
import type { Runtime } from "../runtime.ts";

/** What another guest process's /proc shows of it. */
export interface Card {
  argv: string[];
  envp: string[];
  /** The program, as the guest names it, and its host path (for opening /proc/PID/exe). */
  exe: string;
  hostExe: string;
  /** The host process's start time (proc(5) stat field 22), telling a reused pid apart. */
  start: string;
  /** Its live page (live.ts): memory size, threads, signal state. */
  live?: string;
}

const ENV = "ELFUSE_PROCS";

/**
 * Where card directories go: /dev/shm (tmpfs) where there is one, since every in-process fork
 * writes and removes a card (on this machine's ext4 /tmp that cost 0.16 ms a write and as much
 * for the removal; on tmpfs 0.012 ms), else TMPDIR or /tmp.
 */
function base(): string {
  try {
    if (Deno.statSync("/dev/shm").isDirectory) return "/dev/shm";
  } catch { /* none (macOS) */ }
  return Deno.env.get("TMPDIR") || "/tmp";
}

/** The run's card directory (made, and named in the host environment, by the first elfuse). */
function directory(rt: Runtime): string | undefined {
  if (rt.registry !== undefined) return rt.registry || undefined;
  const mine = `${base()}/elfuse-procs-${hostIds().euid}/${Deno.pid}`;
  let dir = Deno.env.get(ENV) ?? "";
  try {
    if (dir === "") {
      dir = mine;
      Deno.env.set(ENV, dir);
    }
    // Made again when gone (a second run() in the same process removed it at its end).
    Deno.mkdirSync(dir, { recursive: true, mode: 0o700 });
    rt.ownsRegistry = dir === mine;
    if (rt.ownsRegistry) sweep(mine.slice(0, mine.lastIndexOf("/")));
  } catch {
    dir = ""; // no room for cards: /proc shows this process only
  }
  rt.registry = dir;
  return dir || undefined;
}

/**
 * Removes the directories of runs whose first elfuse is gone without removing its own (ended
 * by --timeout's watchdog or SIGKILL): one directory listing when a run starts.
 */
function sweep(parent: string): void {
  try {
    for (const d of Deno.readDirSync(parent)) {
      if (!/^\d+$/.test(d.name) || startTime(Number(d.name)) !== undefined) continue;
      Deno.removeSync(`${parent}/${d.name}`, { recursive: true });
    }
  } catch { /* another run swept it first */ }
}

/** The host's start time of `pid`, or undefined when there is no such process. */
function startTime(pid: number): string | undefined {
  try {
    const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
    return stat.slice(stat.lastIndexOf(")") + 2).split(" ")[19];
  } catch {
    return undefined;
  }
}

/** Writes (or rewrites, after execve) the card of `proc`. */
export function publish(proc: Process): void {
  const dir = directory(proc.rt);
  const start = startTime(proc.pid);
  if (dir === undefined || start === undefined) return;
  const i = proc.info;
  const live = `${dir}/${proc.pid}.live`;
  const card: Card = {
    argv: i.argv,
    envp: i.envp,
    exe: i.exePath,
    hostExe: i.hostExePath,
    start,
    live,
  };
  try {
    // The live page first, so that a reader who finds the card finds the page.
    if (proc.live !== undefined) placeLive(proc, proc.live);
    else if (Deno.build.os === "linux") proc.live = mapLive(proc, live);
    Deno.writeTextFileSync(`${dir}/${proc.pid}`, JSON.stringify(card));
  } catch { /* the directory went away: this process is not listed */ }
}

/**
 * Removes the card of `proc` (it ended) and its live page; the run's first elfuse removes the
 * directory.
 */
export function withdraw(proc: Process): void {
  const rt = proc.rt, pid = proc.pid, dir = rt.registry;
  if (proc.live !== undefined) {
    unmapLive(proc.live);
    proc.live = undefined;
  }
  if (!dir) return;
  try {
    if (rt.ownsRegistry && pid === Deno.pid) Deno.removeSync(dir, { recursive: true });
    else {
      Deno.removeSync(`${dir}/${pid}`);
      Deno.removeSync(`${dir}/${pid}.live`);
    }
  } catch { /* already gone */ }
}

/** The card of guest process `pid`, or undefined when it is not one (stale cards are removed). */
export function card(rt: Runtime, pid: number): Card | undefined {
  const dir = directory(rt);
  if (dir === undefined) return undefined;
  let c: Card;
  try {
    c = JSON.parse(Deno.readTextFileSync(`${dir}/${pid}`));
  } catch {
    return undefined;
  }
  if (startTime(pid) === c.start) return c;
  try {
    Deno.removeSync(`${dir}/${pid}`);
    Deno.removeSync(`${dir}/${pid}.live`);
  } catch { /* another reader did */ }
  return undefined;
}

/** Whether the registry can tell guest processes apart here (else every pid is shown). */
export function hasRegistry(rt: Runtime): boolean {
  return directory(rt) !== undefined && Deno.build.os === "linux";
}
