// The waits of System V IPC calls (semop, msgsnd, msgrcv), the same on every host.
import { E } from "../errno.ts";
import type { Task } from "../task.ts";
import { Outcome } from "../wait.ts";

/** How often a thread of a threaded process looks again at what it waits for. */
export const RETRY_MS = 2;

/**
 * A wait for a semaphore or a message: with other threads the host thread must not block (they
 * share the vCPU), so the call is made with IPC_NOWAIT and the thread parks for RETRY_MS and
 * tries again until `until`. With one thread the host call itself blocks (a signal's kick
 * interrupts it), unless `poll` (a timed wait where the host has no timed call: macOS has no
 * semtimedop). Linux never restarts these calls after a handler (signal(7)): EINTR. `error` is
 * the failed host call's errno as a negative Linux errno (the host's numbers by default).
 */
export function retrying(
  k: Task,
  blocking: boolean,
  until: () => number,
  call: (nowait: boolean) => number,
  busy: number,
  poll = false,
  error: (k: Task) => number = hostError,
): number {
  const w = k.resumed();
  if (w?.outcome === Outcome.Signal) return -E.EINTR;
  if (!blocking || (k.proc.tasks.length === 1 && !poll)) {
    const r = call(false);
    return r < 0 ? error(k) : r;
  }
  const r = call(true);
  if (r >= 0) return r;
  const err = error(k);
  if (err !== -busy) return err;
  const end = w?.until ?? until();
  if (performance.now() >= end) return -E.EAGAIN; // semtimedop's timeout passed
  return k.block({ deadline: Math.min(performance.now() + RETRY_MS, end), until: end });
}

const hostError = (k: Task) => k.fail();
