// The one blocking primitive. A handler that must wait describes what for — host fds, a futex
// word, a deadline, children, signals — and returns `k.block(wait)`. The dispatcher then parks
// the thread with its syscall set up to run again (x0 and pc put back, as for Linux's
// -ERESTARTNOINTR) and the scheduler runs another thread, or waits in one host call for all of
// them (scheduler.ts). When the wait ends the thread runs its syscall again; the handler finds the
// wait and why it ended with `k.resumed()`, and answers (a result, or a restart code below that
// the dispatcher turns into EINTR or a restart as Linux does).

import { libc, type Scratch } from "../host/libc.ts";

/** Why a wait ended. */
export const enum Outcome {
  /** Not ended yet. */
  Pending = 0,
  /** What it waited for happened: an fd is ready, a FUTEX_WAKE, a child changed state. */
  Ready = 1,
  /** Its deadline passed. */
  Timeout = 2,
  /** A signal the thread must take (a handler, or a fatal default action) arrived. */
  Signal = 3,
}

/** What a parked thread waits for; every field is optional but `deadline`. */
export interface Wait {
  /** The syscall that parked (its next run finds the outcome). */
  nr: number;
  /** performance.now() milliseconds; Infinity for none. */
  deadline: number;
  /** Host fds and poll(2) events: ready when any has revents. */
  fds?: { hostFd: number; events: number }[];
  /** Futex words (guest addresses) it is queued on (futex.ts), with FUTEX_WAIT_BITSET's bitset. */
  futex?: number[];
  bitset?: number;
  /**
   * Per word: its expected value when the word is in memory other processes share (their
   * FUTEX_WAKE cannot reach this process, so the scheduler looks at the word and ends the wait
   * when it changes), else undefined.
   */
  shared?: (number | undefined)[];
  /** Which word's wake ended the wait (futex_waitv's result). */
  woke?: number;
  /** It waits for a PI lock (FUTEX_LOCK_PI): the owner's FUTEX_UNLOCK_PI hands it over. */
  pi?: boolean;
  /** FUTEX_WAIT_REQUEUE_PI: the PI lock a FUTEX_CMP_REQUEUE_PI may move it to. */
  requeuePi?: number;
  /**
   * A child's change of state ends it (wait4, waitid): the count of SIGCHLDs the listener had seen
   * when the thread looked (SignalRouter.childSignals); a different count ends the wait.
   */
  childCount?: number;
  /** rt_sigtimedwait: any of these signals pending ends it, blocked or not. */
  sigset?: [number, number];
  /** The signal mask while it waits (ppoll, pselect6, rt_sigsuspend); else the thread's own. */
  mask?: [number, number];
  /** Signals do not end it (a vfork parent waits for its child regardless). */
  uninterruptible?: boolean;
  /**
   * The syscall already has its result: the thread resumes with it when the wait ends instead of
   * running the syscall again (a vfork parent's clone returns the child's pid).
   */
  done?: number;
  /**
   * The end of a wait made of short retries (System V IPC in a threaded process): `deadline` is
   * the next look, this the last.
   */
  until?: number;
  /** Called when the wait ends, however it ends. */
  onEnd?: () => void;
  outcome: Outcome;
}

/** A thread that computes this long while others are runnable is switched out (scheduler.ts). */
export const SLICE_MS = 10;

/** Linux's internal restart codes (include/linux/errno.h): returned negated by handlers. */
export const ERESTARTSYS = 512;
export const ERESTARTNOINTR = 513;
export const ERESTARTNOHAND = 514;
export const ERESTART_RESTARTBLOCK = 516;
/** elfuse's own: the handler parked the thread (Task.block). */
export const BLOCKED = 530;

/** A deadline `ns` nanoseconds from now, in performance.now() milliseconds. */
export function deadlineIn(ns: number): number {
  return performance.now() + ns / 1e6;
}

/**
 * The deadline of an absolute time `sec`.`nsec` on host clock `clock` (CLOCK_REALTIME 0,
 * CLOCK_MONOTONIC 1, ...), read through `scratch` (16 bytes at `at`).
 */
export function deadlineAt(
  clock: number,
  sec: number,
  nsec: number,
  scratch: Scratch,
  at: number,
): number {
  libc.clock_gettime(clock, scratch.address + at);
  const now = Number(scratch.view.getBigInt64(at, true)) * 1e9 +
    Number(scratch.view.getBigInt64(at + 8, true));
  return deadlineIn(sec * 1e9 + nsec - now);
}

/** Milliseconds until `deadline`, never negative. */
export function msUntil(deadline: number): number {
  return Math.max(0, deadline - performance.now());
}
