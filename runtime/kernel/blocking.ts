// Host calls that may block on an fd (read, write and their vector forms on pipes, terminals and
// sockets). A process with one thread makes them directly: the host call blocks, and the signal
// listener's kick interrupts it (host/signal_router.ts). With other threads, a call that would
// block must not hold the host thread they all run on, so the fd is polled first and the thread
// parks until it is ready (wait.ts), then makes its call.
import { libc } from "../host/libc.ts";
import { openFlagsToHost } from "../host/mod.ts";
import { Slot } from "./scratch.ts";
import type { Task } from "./task.ts";
import { ERESTARTSYS, Outcome } from "./wait.ts";

export const POLLIN = 1, POLLOUT = 4;
const F_GETFL = 3;
/** The host's O_NONBLOCK (Linux 0o4000, XNU 4). */
export const HOST_O_NONBLOCK = openFlagsToHost(0o4000);

/**
 * Before a host call on `hostFd` that may block for `events`: 0 to go ahead, or the result the
 * handler returns (the thread parks until the fd is ready; -ERESTARTSYS when a signal ended the
 * wait, so the call restarts or fails with EINTR as Linux's would).
 */
export function mayBlock(k: Task, hostFd: number, events: number): number {
  if (k.proc.tasks.length === 1) return 0;
  if (k.resumed()?.outcome === Outcome.Signal) return -ERESTARTSYS;
  const s = k.rt.scratch, at = Slot.POLL_ONE;
  s.view.setInt32(at, hostFd, true);
  s.view.setInt16(at + 4, events, true);
  s.view.setInt16(at + 6, 0, true);
  s.view.setBigInt64(at + 8, 0n, true);
  s.view.setBigInt64(at + 16, 0n, true);
  if (libc.ppoll(s.address + at, 1, s.address + at + 8, 0) !== 0) return 0; // ready, or an error
  // A non-blocking fd never waits: the host call answers EAGAIN itself.
  if ((libc.fcntl(hostFd, F_GETFL, 0) & HOST_O_NONBLOCK) !== 0) return 0;
  return k.block({ fds: [{ hostFd, events }] });
}
