// Clocks and sleeps. Linux clock ids and struct timespec/timeval are the same on every 64-bit
// Linux, so the host fills guest memory directly after a permission check.
import { Slot } from "../scratch.ts";
import { libc } from "../../host/libc.ts";
import { E } from "../errno.ts";
import type { Task } from "../task.ts";
import type { Runtime } from "../runtime.ts";
import type { SyscallDef } from "../syscall_def.ts";
import { deadlineAt, deadlineIn, ERESTART_RESTARTBLOCK, msUntil, Outcome } from "../wait.ts";

/** CLOCK_REALTIME..CLOCK_TAI as Linux numbers them (10, CLOCK_SGI_CYCLE, is gone). */
function validClock(id: number): boolean {
  return id >= 0 && id <= 11 && id !== 10;
}

function validTimespec(k: Task, addr: number): boolean {
  const sec = k.proc.readI64(addr), nsec = k.proc.readI64(addr + 8);
  return sec >= 0 && nsec >= 0 && nsec < 1e9;
}

const CLOCK_PROCESS_CPUTIME_ID = 2, CLOCK_THREAD_CPUTIME_ID = 3;
const CPUCLOCK_PERTHREAD = 4, CPUCLOCK_SCHED = 2, CPUCLOCK_FD = 3;

/**
 * The host clock that answers guest clock `id`, or -EINVAL. A negative id is a CPU-time clock
 * (clock_getcpuclockid, pthread_getcpuclockid: ~pid << 3 | which, bit 2 for a thread): this
 * process's and its threads' are the host's own CPU clocks (every guest thread runs on the host
 * thread that runs the vCPU); another process's is the host's clock of the same pid (guest pids
 * are host pids, and an x86_64 or arm64 Linux host numbers them alike), which fails with EINVAL
 * for a pid that does not exist, as Linux's does (glibc then reports ESRCH).
 */
function hostClock(k: Task, id: number): number | undefined {
  if (id >= 0) return validClock(id) ? id : undefined;
  const which = id & 3, pid = ~(id >> 3);
  if (which === CPUCLOCK_FD) return undefined; // clocks of PTP devices: none offered
  if (id & CPUCLOCK_PERTHREAD) {
    if (pid !== 0 && !k.proc.tasks.some((t) => t.tid === pid)) return undefined;
    return CLOCK_THREAD_CPUTIME_ID;
  }
  if (pid === 0 || pid === k.proc.pid) return CLOCK_PROCESS_CPUTIME_ID;
  if (Deno.build.os !== "linux") return undefined;
  return which === CPUCLOCK_SCHED ? id : undefined; // the host's PROF and VIRT clocks differ
}

/** Host CPU time now of this process and thread, in ns (Process.cpuBase). */
export function cpuNow(rt: Runtime): [number, number] {
  const s = rt.scratch, at = Slot.TIMESPEC;
  const read = (clock: number) => {
    libc.clock_gettime(clock, s.address + at);
    return Number(s.view.getBigInt64(at, true)) * 1e9 + Number(s.view.getBigInt64(at + 8, true));
  };
  return [read(CLOCK_PROCESS_CPUTIME_ID), read(CLOCK_THREAD_CPUTIME_ID)];
}

function clockGettime(k: Task, a: Float64Array): number {
  const id = hostClock(k, a[0] | 0);
  if (id === undefined) return -E.EINVAL;
  const out = k.proc.writable(a[1], 16); // slab offset (aliases: Rosetta's image)
  if (out < 0) return -E.EFAULT;
  const r = k.host(libc.clock_gettime(id, k.proc.hostBase + out));
  // The guest's own CPU time: the host's less what elfuse spent before the guest started.
  if (r === 0 && (id === CLOCK_PROCESS_CPUTIME_ID || id === CLOCK_THREAD_CPUTIME_ID)) {
    const v = k.proc.view;
    const ns = Number(v.getBigInt64(out, true)) * 1e9 + Number(v.getBigInt64(out + 8, true)) -
      k.proc.cpuBase[id === CLOCK_PROCESS_CPUTIME_ID ? 0 : 1];
    const t = Math.max(0, ns);
    v.setBigInt64(out, BigInt(Math.floor(t / 1e9)), true);
    v.setBigInt64(out + 8, BigInt(t % 1e9), true);
  }
  return r;
}

