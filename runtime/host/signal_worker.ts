// The host-signal listener thread (see signal_router.ts). Deno delivers signals to listeners on an
// event loop, and the main thread's loop is blocked in guest code, so this Worker's loop listens:
// it records the signal in shared memory, kicks the main thread out of any blocking host call,
// writes the scheduler's wake pipe, and interrupts the vCPU if the guest is computing. It also
// keeps time slices: while the main thread asks for them it interrupts the vCPU periodically.
/// <reference lib="deno.worker" />
import type { NativeCall } from "../backends/backend.ts";

interface Setup {
  shared: SharedArrayBuffer;
  pid: number;
  mainTid: number;
  kick: number;
  /** Write end of the scheduler's wake pipe (non-blocking). */
  wake: number;
}
type Message =
  | { setup: Setup }
  | { listen: string }
  | { interrupt: NativeCall | null }
  | { slice: number }
  | { alarm: number };

let flags: Int32Array;
let setup: Setup;
const symbols = {
  syscall: { parameters: ["i64", "i64", "i64", "i64"], result: "i64" },
  write: { parameters: ["i32", "buffer", "usize"], result: "isize" },
  signal: { parameters: ["i32", "usize"], result: "usize" },
  kill: { parameters: ["i32", "i32"], result: "i32" },
  setrlimit: { parameters: ["i32", "buffer"], result: "i32" },
  sigaction: { parameters: ["i32", "buffer", "buffer"], result: "i32" },
} as const;
let libc: Deno.DynamicLibrary<typeof symbols>;
// Indexes into the shared words, as in signal_router.ts.
const ANY = 0,
  PENDING = 1,
  LISTENING = 3,
  KILL = 5,
  STOP = 7,
  CHILD_COUNT = 9,
  KICKS = 10,
  ALARM = 11;
const SYS_tgkill = Deno.build.arch === "x86_64" ? 234n : 131n;
const SYS_gettid = Deno.build.arch === "x86_64" ? 186n : 178n;
const listening = new Set<string>();
/** Interrupts the vCPU (Vcpu.interruptCall), when the backend offers a safe way. */
let interrupt: (() => void) | undefined;
let sliceTimer: number | undefined;
let alarmTimer: number | undefined;
/** Kicks again while what arrived is not taken (announce). */
let rekick: number | undefined;
const REKICK_MS = 10;
/** setTimeout's longest delay; a longer alarm rings early and the timers set it again. */
const LONGEST_DELAY = 0x7fffffff;
const ONE = new Uint8Array([1]);

/**
 * Stops the process by stop signal `n` (its parent sees WSTOPSIG n): sent to this thread with the
 * default action for the moment, so that it is taken before the syscall returns (as
 * signal_router.ts stopThisProcess). macOS has no tgkill: there it is SIGSTOP.
 */
function stop(n: number): void {
  if (Deno.build.os !== "linux") {
    libc.symbols.kill(setup.pid, 19);
    return;
  }
  const act = new Uint8Array(512), old = act.subarray(256);
  if (libc.symbols.sigaction(n, act, old) !== 0) return;
  const tid = libc.symbols.syscall(SYS_gettid, 0n, 0n, 0n);
  libc.symbols.syscall(SYS_tgkill, BigInt(setup.pid), tid, BigInt(n));
  libc.symbols.sigaction(n, old, null);
}

/** Tells the main thread: the scheduler's wait wakes, and a computing guest is interrupted. */
function alert(): void {
  libc.symbols.write(setup.wake, ONE, 1n);
  interrupt?.();
}

/** Tells the main thread something arrived: any blocking host call it is in fails with EINTR. */
function announce(): void {
  Atomics.store(flags, ANY, 1);
  Atomics.notify(flags, ANY);
  kick();
  // A kick that lands after the main thread last looked at ANY but before it enters a blocking
  // host call interrupts nothing, and the call would wait for ever (a pipe read whose writer waits
  // for this very signal): kick again until the main thread has taken what arrived.
  rekick ??= setInterval(() => {
    if (Atomics.load(flags, ANY) === 0) {
      clearInterval(rekick);
      rekick = undefined;
      return;
    }
    kick();
  }, REKICK_MS);
}

