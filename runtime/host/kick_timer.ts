// A periodic kick (signal_router.ts's KICK) to this thread: while an in-process fork child runs
// (kernel/inline_fork.ts), a host call of the child that blocks fails with EINTR within one
// period, so the child can move to its own process instead of stalling its waiting parent.
// Linux POSIX timer with SIGEV_THREAD_ID (timer_create(2), host/timers.ts).
import { libc, Scratch } from "./libc.ts";
import { installKick, KICK } from "./signal_router.ts";
import { hostTimer, hostTimersAvailable } from "./timers.ts";

const CLOCK_MONOTONIC = 1, SIGEV_THREAD_ID = 4;

export class KickTimer {
  readonly #s = new Scratch(4096);
  #id = -1;

  /** True when this host can kick on a timer (Linux). */
  static available(): boolean {
    return hostTimersAvailable();
  }

  /** Kicks this thread every `periodMs` until stop(). */
  start(periodMs: number): boolean {
    if (this.#id < 0) {
      installKick();
      const v = this.#s.view;
      // struct sigevent: sigev_value 0, sigev_signo 8, sigev_notify 12, sigev_notify_thread_id 16
      this.#s.u8.fill(0, 0, 64);
      v.setInt32(8, KICK, true);
      v.setInt32(12, SIGEV_THREAD_ID, true);
      v.setInt32(16, libc.gettid(), true);
      const r = hostTimer("create", CLOCK_MONOTONIC, this.#s.address, this.#s.address + 64);
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
    return hostTimer("settime", this.#id, 0, this.#s.address + 128, 0) === 0;
  }
}
