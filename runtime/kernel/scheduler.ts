// The scheduler: every thread of a process runs on its one vCPU (M:1), taking turns. A switch
// saves the outgoing thread's whole register state and loads the next one's (Vcpu.saveContext,
// loadContext), inside the syscall hook or between runs. A thread gives the vCPU up when it parks
// (wait.ts), yields, exits, or its time slice ends (the signal listener interrupts the vCPU every
// SLICE_MS while others are runnable: host/signal_router.ts). When every thread is parked, the
// scheduler waits for all of them in one host ppoll: their fds, the nearest deadline, and the
// signal listener's wake fd.
import { libc } from "../host/libc.ts";
import { moveOut } from "./inline_fork.ts";
import type { Process } from "./process.ts";
import { Slot } from "./scratch.ts";
import { deliverPending, signalWaiting, takeHostSignals } from "./signal_delivery.ts";
import { type Task, TaskState } from "./task.ts";
import { msUntil, Outcome, SLICE_MS, type Wait } from "./wait.ts";

/** How often a wait on a futex in shared memory looks at the word (other processes wake it). */
const SHARED_FUTEX_POLL_MS = 2;
/** Most host fds one idle wait watches (the pollfd array's slot). */
const MAX_POLL = Math.floor(0x8000 / 8);
const POLLIN = 1;

/** Puts x0 and pc back so that the syscall being served runs again when `k` resumes. */
export function rewind(k: Task): void {
  const v = k.proc.vcpu;
  v.setResult(k.args[0]);
  v.set(32, /* Reg.PC */ v.get(32) - 4); // back onto the svc
}

/** The current thread's handler returned BLOCKED: park it, run another (or wait for one). */
export function park(k: Task): void {
  const proc = k.proc;
  // An in-process fork child never waits: it moves to a process of its own and waits there.
  if (proc.inline !== undefined && !proc.inline.moved && moveOut(k) !== undefined) {
    k.wait = undefined;
    return;
  }
  const w = k.wait!;
  if (w.done !== undefined) k.proc.vcpu.setResult(w.done);
  else rewind(k);
  k.state = TaskState.Blocked;
  proc.blocked.add(k);
  // A signal that arrived while its handler ran (the dispatcher takes host signals after it)
  // found the thread not yet parked: it ends the wait now, as it would have then.
  if (w.sigset !== undefined && pendingIn(k, w.sigset)) proc.wake(k, Outcome.Ready);
  else if (!w.uninterruptible && signalWaiting(k, w.mask)) proc.wake(k, Outcome.Signal);
  switchAway(k);
}

/** Whether a signal of `set` is pending for `k` (its own or its process's). */
function pendingIn(k: Task, set: [number, number]): boolean {
  const t = k.signals.pending, p = k.proc.pending;
  return ((t.lo | p.lo) & set[0]) !== 0 || ((t.hi | p.hi) & set[1]) !== 0;
}

/** `from` gives up the vCPU (parked or exited): the next runnable thread gets it. */
export function switchAway(from: Task): void {
  const proc = from.proc;
  const next = proc.runQueue.shift() ?? idle(proc);
  if (next !== undefined) switchTo(from, next);
}

/** sched_yield: the current thread goes to the back of the run queue. */
export function yieldCpu(k: Task): void {
  const proc = k.proc;
  const next = proc.runQueue.shift();
  if (next === undefined) return;
  k.state = TaskState.Runnable;
  proc.runQueue.push(k);
  switchTo(k, next);
}

/**
 * The vCPU was interrupted (a signal, or a time slice): switch when the current thread has had
 * its slice and another is waiting, and deliver what became deliverable.
 */
export function preempted(proc: Process): void {
  const k = proc.current;
  if (proc.blocked.size > 0) poll(proc, false);
  if (proc.runQueue.length > 0 && performance.now() - k.since >= SLICE_MS) yieldCpu(k);
  const cur = proc.current;
  if (cur.signals.wake && cur.ended === undefined) deliverPending(cur);
}

/**
 * A debugger steps the runnable thread `t` (runtime/gdb/): it takes the vCPU now, and the thread
 * it displaces goes first in the run queue.
 */
export function runNow(t: Task): void {
  const proc = t.proc, cur = proc.current;
  const i = proc.runQueue.indexOf(t);
  if (t === cur || i < 0) return;
  proc.runQueue.splice(i, 1);
  cur.state = TaskState.Runnable;
  proc.runQueue.unshift(cur);
  switchTo(cur, t);
}

