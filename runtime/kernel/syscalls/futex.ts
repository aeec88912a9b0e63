// futex for a process with one thread (threads are open work): nobody else can change a futex
// word or wake a waiter, so WAKE wakes no one, WAIT either fails at once (the word changed:
// EAGAIN) or sleeps out its timeout, and the requeue/wake-op variants do their compare and
// update without any waiter to move. glibc calls these from pthread_once, locks and stdio even in
// single-threaded programs, and aborts on ENOSYS.
import { libc } from "../../host/libc.ts";
import { E } from "../errno.ts";
import type { Task } from "../task.ts";
import type { SyscallDef } from "../syscall_def.ts";

const FUTEX_WAIT = 0, FUTEX_WAKE = 1, FUTEX_REQUEUE = 3, FUTEX_CMP_REQUEUE = 4;
const FUTEX_WAKE_OP = 5, FUTEX_WAIT_BITSET = 9, FUTEX_WAKE_BITSET = 10;
const FUTEX_PRIVATE = 128, FUTEX_CLOCK_REALTIME = 256;
const CLOCK_REALTIME = 0, CLOCK_MONOTONIC = 1, TIMER_ABSTIME = 1;

/** WAIT with nobody to wake it: EAGAIN if the word differs, else sleep out the timeout. */
function wait(k: Task, uaddr: number, val: number, timeout: number, abs: boolean, clock: number) {
  if (uaddr % 4 !== 0) return -E.EINVAL;
  if (!k.proc.canRead(uaddr, 4)) return -E.EFAULT;
  if (k.proc.view.getInt32(uaddr, true) !== (val | 0)) return -E.EAGAIN;
  if (timeout !== 0 && !k.proc.canRead(timeout, 16)) return -E.EFAULT;
  // Without a timeout this is a deadlock on Linux too: block until a signal ends the process.
  const ts = timeout === 0 ? k.rt.scratchTimespec(3600, 0) : k.proc.hostBase + timeout;
  for (;;) {
    const r = libc.clock_nanosleep(clock, abs ? TIMER_ABSTIME : 0, ts, 0);
    if (timeout !== 0 && r === 0) return -E.ETIMEDOUT;
    if (r !== 0 && r !== 4 /* EINTR */) return -r;
  }
}

/** FUTEX_WAKE_OP's update of the second word (linux/futex.h encoding); 0 woken. */
function wakeOp(k: Task, uaddr2: number, encoded: number): number {
  if (!k.proc.canWrite(uaddr2, 4)) return -E.EFAULT;
  const op = (encoded >>> 28) & 7, shift = (encoded >>> 31) & 1;
  let arg = (encoded << 8) >> 20; // sign-extended 12 bits
  if (shift) arg = 1 << (arg & 31);
  const old = k.proc.view.getInt32(uaddr2, true);
  const next = [arg, old + arg, old | arg, old & ~arg, old ^ arg][op];
  if (next === undefined) return -E.ENOSYS;
  k.proc.view.setInt32(uaddr2, next | 0, true);
  return 0;
}

function futex(k: Task, a: Float64Array): number {
  const uaddr = a[0], op = a[1] | 0, val = a[2], uaddr2 = a[4], val3 = a[5];
  const cmd = op & ~(FUTEX_PRIVATE | FUTEX_CLOCK_REALTIME);
  const clock = op & FUTEX_CLOCK_REALTIME ? CLOCK_REALTIME : CLOCK_MONOTONIC;
  switch (cmd) {
    case FUTEX_WAIT:
      return wait(k, uaddr, val, a[3], false, CLOCK_MONOTONIC);
    case FUTEX_WAIT_BITSET:
      return (val3 | 0) === 0 ? -E.EINVAL : wait(k, uaddr, val, a[3], true, clock);
    case FUTEX_WAKE:
    case FUTEX_WAKE_BITSET:
    case FUTEX_REQUEUE:
      return 0;
    case FUTEX_CMP_REQUEUE:
      if (!k.proc.canRead(uaddr, 4)) return -E.EFAULT;
      return k.proc.view.getInt32(uaddr, true) === (val3 | 0) ? 0 : -E.EAGAIN;
    case FUTEX_WAKE_OP:
      return wakeOp(k, uaddr2, val3 | 0);
    default:
      return -E.ENOSYS; // priority-inheritance and other ops
  }
}

export const futexSyscalls: SyscallDef[] = [
  {
    name: "futex",
    handler: futex,
    args: ["hex", "hex", "int", "ptr", "hex", "hex"],
    status: "partial",
    note:
      "one thread per process: WAKE wakes nobody, WAIT returns EAGAIN or sleeps out its timeout (forever without one); PI ops ENOSYS",
  },
];
