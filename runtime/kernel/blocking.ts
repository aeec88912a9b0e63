// The one place where the guest waits for host fds or time. Every blocking wait of the poll
// family goes through waitFds(), so that a thread scheduler can take it over (wait for all
// blocked threads in one host poll) without touching the syscall handlers.
import { libc } from "../host/libc.ts";
import type { Task } from "./task.ts";

/**
 * Waits on `n` host pollfds at host address `fds` until one is ready or `timeout` (host address
 * of a timespec, 0 for none) passes. Returns the ready count or -errno.
 */
export function waitFds(k: Task, fds: number, n: number, timeout: number): number {
  return k.host(libc.ppoll(fds, n, timeout, 0));
}
