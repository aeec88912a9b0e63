// Signal generation and delivery (Linux kernel/signal.c): a signal is sent to a thread or to its
// whole process, becomes pending, and is delivered to a thread that does not block it when that
// thread returns from a syscall (or is woken from a wait for it): a handler gets a signal frame
// (signal_frame.ts), default actions are carried out.
import { libc } from "../host/libc.ts";
import { stopThisProcess } from "../host/signal_router.ts";
import type { Process } from "./process.ts";
import type { PosixTimer } from "./posix_timers.ts";
import { setupFrame } from "./signal_frame.ts";
import {
  CLD_CONTINUED,
  CLD_STOPPED,
  coreSignals,
  ignoredByDefault,
  type SigAction,
  type SigInfo,
  SIGKILL,
  SIGSTOP,
  stopSignals,
} from "./signals.ts";
import { Slot } from "./scratch.ts";
import type { Task } from "./task.ts";
import { Outcome } from "./wait.ts";
import { E } from "./errno.ts";

const SIG_IGN = 1, SIGCHLD = 17, SA_NOCLDSTOP = 1;
export const SI_USER = 0, SI_TKILL = -6, SI_KERNEL = 0x80;

/** Whether `sig` would be discarded on arrival: ignored, and not blocked by the thread. */
function ignored(proc: Process, sig: number, t: Task | undefined): boolean {
  if (t !== undefined ? t.blocks(sig) : proc.isBlocked(sig)) return false;
  const h = proc.actions[sig].handler;
  return h === SIG_IGN || (h === 0 && ignoredByDefault.has(sig));
}

/** A handler runs for `sig`, or its default action ends the process (what interrupts a wait). */
function matters(proc: Process, sig: number): boolean {
  const h = proc.actions[sig].handler;
  return h > SIG_IGN || (h === 0 && !ignoredByDefault.has(sig) && !stopSignals.has(sig));
}

function inSet(set: [number, number] | undefined, sig: number): boolean {
  if (set === undefined) return false;
  return sig <= 32 ? (set[0] & (1 << (sig - 1))) !== 0 : (set[1] & (1 << (sig - 33))) !== 0;
}

/**
 * Sends `sig` to process `proc` (target undefined) or to one of its threads. Like Linux's
 * send_signal then complete_signal: it is queued, a thread that can take it is told to look (and
 * woken from a wait the signal interrupts), and a fatal default action ends the process at once.
 */
export function sendSignal(proc: Process, sig: number, info: SigInfo, target?: Task): void {
  if (sig === 0 || proc.exitStatus !== undefined) return;
  if (sig === SIGKILL) {
    proc.killedBy(SIGKILL, false);
    return;
  }
  if (ignored(proc, sig, target)) return;
  (target?.signals.pending ?? proc.pending).enqueue(sig, info);
  pendingChanged(proc);
  // A thread in rt_sigtimedwait for it takes it there.
  for (const t of target !== undefined ? [target] : proc.tasks) {
    if (inSet(t.wait?.sigset, sig)) {
      proc.wake(t, Outcome.Ready);
      return;
    }
  }
  // The thread that takes it: the target, or the current thread, or any that does not block it.
  let taker = target;
  if (taker === undefined) {
    const cur = proc.current;
    taker = !cur.blocks(sig) ? cur : proc.tasks.find((t) => !t.blocks(sig));
  } else if (taker.blocks(sig)) taker = undefined;
  if (taker === undefined) return; // blocked everywhere: it waits, pending
  const h = proc.actions[sig].handler;
  if (h === 0 && !ignoredByDefault.has(sig) && !stopSignals.has(sig)) {
    // Fatal: the whole process dies now (default actions never run a handler).
    (target?.signals.pending ?? proc.pending).discard(sig);
    proc.killedBy(sig, coreSignals.has(sig));
    return;
  }
  taker.signals.wake = true;
  const w = taker.wait;
  if (w !== undefined && !w.uninterruptible && matters(proc, sig)) proc.wake(taker, Outcome.Signal);
}

/**
 * A signal became pending or stopped being so: emulated descriptions that report pending signals
 * (signalfd) update their readiness. Nothing to do, and one load, when the process has none.
 */
export function pendingChanged(proc: Process): void {
  if (proc.fds.emulated === 0) return;
  for (const e of proc.fds.entries) e?.file?.signalsChanged?.(proc);
}

/** kill(getpid(), sig) and friends: a signal to the calling thread's own process. */
export function sendSelf(k: Task, sig: number, code: number, value = 0n, pid = k.proc.pid): number {
  if (sig === 0) return 0;
  sendSignal(k.proc, sig, { code, pid, uid: k.proc.creds.uid, value });
  return 0;
}