/** One kick, counted (signal_router.ts staleKick: a kick whose news was taken reruns the call). */
function kick(): void {
  Atomics.add(flags, KICKS, 1);
  libc.symbols.syscall(SYS_tgkill, BigInt(setup.pid), BigInt(setup.mainTid), BigInt(setup.kick));
  alert();
}

function useInterrupt(call: NativeCall | null): void {
  if (call === null) {
    interrupt = undefined;
    return;
  }
  const lib = Deno.dlopen(call.library, {
    [call.symbol]: { parameters: call.parameters, result: "i32" },
  } as Record<string, Deno.ForeignFunction>);
  const fn = lib.symbols[call.symbol] as (...args: (number | bigint)[]) => number;
  const args = call.args.map((a, i) => (call.parameters[i] === "usize" ? BigInt(a) : Number(a)));
  interrupt = () => void fn(...args);
}

self.onmessage = (e: MessageEvent<Message>) => {
  const m = e.data;
  if ("setup" in m) {
    setup = m.setup;
    flags = new Int32Array(setup.shared);
    libc = Deno.dlopen(Deno.build.os === "darwin" ? "libSystem.B.dylib" : "libc.so.6", symbols);
    return;
  }
  if ("interrupt" in m) {
    useInterrupt(m.interrupt);
    return;
  }
  if ("slice" in m) {
    if (sliceTimer !== undefined) clearInterval(sliceTimer);
    sliceTimer = m.slice > 0 ? setInterval(() => interrupt?.(), m.slice) : undefined;
    return;
  }
  if ("alarm" in m) {
    if (alarmTimer !== undefined) clearTimeout(alarmTimer);
    alarmTimer = setTimeout(() => {
      alarmTimer = undefined;
      Atomics.store(flags, ALARM, 1);
      announce();
    }, Math.min(m.alarm, LONGEST_DELAY));
    return;
  }
  const name = m.listen as Deno.Signal;
  if (listening.has(name)) return;
  listening.add(name);
  Deno.addSignalListener(name, () => {
    const n = signalNumbers[name];
    const w = n <= 32 ? 0 : 1, bit = 1 << ((n - 1) % 32);
    if (Atomics.load(flags, KILL + w) & bit) {
      // The guest takes the default action: end the process with this signal, no core file.
      libc.symbols.setrlimit(4, new Uint8Array(16));
      libc.symbols.signal(n, 0n);
      libc.symbols.kill(setup.pid, n);
      return;
    }
    if (Atomics.load(flags, STOP + w) & bit) {
      stop(n); // a job-control stop, as the default action is
      return;
    }
    Atomics.or(flags, PENDING + w, bit);
    Atomics.store(flags, ANY, 1); // before the count: whoever sees the count sees the signal
    if (n === 17) {
      Atomics.add(flags, CHILD_COUNT, 1);
      Atomics.notify(flags, CHILD_COUNT);
    }
    announce();
  });
  const n = signalNumbers[name];
  Atomics.or(flags, LISTENING + (n <= 32 ? 0 : 1), 1 << ((n - 1) % 32));
  Atomics.notify(flags, LISTENING + (n <= 32 ? 0 : 1));
};

const signalNumbers: Record<string, number> = {
  SIGHUP: 1,
  SIGINT: 2,
  SIGQUIT: 3,
  SIGUSR1: 10,
  SIGUSR2: 12,
  SIGALRM: 14,
  SIGTERM: 15,
  SIGCHLD: 17,
  SIGCONT: 18,
  SIGTSTP: 20,
  SIGTTIN: 21,
  SIGTTOU: 22,
  SIGURG: 23,
  SIGXCPU: 24,
  SIGXFSZ: 25,
  SIGVTALRM: 26,
  SIGPROF: 27,
  SIGWINCH: 28,
  SIGIO: 29,
  SIGPWR: 30,
};
