// POSIX timers: timer_create, timer_settime, timer_gettime, timer_getoverrun, timer_delete. The
// timers are the process's own (kernel/posix_timers.ts); their signals go through the kernel's
// signal queue with Linux's siginfo (SI_TIMER, si_timerid, si_overrun, si_value), to the thread
// SIGEV_THREAD_ID names when it does. struct sigevent (64 bytes): sigev_value 0, sigev_signo 8,
// sigev_notify 12, sigev_notify_thread_id 16; struct itimerspec: it_interval then it_value.
import { libc } from "../../host/libc.ts";
import { E } from "../errno.ts";
import type { Process } from "../process.ts";
import {
  type ClockReader,
  MAX_TIMERS,
  type PosixTimer,
  PosixTimers,
  SIGEV_NONE,
  SIGEV_SIGNAL,
  SIGEV_THREAD,
  SIGEV_THREAD_ID,
} from "../posix_timers.ts";
import { Slot } from "../scratch.ts";
import { dropTimerSignal, fireTimers } from "../signal_delivery.ts";
import type { SyscallDef } from "../syscall_def.ts";
import type { Task } from "../task.ts";

const SIGALRM = 14, SIGNAL_MAX = 64, TIMER_ABSTIME = 1;
/** Clocks with timers (CLOCK_REALTIME, MONOTONIC, PROCESS_CPUTIME_ID, THREAD_CPUTIME_ID, BOOTTIME, TAI). */
const TIMER_CLOCKS = new Set([0, 1, 2, 3, 7, 11]);
/**
 * Clocks Linux knows but gives no timers: MONOTONIC_RAW and the COARSE ones have none
 * (EOPNOTSUPP in kernel/time/posix-timers.c), and the ALARM ones need an RTC wake-up device.
 */
const TIMERLESS_CLOCKS = new Set([4, 5, 6, 8, 9]);

/** The process's timers, made with a reader of the host's clocks at the first timer_create. */
function timersOf(proc: Process): PosixTimers {
  if (proc.timers !== undefined) return proc.timers;
  const s = proc.rt.scratch, at = Slot.TIMER_CLOCK;
  // Linux's clock ids are the host's on Linux; every guest thread runs on the host's main
  // thread, so its CPU clock is the one THREAD_CPUTIME_ID means.
  const now: ClockReader = (clock) => {
    libc.clock_gettime(clock, s.address + at);
    return (s.view.getUint32(at, true) + s.view.getInt32(at + 4, true) * 4294967296) * 1000 +
      s.view.getUint32(at + 8, true) / 1e6;
  };
  const timers = new PosixTimers(now);
  timers.onRearm = () => proc.router?.alarm(timers.nextAlarm());
  return proc.timers = timers;
}

function timerCreate(k: Task, a: Float64Array): number {
  const clock = a[0] | 0, sev = a[1], idOut = a[2], proc = k.proc, view = proc.view;
  if (TIMERLESS_CLOCKS.has(clock)) return -E.EOPNOTSUPP;
  if (!TIMER_CLOCKS.has(clock)) return -E.EINVAL;
  let notify = SIGEV_SIGNAL, signo = SIGALRM, value: bigint | undefined, tid = 0;
  if (sev !== 0) {
    if (!proc.canRead(sev, 64)) return -E.EFAULT;
    value = view.getBigUint64(sev, true);
    signo = view.getInt32(sev + 8, true);
    notify = view.getInt32(sev + 12, true);
    // kernel/time/posix-timers.c good_sigevent: the named thread must be one of this process's.
    if (notify === SIGEV_THREAD_ID) {
      tid = view.getInt32(sev + 16, true);
      if (!proc.tasks.some((t) => t.tid === tid)) return -E.EINVAL;
    } else if (notify !== SIGEV_SIGNAL && notify !== SIGEV_THREAD && notify !== SIGEV_NONE) {
      return -E.EINVAL;
    }
    if (notify !== SIGEV_NONE && (signo <= 0 || signo > SIGNAL_MAX)) return -E.EINVAL;
  }
  if (!proc.canWrite(idOut, 4)) return -E.EFAULT;
  const timers = timersOf(proc);
  if (timers.size >= MAX_TIMERS) return -E.EAGAIN;
  const t = timers.create(clock, notify, signo, value, tid);
  view.setInt32(idOut, t.id, true);
  return 0;
}

