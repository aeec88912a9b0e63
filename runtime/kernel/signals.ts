// Signal state, split as Linux splits it: dispositions and process-directed pending signals are
// shared by a process's threads (Process.actions, Process.pending); the mask, the alternate stack
// and signals sent to one thread are per thread (TaskSignals). Delivery is signals/delivery.ts.

export const SIGNAL_COUNT = 64;
export const SIGKILL = 9;
export const SIGSTOP = 19;

export const signalNames: readonly string[] = [
  "",
  "SIGHUP",
  "SIGINT",
  "SIGQUIT",
  "SIGILL",
  "SIGTRAP",
  "SIGABRT",
  "SIGBUS",
  "SIGFPE",
  "SIGKILL",
  "SIGUSR1",
  "SIGSEGV",
  "SIGUSR2",
  "SIGPIPE",
  "SIGALRM",
  "SIGTERM",
  "SIGSTKFLT",
  "SIGCHLD",
  "SIGCONT",
  "SIGSTOP",
  "SIGTSTP",
  "SIGTTIN",
  "SIGTTOU",
  "SIGURG",
  "SIGXCPU",
  "SIGXFSZ",
  "SIGVTALRM",
  "SIGPROF",
  "SIGWINCH",
  "SIGIO",
  "SIGPWR",
  "SIGSYS",
];

export function signalName(sig: number): string {
  return signalNames[sig] ?? (sig >= 32 && sig <= 64 ? `SIGRT${sig - 32}` : `signal ${sig}`);
}

/** Signals whose default action is to ignore them (SIGCHLD, SIGCONT, SIGURG, SIGWINCH). */
export const ignoredByDefault = new Set([17, 18, 23, 28]);
/** Signals whose default action stops the process. */
export const stopSignals = new Set([19, 20, 21, 22]);

/** Signals whose default action dumps core (signal(7)). */
export const coreSignals = new Set([3, 4, 5, 6, 7, 8, 11, 24, 25, 31]);

/** SIGCHLD's si_code values (CLD_TRAPPED, 4, is ptrace's). */
export const CLD_EXITED = 1, CLD_KILLED = 2, CLD_DUMPED = 3, CLD_STOPPED = 5, CLD_CONTINUED = 6;

/**
 * The SIGCHLD siginfo for a wait status (`pid`'s, as wait4 reports it): what changed, and the
 * exit code or signal in si_status (which sits where si_value does).
 */
export function childStatusInfo(pid: number, status: number, uid: number): SigInfo {
  const low = status & 0x7f;
  let code: number, value: number;
  if (status === 0xffff) [code, value] = [CLD_CONTINUED, 18];
  else if ((status & 0xff) === 0x7f) [code, value] = [CLD_STOPPED, (status >> 8) & 0xff];
  else if (low === 0) [code, value] = [CLD_EXITED, (status >> 8) & 0xff];
  else [code, value] = [status & 0x80 ? CLD_DUMPED : CLD_KILLED, low];
  return { code, pid, uid, value: BigInt(value) };
}

/** The siginfo fields a queued signal carries (si_code, si_pid, si_uid, si_value). */
export interface SigInfo {
  code: number;
  pid: number;
  uid: number;
  value: bigint;
  /**
   * A POSIX timer's signal: called as it leaves the queue, delivered (true: it may still set
   * si_overrun, in `uid`) or discarded (false), so that the timer re-arms (posix_timers.ts).
   */
  settled?: (delivered: boolean) => void;
}

/** One `struct sigaction` as the aarch64 kernel stores it (handler, flags, restorer, mask). */
export interface SigAction {
  handler: number;
  flags: number;
  restorer: number;
  maskLo: number;
  maskHi: number;
}

/** Signals pending on a thread or on a whole process, with the siginfo each was sent with. */
export class PendingSignals {
  /** Bit (n-1) for signal n, split in two 32-bit halves. */
  lo = 0;
  hi = 0;
  /**
   * What each pending signal was sent with. Standard signals are pending at most once; real-time
   * signals (32 and up) queue every instance, in order, as Linux queues them.
   */
  readonly queue: SigInfo[][] = Array.from({ length: SIGNAL_COUNT + 1 }, () => []);

  /** Marks `sig` pending with `info`; a standard signal already pending is not queued again. */
  enqueue(sig: number, info: SigInfo): void {
    if (sig < 32 && this.has(sig)) return;
    this.queue[sig].push(info);
    this.set(sig, true);
  }

  /** Takes the oldest instance of a pending signal. */
  dequeue(sig: number): SigInfo | undefined {
    const info = this.queue[sig].shift();
    if (this.queue[sig].length === 0) this.set(sig, false);
    info?.settled?.(true);
    return info;
  }

  /** Drops one queued instance (a POSIX timer's, when the timer changes); false if not queued. */
  remove(sig: number, info: SigInfo): boolean {
    const q = this.queue[sig], i = q.indexOf(info);
    if (i < 0) return false;
    q.splice(i, 1);
    if (q.length === 0) this.set(sig, false);
    return true;
  }

  /** Drops every instance of `sig`. */
  discard(sig: number): void {
    const q = this.queue[sig];
    this.set(sig, false);
    for (const info of q.splice(0)) info.settled?.(false);
  }

  has(sig: number): boolean {
    return sig <= 32 ? (this.lo & (1 << (sig - 1))) !== 0 : (this.hi & (1 << (sig - 33))) !== 0;
  }

  /** The lowest pending signal outside the mask, or 0. */
  firstUnblocked(maskLo: number, maskHi: number): number {
    const lo = (this.lo & ~maskLo) >>> 0, hi = (this.hi & ~maskHi) >>> 0;
    if (lo !== 0) return 32 - Math.clz32(lo & -lo);
    if (hi !== 0) return 64 - Math.clz32(hi & -hi);
    return 0;
  }

  set(sig: number, on: boolean): void {
    if (sig <= 32) {
      const b = 1 << (sig - 1);
      this.lo = (on ? this.lo | b : this.lo & ~b) >>> 0;
    } else {
      const b = 1 << (sig - 33);
      this.hi = (on ? this.hi | b : this.hi & ~b) >>> 0;
    }
  }
}

/** A fresh table of dispositions, every signal at SIG_DFL. */
export function defaultActions(): SigAction[] {
  return Array.from(
    { length: SIGNAL_COUNT + 1 },
    () => ({ handler: 0, flags: 0, restorer: 0, maskLo: 0, maskHi: 0 }),
  );
}

/** SS_DISABLE: no alternate signal stack. */
export const SS_DISABLE = 2;

/** The signal state of one thread: its mask, its own pending signals and its alternate stack. */
export class TaskSignals {
  /** Blocked signals: bit (n-1) for signal n, split in two 32-bit halves. */
  maskLo = 0;
  maskHi = 0;
  altStack = { sp: 0, flags: SS_DISABLE, size: 0 };
  /** Set when a pending signal may have become deliverable: checked after every syscall. */
  wake = false;
  /** The mask a signal frame must restore instead of the current one (rt_sigsuspend, ppoll). */
  savedMask: [number, number] | undefined;
  /** Signals sent to this thread (tkill, tgkill, faults). */
  readonly pending = new PendingSignals();

  isBlocked(sig: number): boolean {
    return sig <= 32
      ? (this.maskLo & (1 << (sig - 1))) !== 0
      : (this.maskHi & (1 << (sig - 33))) !== 0;
  }
}
