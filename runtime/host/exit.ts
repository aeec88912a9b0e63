// Ending the elfuse process the way the guest ended: the same exit code, or death by the same
// signal (core dumps suppressed), as qemu-user does, so a parent sees the same wait status.
import { libc, Scratch } from "./libc.ts";

const RLIMIT_CORE = 4;
const SIG_DFL = 0;
const SIG_UNBLOCK = 1;

/** Exits with `code`, or kills this process with `signal`; never returns. */
export function exitLike(status: { code: number } | { signal: number }): never {
  if ("code" in status) {
    Deno.exit(status.code);
  }
  const sig = status.signal;
  const s = new Scratch(4096);
  s.view.setBigUint64(0, 0n, true);
  s.view.setBigUint64(8, 0n, true);
  libc.setrlimit(RLIMIT_CORE, s.address);
  libc.signal(sig, SIG_DFL);
  // Unblock it: set bit (sig - 1) of a sigset_t.
  s.u8.fill(0, 16, 16 + 128);
  s.u8[16 + ((sig - 1) >> 3)] = 1 << ((sig - 1) & 7);
  libc.sigprocmask(SIG_UNBLOCK, s.address + 16, 0);
  libc.kill(libc.getpid(), sig);
  // Signals whose default action is to ignore (or that could not be raised) end as 128 + n.
  Deno.exit(128 + sig);
}
