// A process's POSIX timers (timer_create(2)), kept here rather than as the host kernel's: a host
// timer signals the elfuse process, and most signals a guest asks for (SIGRTMIN+n above all)
// cannot be routed to it (Deno listens only for named signals; a real-time one would end elfuse),
// SIGEV_THREAD_ID names a guest thread the host does not know, and macOS has no POSIX timers.
// Each timer keeps its expiry in its own clock's time; the signal listener's alarm
// (host/signal_router.ts) wakes the process at the nearest one, and expire() (called where host
// signals are taken) turns what is due into signals.
import type { SigInfo } from "./signals.ts";

/** struct sigevent's sigev_notify values (include/uapi/asm-generic/siginfo.h). */
export const SIGEV_SIGNAL = 0, SIGEV_NONE = 1, SIGEV_THREAD = 2, SIGEV_THREAD_ID = 4;
/** si_code of a timer's signal. */
const SI_TIMER = -2;
/** Linux's cap on a reported overrun count (DELAYTIMER_MAX, INT_MAX). */
const DELAYTIMER_MAX = 0x7fffffff;
/** Timers one process may hold (Linux's limit is RLIMIT_SIGPENDING's; this keeps memory bounded). */
export const MAX_TIMERS = 32768;

/**
 * A periodic timer whose signal was discarded (ignored, or a standard signal already pending) waits
 * at least this long before it expires again: nothing sees those expiries, and a tiny interval
 * must not keep the process busy ringing alarms.
 */
const UNSEEN_REARM_MS = 1;

export interface PosixTimer {
  readonly id: number;
  readonly clock: number;
  readonly notify: number;
  readonly signo: number;
  /** sigev_value, sent as si_value. */
  readonly value: bigint;
  /** The thread SIGEV_THREAD_ID names; 0 for the process. */
  readonly tid: number;
  /**
   * Next expiry in the clock's time (ms); Infinity while disarmed. While the signal is queued it
   * stays at the expiry that queued it.
   */
  due: number;
  /** Period (ms); 0 for a one-shot timer. */
  interval: number;
  /** si_overrun of the signal delivered last (timer_getoverrun, Linux's it_overrun_last). */
  overrun: number;
  /** The siginfo queued and not yet delivered, if any. */
  info: SigInfo | undefined;
}

/** Reads a clock (ms in that clock's time). */
export type ClockReader = (clock: number) => number;

/**
 * A process's timers. As on Linux (kernel/time/posix-timers.c), a periodic timer whose signal is
 * queued does not expire again until the signal is delivered: delivery moves it on by whole
 * periods past now and reports the periods skipped as si_overrun. So a blocked signal costs
 * nothing however small the period.
 */
export class PosixTimers {
  readonly #timers = new Map<number, PosixTimer>();
  /** Reads a timer's clock. */
  readonly now: ClockReader;
  /** Called when a delivery re-armed a timer: the alarm must be set again. */
  onRearm: () => void = () => {};

  constructor(now: ClockReader) {
    this.now = now;
  }

  get size(): number {
    return this.#timers.size;
  }

  /** A new disarmed timer with the lowest free id (Linux hands out small ids from 0). */
  create(clock: number, notify: number, signo: number, value: bigint | undefined, tid: number) {
    let id = 0;
    while (this.#timers.has(id)) id++;
    // A NULL sigevent is SIGEV_SIGNAL with SIGALRM and the timer's id as the value.
    const t: PosixTimer = {
      id,
      clock,
      notify,
      signo,
      value: value ?? BigInt(id),
      tid,
      due: Infinity,
      interval: 0,
      overrun: 0,
      info: undefined,
    };
    this.#timers.set(id, t);
    return t;
  }

  get(id: number): PosixTimer | undefined {
    return this.#timers.get(id);
  }

  delete(id: number): boolean {
    return this.#timers.delete(id);
  }

  /** execve deletes every timer (timer_create(2)). */
  clear(): void {
    this.#timers.clear();
  }

  /** The time left until the next expiry as timer_gettime reports it (0: disarmed). */
  left(t: PosixTimer): number {
    if (t.due === Infinity) return 0;
    const now = this.now(t.clock);
    if (t.due > now) return t.due - now;
    if (t.interval > 0 && (t.info !== undefined || t.notify === SIGEV_NONE)) {
      return t.interval - ((now - t.due) % t.interval); // the period that runs now
    }
    if (t.notify === SIGEV_NONE) {
      t.due = Infinity; // a one-shot SIGEV_NONE timer that expired is disarmed
      return 0;
    }
    return 1e-6; // expired, its signal not yet queued: still armed (Linux reports 1 ns)
  }

  /**
   * The timers due now: each gets a fresh siginfo to queue (si_code SI_TIMER, si_timerid,
   * si_overrun, si_value; _timer has them where _rt has pid, uid, value), and a one-shot timer
   * disarms.
   */
  expire(): PosixTimer[] {
    const out: PosixTimer[] = [];
    for (const t of this.#timers.values()) {
      if (t.due === Infinity || t.notify === SIGEV_NONE || t.info !== undefined) continue;
      if (t.due > this.now(t.clock)) continue;
      const info: SigInfo = { code: SI_TIMER, pid: t.id, uid: 0, value: t.value };
      info.settled = (delivered) => this.#settled(t, info, delivered);
      t.info = info;
      if (t.interval === 0) t.due = Infinity;
      out.push(t);
    }
    return out;
  }

  /** A timer's signal left the queue (or never entered it: `delivered` false). */
  #settled(t: PosixTimer, info: SigInfo, delivered: boolean): void {
    if (t.info !== info) return; // re-armed or deleted meanwhile
    t.info = undefined;
    let overrun = 0;
    if (t.interval > 0 && t.due !== Infinity) {
      const now = this.now(t.clock);
      overrun = now >= t.due ? Math.floor((now - t.due) / t.interval) : 0;
      t.due += (overrun + 1) * t.interval;
      if (!delivered) t.due = Math.max(t.due, now + UNSEEN_REARM_MS);
    }
    if (delivered) info.uid = t.overrun = Math.min(DELAYTIMER_MAX, overrun);
    this.onRearm();
  }

  /** Milliseconds until the nearest expiry that sends a signal (Infinity: none armed). */
  nextAlarm(): number {
    let ms = Infinity;
    for (const t of this.#timers.values()) {
      if (t.due === Infinity || t.notify === SIGEV_NONE || t.info !== undefined) continue;
      ms = Math.min(ms, t.due - this.now(t.clock));
    }
    return Math.max(0, ms);
  }
}
