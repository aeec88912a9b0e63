// The one syscall entry: the vCPU calls it on every SVC of the process's current thread. It runs
// the handler for x8, writes the result to x0, and delivers signals that became deliverable.
// --strace and in-process fork children wrap it (strace.ts, inline_table.ts), never copy it.
import { E } from "./errno.ts";
import type { Process } from "./process.ts";
import { deliverPending, takeHostSignals } from "./signal_delivery.ts";
import type { Task } from "./task.ts";

/** What --strace needs around each syscall (strace.ts). */
export interface SyscallTracer {
  /** Before the handler runs, with the arguments read. */
  enter(k: Task, nr: number): void;
  /** After the result is written (`restarted`: the syscall will run again instead). */
  leave(k: Task, nr: number, result: number, restarted: boolean): void;
}

/** The SVC entry for `proc`: serves whichever of its threads is current. */
export function syscallEntry(proc: Process, trace?: SyscallTracer): () => void {
  return () => {
    const k = proc.current;
    const a = k.args;
    const vcpu = proc.vcpu;
    const nr = vcpu.syscallArgs(a);
    if (trace !== undefined) trace.enter(k, nr);
    const h = proc.table[nr];
    let r = h !== undefined ? h(k, a) : unknown(k, nr);
    if (r === -E.EINTR) r = interrupted(k, nr);
    const restarted = proc.hostSignals[0] !== 0 && takeHostSignals(k, nr, r);
    if (!restarted && r === r) vcpu.setResult(r); // NaN (RESULT_SET): the handler wrote x0 itself
    if (trace !== undefined) trace.leave(k, nr, r, restarted);
    if (!restarted && k.signals.wake) deliverPending(k);
  };
}

/** A syscall number with no handler: ENOSYS (logged once under -v). */
function unknown(k: Task, nr: number): number {
  k.rt.onUnknown(nr);
  return -E.ENOSYS;
}

/**
 * A handler's host call failed with EINTR. A kick whose signal was already taken is no news for
 * the guest: the call runs again. Otherwise a signal interrupted it before the listener
 * recorded it: wait for that (signal_router.ts settle) so its handler runs first, as on Linux.
 */
function interrupted(k: Task, nr: number): number {
  const router = k.proc.router, h = k.proc.table[nr];
  if (router === undefined || h === undefined) return -E.EINTR;
  let r = -E.EINTR;
  // A handler that took a signal itself (rt_sigsuspend) returns EINTR for the guest to see.
  while (r === -E.EINTR && !k.signals.wake && router.staleKick()) r = h(k, k.args);
  if (r === -E.EINTR) router.settle();
  return r;
}