function clockGetres(k: Task, a: Float64Array): number {
  const id = hostClock(k, a[0] | 0), out = a[1];
  if (id === undefined) return -E.EINVAL;
  if (id < 0) {
    // Another process's clock: the host says whether that process exists.
    const r = libc.clock_getres(id, k.rt.scratch.address + Slot.TIMESPEC);
    if (r !== 0) return -E.EINVAL;
  }
  if (out === 0) return 0;
  const at = k.proc.writable(out, 16);
  if (at < 0) return -E.EFAULT;
  return k.host(libc.clock_getres(id, k.proc.hostBase + at));
}

function gettimeofday(k: Task, a: Float64Array): number {
  const tv = a[0] === 0 ? 0 : k.proc.writable(a[0], 16), tz = a[1];
  if (tv !== 0) {
    if (tv < 0) return -E.EFAULT;
    const s = k.rt.scratch;
    libc.clock_gettime(0, s.address);
    k.proc.view.setBigInt64(tv, s.view.getBigInt64(0, true), true);
    k.proc.view.setBigInt64(
      tv + 8,
      BigInt(Math.floor(Number(s.view.getBigInt64(8, true)) / 1000)),
      true,
    );
  }
  if (tz !== 0) {
    const at = k.proc.writable(tz, 8);
    if (at < 0) return -E.EFAULT;
    k.proc.view.setBigUint64(at, 0n, true); // minuteswest 0, dsttime 0: Linux keeps UTC here
  }
  return 0;
}

/**
 * A sleep on `clock` until the time at guest `req` (relative, or absolute with TIMER_ABSTIME): the
 * thread parks until its deadline (wait.ts), so the process's other threads run meanwhile. A
 * handler that interrupts it ends it with EINTR and, for a relative sleep, the time left in `rem`.
 */
function sleep(k: Task, clock: number, absolute: boolean, req: number, rem: number): number {
  const w = k.resumed();
  if (w?.outcome === Outcome.Timeout) return 0;
  if (w?.outcome === Outcome.Signal) {
    if (rem !== 0 && !absolute) {
      const left = Math.round(msUntil(w.deadline) * 1e6);
      k.proc.writeU64(rem, Math.floor(left / 1e9));
      k.proc.writeU64(rem + 8, left % 1e9);
    }
    return -ERESTART_RESTARTBLOCK;
  }
  const sec = k.proc.readI64(req), nsec = k.proc.readI64(req + 8);
  const deadline = absolute
    ? deadlineAt(clock, sec, nsec, k.rt.scratch, Slot.TIMESPEC)
    : deadlineIn(sec * 1e9 + nsec);
  return k.block({ deadline });
}

function nanosleep(k: Task, a: Float64Array): number {
  const req = a[0], rem = a[1];
  if (!k.proc.canRead(req, 16)) return -E.EFAULT;
  if (!validTimespec(k, req)) return -E.EINVAL;
  if (rem !== 0 && !k.proc.canWrite(rem, 16)) return -E.EFAULT;
  return sleep(k, 1, /* CLOCK_MONOTONIC */ false, req, rem);
}

function clockNanosleep(k: Task, a: Float64Array): number {
  const id = a[0] | 0, flags = a[1] | 0, req = a[2], rem = a[3];
  if (!validClock(id) || id === 2 || id === 3) {
    return id === 2 || id === 3 ? -E.EOPNOTSUPP : -E.EINVAL;
  }
  if (!k.proc.canRead(req, 16)) return -E.EFAULT;
  if (!validTimespec(k, req)) return -E.EINVAL;
  if (rem !== 0 && !k.proc.canWrite(rem, 16)) return -E.EFAULT;
  return sleep(k, id, (flags & 1) !== 0, req, rem);
}

