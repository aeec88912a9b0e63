// The syscall fuzzer's plan: which syscall numbers it issues, how often, and what kind of value
// each argument gets. Kinds come from the syscall table's `args` (what --strace prints); the rules
// below override them where a raw value could reach a host object outside the guest's sandbox
// (another process, the program's own memory, a disk's free space).
import { aarch64SyscallNames } from "../runtime/kernel/aarch64_numbers.ts";
import type { ArgKind } from "../runtime/kernel/syscall_def.ts";
import { tableRows } from "../runtime/kernel/table.ts";

/**
 * Argument kinds the guest (fixtures/fuzz/syscall_fuzz.c, argument()) understands:
 * i integer, f fd, d dirfd, p path (from the sandbox's pool), b buffer (the arena or a bad
 * pointer), - no such argument, and the safety kinds: P pid (self, "all" or none that exists),
 * W/U priority which/who (never a real user or another group), A/L address and length in the
 * memory playground, B brk value (never below the heap), C clone flags, Z zero, S size up to
 * 1 MiB, F close_range's last fd (below the fuzzer's own fds).
 */
export type Kind =
  | "i"
  | "f"
  | "d"
  | "p"
  | "b"
  | "-"
  | "P"
  | "W"
  | "U"
  | "A"
  | "L"
  | "B"
  | "C"
  | "Z"
  | "S"
  | "F";

const fromTable: Record<ArgKind, Kind> = {
  int: "i",
  uint: "i",
  hex: "i",
  octal: "i",
  oflags: "i",
  signal: "i",
  fd: "f",
  dirfd: "d",
  path: "p",
  inbuf: "b",
  outbuf: "b",
  ptr: "b",
};

/** Kinds fixed by hand: the safety rules, and calls whose table row gives no argument kinds. */
export const overrides: Record<string, Kind[]> = {
  // Signals and scheduling go to processes by pid: only this one, or none.
  kill: ["P", "i"],
  tkill: ["P", "i"],
  tgkill: ["P", "P", "i"],
  rt_sigqueueinfo: ["P", "i", "b"],
  rt_tgsigqueueinfo: ["P", "P", "i", "b"],
  pidfd_open: ["P", "i"],
  setpgid: ["P", "P"],
  setpriority: ["W", "U", "i"],
  getpriority: ["W", "U"],
  sched_setaffinity: ["P", "i", "b"],
  sched_setscheduler: ["P", "i", "b"],
  sched_setparam: ["P", "b"],
  sched_setattr: ["P", "b", "i"],
  prlimit64: ["P", "i", "b", "b"],
  ioprio_set: ["i", "P", "i"],
  process_vm_readv: ["P", "b", "i", "b", "i", "i"],
  process_vm_writev: ["P", "b", "i", "b", "i", "i"],
  kcmp: ["P", "P", "i", "i", "i"],
  ptrace: ["i", "P", "b", "b"],
  migrate_pages: ["P", "i", "b", "b"],
  move_pages: ["P", "i", "b", "b", "b", "i"],
  // Memory calls stay in the playground: the program, its heap and its stack are not the fuzzer's.
  mmap: ["A", "L", "i", "i", "f", "i"],
  munmap: ["A", "L"],
  mprotect: ["A", "L", "i"],
  mremap: ["A", "L", "L", "i", "A"],
  madvise: ["A", "L", "i"],
  msync: ["A", "L", "i"],
  mlock: ["A", "L"],
  mlock2: ["A", "L", "i"],
  munlock: ["A", "L"],
  mincore: ["A", "L", "b"],
  remap_file_pages: ["A", "L", "i", "i", "i"],
  mbind: ["A", "L", "i", "b", "i", "i"],
  pkey_mprotect: ["A", "L", "i", "i"],
  brk: ["B"],
  // A new process leaves at once (the guest makes sure); no new stack.
  clone: ["C", "Z", "b", "b", "b"],
  // Files grow no further than 1 MiB of real blocks.
  fallocate: ["f", "i", "S", "S"],
  ftruncate: ["f", "S"],
  truncate: ["p", "S"],
  close_range: ["i", "F", "i"],
};