/** A struct timespec in guest memory as milliseconds, or undefined when Linux rejects it. */
function readTimespec(proc: Process, addr: number): number | undefined {
  const sec = proc.readI64(addr), nsec = proc.readI64(addr + 8);
  if (sec < 0 || nsec < 0 || nsec >= 1e9) return undefined;
  return sec * 1000 + nsec / 1e6;
}

function writeTimespec(proc: Process, addr: number, ms: number): void {
  const ns = Math.round(ms * 1e6), sec = Math.floor(ns / 1e9);
  proc.writeU64(addr, sec);
  proc.writeU64(addr + 8, ns - sec * 1e9);
}

/** Writes a timer's struct itimerspec (timer_gettime, and timer_settime's old value). */
function current(proc: Process, t: PosixTimer, out: number): void {
  writeTimespec(proc, out, t.interval);
  writeTimespec(proc, out + 16, proc.timers!.left(t));
}

function timerSettime(k: Task, a: Float64Array): number {
  const id = a[0] | 0, flags = a[1] | 0, nv = a[2], ov = a[3], proc = k.proc;
  const t = proc.timers?.get(id);
  if (t === undefined) return -E.EINVAL;
  if (!proc.canRead(nv, 32)) return -E.EFAULT;
  if (ov !== 0 && !proc.canWrite(ov, 32)) return -E.EFAULT;
  const interval = readTimespec(proc, nv), value = readTimespec(proc, nv + 16);
  if (interval === undefined || value === undefined) return -E.EINVAL;
  if (ov !== 0) current(proc, t, ov);
  const timers = proc.timers!;
  dropTimerSignal(proc, t);
  t.interval = interval;
  t.overrun = 0;
  t.due = value === 0
    ? Infinity
    : (flags & TIMER_ABSTIME) !== 0
    ? value
    : timers.now(t.clock) + value;
  fireTimers(proc); // an absolute time already past expires now; otherwise this sets the alarm
  return 0;
}

function timerOf(k: Task, id: number): PosixTimer | number {
  return k.proc.timers?.get(id | 0) ?? -E.EINVAL;
}

export const timerSyscalls: SyscallDef[] = [
  {
    name: "timer_create",
    handler: timerCreate,
    args: ["int", "ptr", "outbuf"],
    note: "elfuse's own timers: every signal (real-time ones too) with Linux's siginfo; " +
      "SIGEV_THREAD_ID to a guest thread; the ALARM clocks give EOPNOTSUPP (no RTC wake-up device)",
  },
  { name: "timer_settime", handler: timerSettime, args: ["int", "hex", "ptr", "outbuf"] },
  {
    name: "timer_gettime",
    handler: (k, a) => {
      const t = timerOf(k, a[0]);
      if (typeof t === "number") return t;
      if (!k.proc.canWrite(a[1], 32)) return -E.EFAULT;
      current(k.proc, t, a[1]);
      return 0;
    },
    args: ["int", "outbuf"],
  },
  {
    name: "timer_getoverrun",
    handler: (k, a) => {
      // The overrun of the signal delivered last (Linux's it_overrun_last).
      const t = timerOf(k, a[0]);
      return typeof t === "number" ? t : t.overrun;
    },
    args: ["int"],
  },
  {
    name: "timer_delete",
    handler: (k, a) => {
      const t = timerOf(k, a[0]);
      if (typeof t === "number") return t;
      dropTimerSignal(k.proc, t);
      k.proc.timers!.delete(t.id);
      return 0;
    },
    args: ["int"],
  },
];
