// mlock, mlock2, munlock, mlockall, munlockall: the ranges are recorded (memory/locked_ranges.ts)
// and checked as Linux's mm/mlock.c does, against RLIMIT_MEMLOCK unless the process is root
// (CAP_IPC_LOCK); no host memory is locked.
import { E } from "../errno.ts";
import type { Task } from "../task.ts";
import type { SyscallDef } from "../syscall_def.ts";
import { PAGE_SIZE, pageDown } from "../../memory/vmas.ts";

const RLIMIT_MEMLOCK = 8;
const MLOCK_ONFAULT = 1;
const MCL_CURRENT = 1, MCL_FUTURE = 2, MCL_ONFAULT = 4;

/** The page range [start, end) of (addr, len) as Linux rounds it. */
function pages(addr: number, len: number): [number, number] {
  const start = pageDown(addr);
  return [start, start + Math.ceil((len + (addr - start)) / PAGE_SIZE) * PAGE_SIZE];
}

/** A range that wraps past the top of a 64-bit address space: EINVAL (mm/mlock.c). */
const wraps = (end: number) => end > 2 ** 64 - PAGE_SIZE;

/** The RLIMIT_MEMLOCK soft limit in bytes, or Infinity for root (CAP_IPC_LOCK). */
function lockLimit(k: Task): number {
  return k.proc.creds.privileged ? Infinity : k.proc.rlimits[RLIMIT_MEMLOCK][0];
}

function lock(k: Task, addr: number, len: number, flags: number): number {
  if ((flags & ~MLOCK_ONFAULT) !== 0) return -E.EINVAL;
  const limit = lockLimit(k);
  if (limit === 0) return -E.EPERM; // can_do_mlock: no limit to lock within, and no capability
  const [start, end] = pages(addr, len);
  if (start === end) return 0;
  const locks = k.proc.locks, vmas = k.proc.as.vmas;
  // Pages locked already in the range do not count twice.
  const total = locks.bytes(vmas) + (end - start) - locks.bytes(vmas, [start, end]);
  if (total > limit) return -E.ENOMEM;
  if (wraps(end)) return -E.EINVAL;
  if (!vmas.allows(start, end - start, 0)) return -E.ENOMEM;
  locks.add(start, end);
  return 0;
}

function munlock(k: Task, a: Float64Array): number {
  const [start, end] = pages(a[0], a[1]);
  if (start === end) return 0;
  if (wraps(end)) return -E.EINVAL;
  if (!k.proc.as.vmas.allows(start, end - start, 0)) return -E.ENOMEM;
  k.proc.locks.remove(start, end);
  return 0;
}

function mlockall(k: Task, a: Float64Array): number {
  const flags = a[0] >>> 0;
  if (flags === 0 || (flags & ~(MCL_CURRENT | MCL_FUTURE | MCL_ONFAULT)) !== 0) return -E.EINVAL;
  if (flags === MCL_ONFAULT) return -E.EINVAL;
  const limit = lockLimit(k);
  if (limit === 0) return -E.EPERM;
  const vmas = k.proc.as.vmas;
  if (flags & MCL_CURRENT) {
    const mapped = vmas.list.reduce((n, v) => n + v.end - v.start, 0);
    if (mapped > limit) return -E.ENOMEM;
    for (const v of vmas.list) k.proc.locks.add(v.start, v.end);
  }
  k.proc.locks.future = (flags & MCL_FUTURE) !== 0;
  return 0;
}

export const mlockSyscalls: SyscallDef[] = [
  {
    name: "mlock",
    handler: (k, a) => lock(k, a[0], a[1], 0),
    args: ["hex", "uint"],
    status: "partial",
    note: "ranges recorded and checked (ENOMEM, RLIMIT_MEMLOCK unless root, VmLck); host memory " +
      "is not locked",
  },
  {
    name: "mlock2",
    handler: (k, a) => lock(k, a[0], a[1], a[2] >>> 0),
    args: ["hex", "uint", "hex"],
    status: "partial",
    note: "as mlock; MLOCK_ONFAULT accepted",
  },
  { name: "munlock", handler: munlock, args: ["hex", "uint"], status: "partial", note: "as mlock" },
  {
    name: "mlockall",
    handler: mlockall,
    args: ["hex"],
    status: "partial",
    note: "as mlock; MCL_FUTURE locks later mmaps",
  },
  {
    name: "munlockall",
    handler: (k) => {
      k.proc.locks.clear();
      return 0;
    },
    status: "partial",
    note: "as mlock",
  },
];
