// A periodic kick (signal_router.ts's KICK) to this thread: while an in-process fork child runs
// (kernel/inline_fork.ts), a host call of the child that blocks fails with EINTR within one
// period, so the child can move to its own process instead of stalling its waiting parent.
// Linux POSIX timer with SIGEV_THREAD_ID (timer_create(2)); raw syscalls, as kernel/syscalls/
// time.ts does, because glibc's wrapper does not offer a thread id target.
import { libc, Scratch } from "./libc.ts";
import { installKick, KICK } from "./signal_router.ts";

const NR: Record<string, { create: number; settime: number }> = {
  x86_64: { create: 222, settime: 223 },
  aarch64: { create: 107, settime: 110 },
};
const CLOCK_MONOTONIC = 1, SIGEV_THREAD_ID = 4;

export class KickTimer {
  readonly #s = new Scratch(4096);
  #id = -1;

  /** True when this host can kick on a timer (Linux). */
  static available(): boolean {
    return Deno.build.os === "linux" && NR[Deno.build.arch] !== undefined;
  }

  /** Kicks this thread every `periodMs` until stop(). */
  start(periodMs: number): boolean {
    const nr = NR[Deno.build.arch];
    if (this.#id < 0) {
      installKick();
      const v = this.#s.view;
      // struct sigevent: sigev_value 0, sigev_signo 8, sigev_notify 12, sigev_notify_thread_id 16
      this.#s.u8.fill(0, 0, 64);
      v.setInt32(8, KICK, true);
      v.setInt32(12, SIGEV_THREAD_ID, true);
      v.setInt32(16, libc.gettid(), true);
      const r = Number(
        libc.syscall6(
          BigInt(nr.create),
          BigInt(CLOCK_MONOTONIC),
          BigInt(this.#s.address),
          BigInt(this.#s.address + 64),
          0n,
          0n,
          0n,
        ),
      );
      if (r < 0) return false;
      this.#id = v.getInt32(64, true);
    }
    return this.#set(periodMs * 1e6);
  }

  /** Disarms the timer; a kick already sent has been handled when this returns. */
  stop(): void {
    if (this.#id >= 0) this.#set(0);
  }

  #set(ns: number): boolean {
    const v = this.#s.view;
    // struct itimerspec: it_interval then it_value, each { tv_sec, tv_nsec }.
    const sec = BigInt(Math.floor(ns / 1e9)), nsec = BigInt(ns % 1e9);
    v.setBigInt64(128, sec, true);
    v.setBigInt64(136, nsec, true);
    v.setBigInt64(144, sec, true);
    v.setBigInt64(152, nsec, true);
    const nr = NR[Deno.build.arch];
    return Number(
      libc.syscall6(
        BigInt(nr.settime),
        BigInt(this.#id),
        0n,
        BigInt(this.#s.address + 128),
        0n,
        0n,
        0n,
      ),
    ) === 0;
  }
}
