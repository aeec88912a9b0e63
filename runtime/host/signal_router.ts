// Host signals to the guest. A signal the guest catches must reach its handler even while the main
// thread runs guest code or sits in a blocking host call, and Deno only hands signals to listeners
// on an event loop. So a Worker listens (signal_worker.ts), and for each signal it sets a bit in
// shared memory, sends the main thread a "kick" signal whose handler does nothing and does not
// restart system calls (so a blocking host read, wait4 or nanosleep returns EINTR), writes a wake
// pipe the scheduler's idle wait polls, and interrupts the vCPU when the backend says how
// (Vcpu.interruptCall): a guest that is computing takes the signal at once. Signals the guest
// leaves at their default or ignores are left to the host (a default SIGINT ends elfuse with
// SIGINT, exactly as it should end the guest).
import { hostSyscallNumber } from "./syscall_numbers.ts";
import { workerUrl } from "./worker_url.ts";
import { libc, Scratch } from "./libc.ts";
import type { NativeCall } from "../backends/backend.ts";

/** Host signals that can be routed (Deno refuses listeners for SIGKILL, SIGSTOP, SIGSEGV...). */
const routable: Record<number, Deno.Signal> = {
  1: "SIGHUP",
  2: "SIGINT",
  3: "SIGQUIT",
  10: "SIGUSR1",
  12: "SIGUSR2",
  14: "SIGALRM",
  15: "SIGTERM",
  17: "SIGCHLD",
  18: "SIGCONT",
  20: "SIGTSTP",
  21: "SIGTTIN",
  22: "SIGTTOU",
  23: "SIGURG",
  24: "SIGXCPU",
  25: "SIGXFSZ",
  26: "SIGVTALRM",
  27: "SIGPROF",
  28: "SIGWINCH",
  29: "SIGIO",
  30: "SIGPWR",
};
/** The kick: a real-time signal the guest never sees (glibc and Deno leave SIGRTMAX-1 alone). */
export const KICK = 63;
let kickInstalled = false;

/**
 * Installs the kick's handler (once): any native function that returns harmlessly will do
 * (getppid), and no SA_RESTART, so an interrupted host call fails with EINTR. struct sigaction
 * (x86_64 and aarch64 glibc): handler at 0, mask at 8 (128 bytes), flags at 136.
 */
export function installKick(): void {
  if (kickInstalled) return;
  kickInstalled = true;
  const s = new Scratch(4096);
  const getppid = Deno.dlopen("libc.so.6", { getppid: { type: "pointer" } }).symbols.getppid;
  s.view.setBigUint64(0, Deno.UnsafePointer.value(getppid), true);
  s.view.setInt32(136, 0, true);
  libc.sigaction(KICK, s.address, 0);
}
const SIG_DFL = 0, SIG_IGN = 1;

/**
 * Stops this host process as the default action of stop signal `sig` does, so that its parent
 * sees it stopped by `sig` (WSTOPSIG), and returns once it is continued. The signal goes to the
 * calling thread with the host's default action for the moment: a signal a thread sends itself
 * is taken before its syscall returns, so no routed handler can see it first. macOS has no
 * tgkill: there it is SIGSTOP.
 */
export function stopThisProcess(sig: number): void {
  if (Deno.build.os !== "linux") {
    libc.kill(libc.getpid(), 19);
    return;
  }
  const tgkill = hostSyscallNumber("tgkill") ?? 131n;
  const send = () =>
    libc.syscall6(tgkill, BigInt(libc.getpid()), BigInt(libc.gettid()), BigInt(sig), 0n, 0n, 0n);
  if (sig === 19) { // SIGSTOP has no other action
    send();
    return;
  }
  const s = new Scratch(4096);
  const old = s.address + 256;
  if (libc.sigaction(sig, s.address, old) !== 0) return; // s: SIG_DFL, no flags, empty mask
  send();
  libc.sigaction(sig, old, 0);
}

/** Indexes into the shared words (bit (n-1)%32 of a pair: [lo for 1-32, hi for 33-64]). */
export const ANY = 0,
  PENDING = 1,
  LISTENING = 3,
  KILL = 5,
  STOP = 7,
  CHILD_COUNT = 9,
  KICKS = 10,
  ALARM = 11;
/** Default actions the listener carries out itself (signal(7)). */
const TERMINATE = new Set([1, 2, 3, 10, 12, 14, 15, 24, 25, 26, 27, 29, 30]);
const STOPS = new Set([20, 21, 22]);

/** The guest's view of one signal that the router needs: its handler and whether it is blocked. */
export interface GuestSignals {
  actions: { handler: number }[];
  isBlocked(sig: number): boolean;
}

