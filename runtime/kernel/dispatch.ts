// The one syscall entry: the vCPU calls it on every SVC of the process's current thread. It runs
// the handler for x8, writes the result to x0, and delivers signals that became deliverable. A
// handler may instead park the thread (wait.ts, scheduler.ts) or return one of Linux's restart
// codes, which are settled here as Linux's signal code settles them. --strace and in-process fork
// children wrap it (strace.ts, inline_table.ts), never copy it.
import { E } from "./errno.ts";
import type { Process } from "./process.ts";
import { LIVE_SYSCALLS, refreshLive } from "./procfs/live.ts";
import { park, rewind } from "./scheduler.ts";
import { deliverPending, nextHandler, takeHostSignals } from "./signal_delivery.ts";
import type { Task } from "./task.ts";
import { BLOCKED, ERESTARTNOINTR, ERESTARTSYS } from "./wait.ts";

/** What --strace needs around each syscall (strace.ts). */
export interface SyscallTracer {
  /** Before the handler runs, with the arguments read. */
  enter(k: Task, nr: number): void;
  /** After the result is written (`restarted`: the syscall will run again instead). */
  leave(k: Task, nr: number, result: number, restarted: boolean): void;
}

/**
 * Syscalls whose host call fails with EINTR when a signal interrupts it, and which Linux restarts
 * after a handler with SA_RESTART (they end with -ERESTARTSYS in the kernel; signal(7)).
 */
const RESTARTABLE = new Set([
  29, // ioctl
  63,
  64,
  65,
  66,
  67,
  68,
  69,
  70, // read, write, readv, writev, pread64, pwrite64, preadv, pwritev
  25, // fcntl (F_SETLKW)
  32, // flock
  56, // openat (a FIFO)
  95,
  260, // waitid, wait4
  71,
  285, // sendfile, copy_file_range
  76,
  77, // splice, tee
  // Socket calls (signal(7): restarted with SA_RESTART unless the socket has a timeout).
  202,
  203,
  206,
  207,
  211,
  212,
  242,
  243,
  269, // accept, connect, sendto, recvfrom, sendmsg, recvmsg, accept4, recvmmsg, sendmmsg
  182,
  183, // mq_timedsend, mq_timedreceive
]);
const SA_RESTART = 0x10000000;

/** The SVC entry for `proc`: serves whichever of its threads is current. */
export function syscallEntry(proc: Process, trace?: SyscallTracer): () => void {
  return () => {
    const k = proc.current;
    const a = k.args;
    const vcpu = proc.vcpu;
    const nr = vcpu.syscallArgs(a);
    k.nr = nr;
    if (trace !== undefined) trace.enter(k, nr);
    const h = proc.table[nr];
    let r = h !== undefined ? h(k, a) : unknown(k, nr);
    if (r === -E.EINTR) r = interrupted(k, nr);
    if (proc.hostSignals[0] !== 0) takeHostSignals(proc);
    // What another process's /proc shows of this one changed (procfs/live.ts): no host call.
    if (LIVE_SYSCALLS[nr] === 1 && proc.live !== undefined) refreshLive(proc, proc.live);
    if (r <= -ERESTARTSYS && r >= -BLOCKED) {
      settle(k, r, trace);
      return;
    }
    if (r === r) vcpu.setResult(r); // NaN (RESULT_SET): the handler wrote x0 itself
    if (trace !== undefined) trace.leave(k, nr, r, false);
    // A handler that switched threads (exit, sched_yield) left `k` behind.
    if (proc.current === k && (k.signals.wake || k.signals.savedMask !== undefined)) {
      deliverPending(k);
    }
  };
}

/**
 * A handler returned BLOCKED (the thread parks) or a restart code: restart the syscall or fail it
 * with EINTR as Linux does (arch/arm64/kernel/signal.c do_signal): ERESTARTNOINTR always restarts;
 * ERESTARTSYS restarts unless a handler without SA_RESTART runs; ERESTARTNOHAND and
 * ERESTART_RESTARTBLOCK restart only when no handler runs.
 */
function settle(k: Task, r: number, trace: SyscallTracer | undefined): void {
  if (r === -BLOCKED) {
    park(k);
    return;
  }
  const action = nextHandler(k);
  const restart = r === -ERESTARTNOINTR ||
    (r === -ERESTARTSYS
      ? action === undefined || (action.flags & SA_RESTART) !== 0
      : action === undefined);
  if (restart) rewind(k);
  else k.proc.vcpu.setResult(-E.EINTR);
  if (trace !== undefined) trace.leave(k, k.nr, -E.EINTR, restart);
  if (k.signals.wake || k.signals.savedMask !== undefined) deliverPending(k);
}

/** A syscall number with no handler: ENOSYS (logged once under -v). */
function unknown(k: Task, nr: number): number {
  k.rt.onUnknown(nr);
  return -E.ENOSYS;
}

/**
 * A handler's host call failed with EINTR. A kick whose signal was already taken, or whose news
 * wakes no handler in this thread, is no news for the guest: the call runs again. Otherwise a signal interrupted it before the listener
 * recorded it: wait for that (signal_router.ts settle) so its handler runs first, as on Linux;
 * the syscall then ends as Linux's ERESTARTSYS does when it is one Linux restarts.
 */
function interrupted(k: Task, nr: number): number {
  const proc = k.proc, router = proc.router, h = proc.table[nr];
  if (router === undefined || h === undefined) return -E.EINTR;
  let r = -E.EINTR;
  for (;;) {
    // What the kick announced may interrupt nothing (a blocked signal, a timer sending none).
    if (proc.hostSignals[0] !== 0) takeHostSignals(proc);
    if (r !== -E.EINTR || k.signals.wake || proc.exitStatus !== undefined) break;
    if (!router.staleKick()) break;
    r = h(k, k.args);
  }
  if (r === -E.EINTR) router.settle();
  return r === -E.EINTR && RESTARTABLE.has(nr) ? -ERESTARTSYS : r;
}
