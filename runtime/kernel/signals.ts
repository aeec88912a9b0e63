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

/** Signals whose default action dumps core (signal(7)). */
export const coreSignals = new Set([3, 4, 5, 6, 7, 8, 11, 24, 25, 31]);

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
}