/**
 * Runs when a syscall returns with `signals.wake` set: the lowest pending signal the thread does
 * not block (its own first, then its process's) is delivered to its handler (one frame; the next
 * waits for the next syscall return), and pending signals whose action is a default one take it.
 */
export function deliverPending(k: Task): void {
  const s = k.signals, proc = k.proc;
  s.wake = false;
  while (proc.exitStatus === undefined) {
    let queue = s.pending;
    let sig = queue.firstUnblocked(s.maskLo, s.maskHi);
    if (sig === 0) {
      queue = proc.pending;
      sig = queue.firstUnblocked(s.maskLo, s.maskHi);
    }
    if (sig === 0) break;
    const action = proc.actions[sig];
    const info = queue.dequeue(sig)!;
    pendingChanged(proc);
    if (action.handler > SIG_IGN) {
      if (!setupFrame(k, sig, info)) proc.killedBy(11, true); // no room for the frame: SIGSEGV
      proc.syncSignals(); // the handler runs with sa_mask blocked
      s.wake = true; // more may be pending: look again at the next syscall return
      return;
    }
    if (action.handler === SIG_IGN || ignoredByDefault.has(sig)) continue;
    if (stopSignals.has(sig)) {
      // A job-control stop: the host process stops (its parent sees it stopped, and SIGCONT
      // goes on from here). An in-process child's moved out before sending it (inline_table.ts).
      if (proc.inline === undefined) stopThisProcess(sig);
      continue;
    }
    proc.killedBy(sig, coreSignals.has(sig));
  }
  if (s.savedMask !== undefined) {
    [s.maskLo, s.maskHi] = s.savedMask; // rt_sigsuspend woke for nothing that needed a frame
    s.savedMask = undefined;
    proc.syncSignals();
  }
}

/**
 * Whether a pending signal would run a handler or end the process if delivered to `k` now, with
 * `mask` blocked (default: the thread's mask).
 */
export function signalWaiting(k: Task, mask?: [number, number]): boolean {
  const s = k.signals, proc = k.proc;
  const [mlo, mhi] = mask ?? [s.maskLo, s.maskHi];
  for (const queue of [s.pending, proc.pending]) {
    let lo = (queue.lo & ~mlo) >>> 0, hi = (queue.hi & ~mhi) >>> 0;
    while (lo !== 0 || hi !== 0) {
      const sig = lo !== 0 ? 32 - Math.clz32(lo & -lo) : 64 - Math.clz32(hi & -hi);
      if (sig <= 32) lo = (lo & ~(1 << (sig - 1))) >>> 0;
      else hi = (hi & ~(1 << (sig - 33))) >>> 0;
      if (matters(proc, sig)) return true;
    }
  }
  return false;
}

/** Host signals arrived (signal_router.ts): send them to the process. */
export function takeHostSignals(proc: Process): void {
  const bits = proc.router?.take();
  if (bits === undefined) return;
  if (proc.router!.rang()) fireTimers(proc);
  for (let sig = 1; sig <= 64; sig++) {
    const on = sig <= 32 ? (bits[0] >>> (sig - 1)) & 1 : (bits[1] >>> (sig - 33)) & 1;
    if (!on) continue;
    if (sig !== SIGCHLD) {
      sendSignal(proc, sig, { code: SI_KERNEL, pid: 0, uid: 0, value: 0n });
      continue;
    }
    const info = childInfo(proc);
    // SA_NOCLDSTOP: no SIGCHLD for a child that stopped or continued (the host sent one anyway:
    // the listener's handler is not the guest's).
    const quiet = (proc.actions[SIGCHLD].flags & SA_NOCLDSTOP) !== 0;
    if (!quiet || (info.code !== CLD_STOPPED && info.code !== CLD_CONTINUED)) {
      sendSignal(proc, sig, info);
    }
  }
}

/** Where a POSIX timer's signal is queued: the thread SIGEV_THREAD_ID names while it lives. */
function timerTarget(proc: Process, t: PosixTimer): Task | undefined {
  return t.tid === 0 ? undefined : proc.tasks.find((task) => task.tid === t.tid);
}

/**
 * A timer was re-armed or deleted: its signal still pending is dropped, as Linux 6.13 and later
 * drop it (kernel/signal.c posixtimer_deliver_signal ignores a signal of an older arming).
 */
export function dropTimerSignal(proc: Process, t: PosixTimer): void {
  if (t.info === undefined) return;
  if ((timerTarget(proc, t)?.signals.pending ?? proc.pending).remove(t.signo, t.info)) {
    pendingChanged(proc);
  }
  t.info = undefined;
}