export class SignalRouter {
  /**
   * Shared with the listener: [0] any pending; [1,2] pending; [3,4] listening (acknowledged);
   * [5,6] signals the listener itself ends the process with (default action, not blocked);
   * [7,8] signals it stops the process for (default stop action, not blocked); [9] how many
   * SIGCHLDs the listener has seen; [10] how many kicks it has sent; [11] the alarm rang.
   */
  readonly flags = new Int32Array(new SharedArrayBuffer(48));
  #kicksSeen = 0;
  #worker: Worker | undefined;
  #wakeWrite = -1;
  readonly #listening = new Set<number>();
  /** Read end of the listener's wake pipe (-1 until it starts): the scheduler's idle wait polls it. */
  wakeFd = -1;
  #interrupt: NativeCall | undefined;
  #slice = 0;
  /** When the listener's alarm rings (performance.now() time); Infinity when it is not set. */
  #alarmAt = Infinity;

  #start(): Worker {
    if (this.#worker) return this.#worker;
    installKick();
    // O_CLOEXEC | O_NONBLOCK: host-only, never inherited, never blocks the listener or the drain.
    const s = new Scratch(4096);
    const flags = Deno.build.os === "darwin" ? 0 : 0o2000000 | 0o4000;
    if (libc.pipe2(s.address, flags) !== 0) throw new Error("signal listener: pipe2 failed");
    this.wakeFd = s.view.getInt32(0, true);
    const wake = s.view.getInt32(4, true);
    this.#wakeWrite = wake;
    const w = new Worker(
      workerUrl("signal_worker", new URL("./signal_worker.ts", import.meta.url)),
      { type: "module" },
    );
    w.postMessage({
      setup: {
        shared: this.flags.buffer as SharedArrayBuffer,
        pid: libc.getpid(),
        mainTid: libc.gettid(),
        kick: KICK,
        wake,
      },
    });
    if (this.#interrupt !== undefined) w.postMessage({ interrupt: this.#interrupt });
    this.#worker = w;
    return w;
  }

  /**
   * Ends the listener once the guest is gone: a live Worker (and its signal listeners) keeps
   * Deno's event loop, so a process that ran a guest in itself and returned would never exit.
   */
  close(): void {
    this.#worker?.terminate();
    this.#worker = undefined;
    for (const fd of [this.wakeFd, this.#wakeWrite]) if (fd >= 0) libc.close(fd);
    this.wakeFd = this.#wakeWrite = -1;
  }

  /**
   * How the listener interrupts the vCPU (Vcpu.interruptCall): for a signal the guest must see
   * while it computes, and for time slices.
   */
  useInterrupt(call: NativeCall | undefined): void {
    this.#interrupt = call;
    this.#worker?.postMessage({ interrupt: call ?? null });
  }

  /** Interrupts the vCPU every `ms` (0: stop), so that threads take turns (scheduler.ts). */
  slice(ms: number): void {
    if (ms === this.#slice || (ms > 0 && this.#interrupt === undefined)) return;
    this.#slice = ms;
    this.#start().postMessage({ slice: ms });
  }

  /**
   * Makes the listener ring in `ms` as a signal would (kick, wake pipe, vCPU interrupt) with the
   * ALARM word set: POSIX timers are due (kernel/posix_timers.ts). An alarm already set to ring
   * sooner stays (the timers re-arm when it rings), so re-arming a timer costs no message.
   */
  alarm(ms: number): void {
    const at = performance.now() + ms;
    if (ms === Infinity || at >= this.#alarmAt) return;
    this.#alarmAt = at;
    this.#start().postMessage({ alarm: ms });
  }

  /** True (once) when the alarm rang since the last call. */
  rang(): boolean {
    if (Atomics.exchange(this.flags, ALARM, 0) === 0) return false;
    this.#alarmAt = Infinity;
    return true;
  }

  /** Routes SIGCHLD (whatever the guest's disposition), so that a child's exit wakes a wait. */
  watchChildren(): void {
    this.#route(17);
  }

  /**
   * Mirrors a guest disposition onto the host: a handler starts routing the signal here; SIG_IGN
   * and SIG_DFL are given to the host as they are until routing has started (after that the
   * kernel emulates them, since Deno cannot give a signal back).
   */
  disposition(sig: number, handler: number): void {
    if (routable[sig] === undefined) return;
    if (handler > SIG_IGN) this.#route(sig);
    else if (!this.#listening.has(sig)) libc.signal(sig, handler === SIG_IGN ? SIG_IGN : SIG_DFL);
  }

  /**
   * Brings the listener in line with the guest: a blocked signal must stay pending for the guest
   * instead of taking the host's default action, so it is routed too; for routed signals at
   * their default action and not blocked, the listener ends (or stops) the process at once,
   * even while the guest is computing.
   */
  sync(g: GuestSignals): void {
    const blocked = Object.keys(routable).map(Number).filter((sig) =>
      g.isBlocked(sig) && g.actions[sig].handler === SIG_DFL
    );
    this.#route(...blocked);
    if (this.#worker === undefined) return;
    const words = [0, 0, 0, 0];
    for (const sig of this.#listening) {
      if (g.actions[sig].handler !== SIG_DFL || g.isBlocked(sig)) continue;
      const w = sig <= 32 ? 0 : 1, bit = 1 << ((sig - 1) % 32);
      if (TERMINATE.has(sig)) words[w] |= bit;
      else if (STOPS.has(sig)) words[2 + w] |= bit;
    }
    Atomics.store(this.flags, KILL, words[0]);
    Atomics.store(this.flags, KILL + 1, words[1]);
    Atomics.store(this.flags, STOP, words[2]);
    Atomics.store(this.flags, STOP + 1, words[3]);
  }

  /**
   * Starts listening for `sigs` and waits until the listener has them all (no signal slips past):
   * one round trip for any number of them (glibc blocks every signal around clone, which routes
   * all the blocked ones at once).
   */
  #route(...sigs: number[]): void {
    const fresh = sigs.filter((sig) => !this.#listening.has(sig));
    if (fresh.length === 0) return;
    const w = this.#start();
    for (const sig of fresh) {
      this.#listening.add(sig);
      w.postMessage({ listen: routable[sig] });
    }
    const want = [0, 0];
    for (const sig of fresh) want[sig <= 32 ? 0 : 1] |= 1 << ((sig - 1) % 32);
    const deadline = performance.now() + 5000;
    for (let i = 0; i < 2; i++) {
      for (;;) {
        const v = Atomics.load(this.flags, LISTENING + i);
        if ((v & want[i]) === want[i] || performance.now() > deadline) break;
        Atomics.wait(this.flags, LISTENING + i, v, 100);
      }
    }
    // Deno's handler restarts interrupted calls (SA_RESTART); when the signal lands on this
    // thread a blocking read must fail with EINTR instead, so the guest sees it in time.
    const s = new Scratch(4096);
    for (const sig of fresh) {
      if (libc.sigaction(sig, 0, s.address) === 0) {
        s.view.setInt32(136, s.view.getInt32(136, true) & ~0x10000000, true);
        libc.sigaction(sig, s.address, 0);
      }
    }
  }

  /**
   * A host call failed with EINTR and no signal is waiting: true when a kick arrived whose signal
   * was already taken (the signal itself interrupted an earlier call), so the call should simply
   * run again. Each recorded signal sends one kick, counted in KICKS.
   */
  staleKick(): boolean {
    if (Atomics.load(this.flags, ANY) !== 0) return false;
    const kicks = Atomics.load(this.flags, KICKS);
    if (kicks === this.#kicksSeen) return false;
    this.#kicksSeen = kicks;
    return true;
  }

  /**
   * A host call failed with EINTR before the listener recorded why: the signal itself may have
   * interrupted this thread first. Wait (briefly) for the listener so the guest's handler runs
   * before the EINTR is seen, as on Linux (the listener may take long on a loaded machine; a
   * routed signal always arrives, so the wait ends as soon as it does).
   */
  settle(): void {
    if (this.#worker !== undefined && Atomics.load(this.flags, 0) === 0) {
      Atomics.wait(this.flags, 0, 0, 1000);
    }
  }

  /**
   * Waits (up to a second) until the listener has recorded `sig`, which this process just sent
   * to itself; false when the signal is not routed (the host's disposition handles it).
   */
  arrival(sig: number): boolean {
    if (!this.#listening.has(sig)) return false;
    const w = PENDING + (sig <= 32 ? 0 : 1), bit = 1 << ((sig - 1) % 32);
    const deadline = performance.now() + 1000;
    while ((Atomics.load(this.flags, w) & bit) === 0 && performance.now() < deadline) {
      Atomics.wait(this.flags, ANY, Atomics.load(this.flags, ANY), 50);
    }
    return true;
  }

  /** How many SIGCHLDs have arrived so far; -1 when SIGCHLD is not routed. */
  childSignals(): number {
    return this.#listening.has(17) ? Atomics.load(this.flags, CHILD_COUNT) : -1;
  }

  /**
   * Children were reaped whose SIGCHLDs the listener has not all recorded: the host has sent
   * them, so wait (at most `ms`) until `count` have arrived. Linux makes SIGCHLD pending before
   * wait4 returns, and a late one would interrupt some later call instead.
   */
  awaitChildSignal(count: number, ms: number): void {
    const deadline = performance.now() + ms;
    for (;;) {
      const now = Atomics.load(this.flags, CHILD_COUNT);
      if (now >= count || performance.now() >= deadline) return;
      Atomics.wait(this.flags, CHILD_COUNT, now, 20);
    }
  }

  /** Takes the signals that arrived since the last call: [1-32 bits, 33-64 bits], or undefined. */
  take(): [number, number] | undefined {
    if (Atomics.load(this.flags, 0) === 0) return undefined;
    Atomics.store(this.flags, 0, 0);
    return [Atomics.exchange(this.flags, 1, 0) >>> 0, Atomics.exchange(this.flags, 2, 0) >>> 0];
  }
}
