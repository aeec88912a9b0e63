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

export interface PosixTimer {
  readonly id: number;
  readonly clock: number;
  readonly notify: number;
  readonly signo: number;
  /** sigev_value, sent as si_value. */
  readonly value: bigint;
  /** The thread SIGEV_THREAD_ID names; 0 for the process. */
  readonly tid: number;
  /** Next expiry in the clock's time (ms); Infinity while disarmed. */
  due: number;
  /** Period (ms); 0 for a one-shot timer. */
  interval: number;
  /** Expirations merged into the signal last queued. */
  overrun: number;
  /** The overrun of the signal delivered last (timer_getoverrun while another is queued). */
  overrunDelivered: number;
  /** The siginfo last queued: while it is still pending, expirations count as overruns. */
  info: SigInfo | undefined;
}

/** Reads a clock (ms in that clock's time). */
export type ClockReader = (clock: number) => number;

export class PosixTimers {
  readonly #timers = new Map<number, PosixTimer>();
  /** Reads a timer's clock. */
  readonly now: ClockReader;

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
      overrunDelivered: 0,
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

  /**
   * Brings a timer whose expiries send nothing (SIGEV_NONE) up to date, for timer_gettime: a
   * periodic one moves on by whole periods, a one-shot one disarms.
   */
  catchUp(t: PosixTimer): void {
    const now = this.now(t.clock);
    if (t.due > now) return;
    t.due = t.interval > 0
      ? t.due + (Math.floor((now - t.due) / t.interval) + 1) * t.interval
      : Infinity;
  }

  /**
   * The timers due now whose signal must be queued. Each expiry re-arms a periodic timer one
   * period on (periods missed meanwhile count as overruns, as Linux's do); an expiry whose earlier
   * signal is still queued (`queued`) only adds to that signal's overrun.
   */
  expire(queued: (t: PosixTimer) => boolean): PosixTimer[] {
    const out: PosixTimer[] = [];
    for (const t of this.#timers.values()) {
      if (t.due === Infinity || t.notify === SIGEV_NONE) continue;
      const at = this.now(t.clock);
      if (t.due > at) continue;
      const missed = t.interval > 0 ? Math.floor((at - t.due) / t.interval) : 0;
      t.due = t.interval > 0 ? t.due + (missed + 1) * t.interval : Infinity;
      if (t.info !== undefined && queued(t)) {
        t.overrun = Math.min(DELAYTIMER_MAX, t.overrun + missed + 1);
        t.info.uid = t.overrun; // si_overrun shares si_uid's place
        continue;
      }
      if (t.info !== undefined) t.overrunDelivered = t.overrun;
      t.overrun = Math.min(DELAYTIMER_MAX, missed);
      // struct siginfo's _timer: si_tid, si_overrun, si_value where _rt has pid, uid, value.
      t.info = { code: SI_TIMER, pid: t.id, uid: t.overrun, value: t.value };
      out.push(t);
    }
    return out;
  }

  /** Milliseconds until the nearest expiry that sends a signal (Infinity: none armed). */
  nextAlarm(): number {
    let ms = Infinity;
    for (const t of this.#timers.values()) {
      if (t.due === Infinity || t.notify === SIGEV_NONE) continue;
      ms = Math.min(ms, t.due - this.now(t.clock));
    }
    return Math.max(0, ms);
  }
}