function times(k: Task, a: Float64Array): number {
  const out = a[0];
  if (out !== 0 && !k.proc.canWrite(out, 32)) return -E.EFAULT;
  const r = Number(libc.times(out === 0 ? k.rt.scratch.address : k.proc.hostBase + out));
  return r === -1 ? k.fail() : r;
}

/** setitimer/getitimer: the host's own interval timers; their signals reach the guest through the
 * signal router (or end the process by default, as they would the guest). struct itimerval is
 * the same on every 64-bit Linux. */
function setitimer(k: Task, a: Float64Array): number {
  const which = a[0] | 0, nv = a[1], ov = a[2];
  if (which < 0 || which > 2) return -E.EINVAL;
  if (nv !== 0 && !k.proc.canRead(nv, 32)) return -E.EFAULT;
  if (ov !== 0 && !k.proc.canWrite(ov, 32)) return -E.EFAULT;
  if (nv !== 0) {
    const usec = [8, 24].map((o) => k.proc.readI64(nv + o));
    if (usec.some((u) => u < 0 || u >= 1e6)) return -E.EINVAL;
  }
  const zero = k.rt.scratchTimespec(0, 0); // 16 zero bytes, doubled below for a NULL new value
  k.rt.scratch.view.setBigInt64(Slot.TIMESPEC + 16, 0n, true);
  k.rt.scratch.view.setBigInt64(Slot.TIMESPEC + 24, 0n, true);
  return k.host(
    libc.setitimer(
      which,
      nv === 0 ? zero : k.proc.hostBase + nv,
      ov === 0 ? 0 : k.proc.hostBase + ov,
    ),
  );
}

export const timeSyscalls: SyscallDef[] = [
  { name: "setitimer", handler: setitimer, args: ["int", "ptr", "outbuf"] },
  {
    name: "getitimer",
    handler: (k, a) => {
      const which = a[0] | 0;
      if (which < 0 || which > 2) return -E.EINVAL;
      if (!k.proc.canWrite(a[1], 32)) return -E.EFAULT;
      return k.host(libc.getitimer(which, k.proc.hostBase + a[1]));
    },
    args: ["int", "outbuf"],
  },
  {
    name: "clock_settime",
    handler: (k, a) => {
      const id = a[0] | 0;
      if (!validClock(id)) return -E.EINVAL;
      if (!k.proc.canRead(a[1], 16)) return -E.EFAULT;
      if (!validTimespec(k, a[1])) return -E.EINVAL;
      return id === 0 ? -E.EPERM : -E.EINVAL; // only CLOCK_REALTIME is settable at all
    },
    args: ["int", "ptr"],
    status: "partial",
    note: "validates like Linux, then EPERM: a guest may not set the host's clock",
  },
  {
    name: "clock_gettime",
    handler: clockGettime,
    args: ["int", "outbuf"],
    note:
      "libcs call the vDSO first, which answers CLOCK_MONOTONIC itself on the Unicorn backend on Linux " +
      "(docs/internals.md, vDSO); CPU-time clocks count from the guest's start, other processes' " +
      "(clock_getcpuclockid) are the host's",
  },
  {
    name: "clock_getres",
    handler: clockGetres,
    args: ["int", "outbuf"],
    note: "CPU-time clocks of this process, its threads and other processes (EINVAL for none)",
  },
  { name: "gettimeofday", handler: gettimeofday, args: ["outbuf", "outbuf"] },
  { name: "nanosleep", handler: nanosleep, args: ["ptr", "outbuf"] },
  { name: "clock_nanosleep", handler: clockNanosleep, args: ["int", "hex", "ptr", "outbuf"] },
  { name: "times", handler: times, args: ["outbuf"] },
];
