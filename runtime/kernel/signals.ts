// Signal state of one guest process: dispositions and the blocked mask. Delivery (frames,
// sigreturn) arrives with processes; until then the state is recorded faithfully so that
// rt_sigaction/rt_sigprocmask round-trip as on Linux.

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

/** The siginfo fields a queued signal carries (si_code, si_pid, si_uid, si_value). */
export interface SigInfo {
  code: number;
  pid: number;
  uid: number;
  value: bigint;
}

/** One `struct sigaction` as the aarch64 kernel stores it (handler, flags, restorer, mask). */
export interface SigAction {
  handler: number;
  flags: number;
  restorer: number;
  maskLo: number;
  maskHi: number;
}

export class SignalState {
  readonly actions: SigAction[] = Array.from(
    { length: SIGNAL_COUNT + 1 },
    () => ({ handler: 0, flags: 0, restorer: 0, maskLo: 0, maskHi: 0 }),
  );
  /** Blocked signals: bit (n-1) for signal n, split in two 32-bit halves. */
  maskLo = 0;
  maskHi = 0;
  altStack = { sp: 0, flags: 2, /* SS_DISABLE */ size: 0 };
  /** Set when a pending signal may have become deliverable: checked after every syscall. */
  wake = false;
  /** The mask a signal frame must restore instead of the current one (rt_sigsuspend). */
  savedMask: [number, number] | undefined;
  /** Pending signals (blocked when sent), with the siginfo each was sent with. */
  pendingLo = 0;
  pendingHi = 0;
  /**
   * What each pending signal was sent with. Standard signals are pending at most once; real-time
   * signals (32 and up) queue every instance, in order, as Linux queues them.
   */
  readonly queue: SigInfo[][] = Array.from({ length: SIGNAL_COUNT + 1 }, () => []);

  /** Marks `sig` pending with `info`; a standard signal already pending is not queued again. */
  enqueue(sig: number, info: SigInfo): void {
    if (sig < 32 && this.isPending(sig)) return;
    this.queue[sig].push(info);
    this.setPending(sig, true);
    this.wake = true;
  }

  /** Takes the oldest instance of a pending signal. */
  dequeue(sig: number): SigInfo | undefined {
    const info = this.queue[sig].shift();
    if (this.queue[sig].length === 0) this.setPending(sig, false);
    return info;
  }

  isBlocked(sig: number): boolean {
    return sig <= 32
      ? (this.maskLo & (1 << (sig - 1))) !== 0
      : (this.maskHi & (1 << (sig - 33))) !== 0;
  }

  isPending(sig: number): boolean {
    return sig <= 32
      ? (this.pendingLo & (1 << (sig - 1))) !== 0
      : (this.pendingHi & (1 << (sig - 33))) !== 0;
  }

  setPending(sig: number, on: boolean): void {
    if (sig <= 32) {
      const b = 1 << (sig - 1);
      this.pendingLo = (on ? this.pendingLo | b : this.pendingLo & ~b) >>> 0;
    } else {
      const b = 1 << (sig - 33);
      this.pendingHi = (on ? this.pendingHi | b : this.pendingHi & ~b) >>> 0;
    }
  }
}