/** Relative weights: a call that blocks costs a stall (the guest's STALL_MS) each time. */
const weights: Record<string, number> = {
  rt_sigreturn: 0, // a garbage frame resumes anywhere: no longer the fuzzer's own code
  exit: 1,
  exit_group: 1,
  execve: 1,
  execveat: 1,
  rt_sigsuspend: 1,
  rt_sigtimedwait: 1,
  nanosleep: 1,
  clock_nanosleep: 1,
  futex: 2,
  ppoll: 2,
  pselect6: 2,
  wait4: 2,
  waitid: 2,
  setuid: 1,
  setgid: 1,
  setreuid: 1,
  setregid: 1,
  setresuid: 1,
  setresgid: 1,
  setfsuid: 1,
  setfsgid: 1,
};
/**
 * In the extremes walk these get only the variants with every argument extreme at once: each of
 * their other variants ends the process, and those variants already give every argument every
 * extreme value (rt_sigreturn reads none: its frame is on the stack).
 */
const allArgsOnly = new Set(["exit", "exit_group", "rt_sigreturn"]);
/**
 * Never issued: a socket address from garbage could reach a real host or another engineer's
 * service on this machine (connect, sendto to a random address and port), or open a port here
 * (bind, listen, accept). The socket calls that take no address are fuzzed. System V IPC objects
 * and POSIX message queues are the host kernel's and outlive the run (nothing the sandbox ends
 * or removes takes them away), so the calls that make them are not issued either; the calls on
 * an id or a queue descriptor are fuzzed (as nobody, the host's objects are not theirs).
 */
const OFF_LIMITS = new Set([
  "bind",
  "listen",
  "accept",
  "accept4",
  "connect",
  "sendto",
  "sendmsg",
  "sendmmsg",
  "semget",
  "msgget",
  "shmget",
  "mq_open",
]);
const IMPLEMENTED_WEIGHT = 8;
const MISSING_WEIGHT = 1;

export interface PlanEntry {
  nr: number;
  name: string;
  weight: number;
  kinds: Kind[];
  implemented: boolean;
  /** The extremes walk sets all arguments at once only (see allArgsOnly). */
  allArgsOnly: boolean;
  /** Never issued (OFF_LIMITS): weight 0, and left out of the extremes walk. */
  offLimits: boolean;
}

/** Every aarch64 syscall number with its weight and argument kinds. */
export function syscallPlan(): PlanEntry[] {
  const rows = new Map(tableRows().map((r) => [r.nr, r]));
  const out: PlanEntry[] = [];
  for (const [nrText, name] of Object.entries(aarch64SyscallNames)) {
    const nr = Number(nrText);
    const row = rows.get(nr);
    const implemented = row !== undefined && row.status !== "missing";
    const table = row?.def?.args?.map((a) => fromTable[a]);
    const kinds = [...(overrides[name] ?? table ?? ["i", "i", "i", "i", "i", "i"])];
    while (kinds.length < 6) kinds.push(table || overrides[name] ? "-" : "i");
    const offLimits = OFF_LIMITS.has(name);
    const weight = offLimits
      ? 0
      : weights[name] ?? (implemented ? IMPLEMENTED_WEIGHT : MISSING_WEIGHT);
    out.push({
      nr,
      name,
      weight,
      kinds,
      implemented,
      allArgsOnly: allArgsOnly.has(name),
      offLimits,
    });
  }
  return out.sort((a, b) => a.nr - b.nr);
}

/** The plan as the guest reads it: `NR WEIGHT KINDS [a]` per line (a: allArgsOnly). */
export function planText(entries: PlanEntry[]): string {
  return entries.map((e) => `${e.nr} ${e.weight} ${e.kinds.join("")}${e.allArgsOnly ? " a" : ""}\n`)
    .join("");
}