/** Puts `next`'s registers on the vCPU in place of `from`'s. */
function switchTo(from: Task, next: Task): void {
  const proc = from.proc, v = proc.vcpu;
  if (next !== from) {
    if (from.state !== TaskState.Exited) v.saveContext(from.context ??= v.newContext());
    v.loadContext(next.context!);
  }
  next.state = TaskState.Running;
  next.since = performance.now();
  proc.current = next;
  // A thread whose syscall runs again takes its signals there (resumed()); others now.
  if (next.ended === undefined && next.signals.wake) deliverPending(next);
}

/**
 * Every thread is parked: wait in one host call until one can run, and return it (undefined when
 * the process ended meanwhile).
 */
function idle(proc: Process): Task | undefined {
  for (;;) {
    if (proc.exitStatus !== undefined) return undefined;
    const next = proc.runQueue.shift();
    if (next !== undefined) return next;
    poll(proc, true);
  }
}

/**
 * Ends the waits of parked threads that can go on: deadlines passed, fds ready, futex words in
 * shared memory changed, children that changed state, signals. With `wait`, first sleeps in one
 * host ppoll until one of those can happen (or the signal listener's wake pipe is written);
 * without, only looks (the current thread is computing: time slices call this).
 */
function poll(proc: Process, wait: boolean): void {
  const s = proc.rt.scratch, view = s.view, base = Slot.IDLE_POLL;
  if (proc.hostSignals[0] !== 0) takeHostSignals(proc);
  const now = performance.now();
  let deadline = Infinity, shared = false, n = 0;
  const owners: (Task | undefined)[] = [];
  const put = (fd: number, events: number, owner: Task | undefined) => {
    if (n >= MAX_POLL) return;
    view.setInt32(base + n * 8, fd, true);
    view.setInt16(base + n * 8 + 4, events, true);
    view.setInt16(base + n * 8 + 6, 0, true);
    owners[n++] = owner;
  };
  const wakeFd = proc.router?.wakeFd ?? -1;
  if (wakeFd >= 0) put(wakeFd, POLLIN, undefined);
  const children = proc.router?.childSignals() ?? -1;
  for (const t of [...proc.blocked]) {
    const w = t.wait!;
    if (w.deadline <= now) proc.wake(t, Outcome.Timeout);
    else if (sharedWordChanged(proc, w)) proc.wake(t, Outcome.Ready);
    else if (w.childCount !== undefined && children !== w.childCount) {
      proc.wake(t, Outcome.Ready);
    } else {
      deadline = Math.min(deadline, w.deadline);
      shared ||= w.shared !== undefined;
      for (const f of w.fds ?? []) put(f.hostFd, f.events, t);
    }
  }
  if (proc.runQueue.length > 0 || proc.exitStatus !== undefined) wait = false;
  let ms = wait ? msUntil(deadline) : 0;
  if (shared) ms = Math.min(ms, SHARED_FUTEX_POLL_MS);
  const ts = ms === Infinity
    ? 0
    : proc.rt.scratchTimespec(Math.floor(ms / 1000), Math.round((ms % 1000) * 1e6));
  if (n === 0 && !wait) return;
  const r = libc.ppoll(s.address + base, n, ts, 0);
  if (r <= 0) return; // a timeout, or EINTR (the listener's kick): look again
  for (let i = 0; i < n; i++) {
    if (view.getInt16(base + i * 8 + 6, true) === 0) continue;
    const t = owners[i];
    if (t === undefined) drain(proc, wakeFd);
    else proc.wake(t, Outcome.Ready);
  }
}

/** A futex word in shared memory no longer holds what the waiter saw: another process wrote it. */
function sharedWordChanged(proc: Process, w: Wait): boolean {
  if (w.shared === undefined) return false;
  for (let i = 0; i < w.shared.length; i++) {
    const v = w.shared[i];
    if (v !== undefined && proc.view.getInt32(w.futex![i], true) !== v) {
      w.woke = i;
      return true;
    }
  }
  return false;
}

/** Empties the listener's wake pipe (non-blocking). */
function drain(proc: Process, fd: number): void {
  const at = proc.rt.scratch.address + Slot.BYTE;
  while (Number(libc.read(fd, at, 16)) > 0);
}
