// The host kernel's POSIX timers by raw syscall (timer_create(2) and friends): glibc's wrappers
// add a helper thread for SIGEV_THREAD and keep ids of their own, and do not offer
// SIGEV_THREAD_ID. struct sigevent and struct itimerspec are laid out alike on every 64-bit Linux.
import { libc, setHostErrno } from "./libc.ts";

const NR: Record<string, Record<TimerOp, number>> = {
  x86_64: { create: 222, settime: 223, gettime: 224, getoverrun: 225, delete: 226 },
  aarch64: { create: 107, settime: 110, gettime: 108, getoverrun: 109, delete: 111 },
};

export type TimerOp = "create" | "settime" | "gettime" | "getoverrun" | "delete";

/** True when this host has them (Linux on x86_64 or aarch64). */
export function hostTimersAvailable(): boolean {
  return Deno.build.os === "linux" && NR[Deno.build.arch] !== undefined;
}

/** timer_`op`(args...): the syscall's result, or -1 with errno set (ENOSYS off Linux). */
export function hostTimer(op: TimerOp, ...args: number[]): number {
  if (!hostTimersAvailable()) {
    setHostErrno(38); // ENOSYS
    return -1;
  }
  const a = [...args, 0, 0, 0, 0, 0, 0].slice(0, 6).map((x) => BigInt(x));
  return Number(libc.syscall6(BigInt(NR[Deno.build.arch][op]), a[0], a[1], a[2], a[3], a[4], a[5]));
}