/**
 * POSIX timers that are due queue their signals, and the listener's alarm is set for the next
 * expiry. A signal that was not queued (ignored, or a standard one already pending) re-arms its
 * timer at once.
 */
export function fireTimers(proc: Process): void {
  const timers = proc.timers;
  if (timers === undefined) return;
  for (const t of timers.expire()) {
    const info = t.info!, target = timerTarget(proc, t);
    sendSignal(proc, t.signo, info, target);
    const queue = (target?.signals.pending ?? proc.pending).queue[t.signo];
    if (t.info === info && !queue.includes(info)) info.settled!(false);
  }
  proc.router?.alarm(timers.nextAlarm());
}

/**
 * The action delivering a signal to `k` now would run a handler for (the signal deliverPending
 * would take), or undefined when none would.
 */
export function nextHandler(k: Task): SigAction | undefined {
  const s = k.signals, proc = k.proc;
  let sig = s.pending.firstUnblocked(s.maskLo, s.maskHi);
  if (sig === 0) sig = proc.pending.firstUnblocked(s.maskLo, s.maskHi);
  if (sig === 0) return undefined;
  const action = proc.actions[sig];
  return action.handler > SIG_IGN ? action : undefined;
}

/**
 * The siginfo of a SIGCHLD: the listener cannot see the host's, so look at the child that
 * changed state without reaping it (waitid with WNOWAIT), as the kernel would have filled it;
 * when a wait has taken that report already, it is the one the wait saw (Process.reaped).
 */
function childInfo(proc: Process): SigInfo {
  const s = proc.rt.scratch, at = Slot.WAITID;
  s.u8.fill(0, at, at + 128);
  // P_ALL, WEXITED | WSTOPPED | WCONTINUED | WNOHANG | WNOWAIT
  if (
    libc.waitid(0, 0, s.address + at, 4 | 2 | 8 | 1 | 0x01000000) !== 0 ||
    s.view.getInt32(at + 16, true) === 0
  ) {
    const report = proc.childReport;
    proc.childReport = undefined;
    return report ?? { code: SI_KERNEL, pid: 0, uid: 0, value: 0n };
  }
  const status = s.view.getInt32(at + 24, true);
  return {
    code: s.view.getInt32(at + 8, true),
    pid: s.view.getInt32(at + 16, true),
    uid: s.view.getUint32(at + 20, true),
    value: BigInt(status >>> 0), // si_status sits where si_value does for SIGCHLD
  };
}

/**
 * A synchronous fault (SIGSEGV, SIGBUS, SIGILL, SIGTRAP) at the current pc of thread `k`.
 * Delivered to a handler when there is one and it is not blocked; otherwise false, and the caller
 * takes the default action, as Linux's force_sig.
 */
export function deliverFault(k: Task, sig: number, code: number, address: number): boolean {
  const s = k.signals;
  if (k.proc.actions[sig].handler <= SIG_IGN || s.isBlocked(sig)) return false;
  return setupFrame(k, sig, { code, pid: 0, uid: 0, value: 0n }, address);
}

/** SIGKILL and SIGSTOP can never be blocked: bits 8 and 18 of the low word. */
export const UNBLOCKABLE_LO = (1 << (SIGKILL - 1)) | (1 << (SIGSTOP - 1));

/**
 * A temporary signal mask argument (ppoll, pselect6, epoll_pwait, rt_sigsuspend): the sigset at
 * guest `addr`, SIGKILL and SIGSTOP left out; undefined for NULL; -EINVAL when `size` is not the
 * kernel's sizeof(sigset_t) (8), -EFAULT for a bad pointer.
 */
export function temporaryMask(
  k: Task,
  addr: number,
  size: number,
): [number, number] | undefined | number {
  if (addr === 0) return undefined;
  if (size !== 8) return -E.EINVAL;
  if (!k.proc.canRead(addr, 8)) return -E.EFAULT;
  const v = k.proc.view;
  return [(v.getUint32(addr, true) & ~UNBLOCKABLE_LO) >>> 0, v.getUint32(addr + 4, true)];
}

/**
 * A signal ends a wait that had a temporary mask: the handler runs with that mask, and its frame
 * restores the thread's own (Linux's set_restore_sigmask).
 */
export function maskForHandler(k: Task, mask: [number, number] | undefined): void {
  if (mask === undefined) return;
  const s = k.signals;
  s.savedMask = [s.maskLo, s.maskHi];
  [s.maskLo, s.maskHi] = mask;
  k.proc.syncSignals();
}
