// Letting QEMU's software TLB grow to the guest's working set. Unicorn keeps QEMU's dynamic TLB
// sizing (qemu/accel/tcg/cputlb.c, tlb_mmu_resize_locked): a TLB starts at 256 entries and is
// resized only when it is flushed, doubled when more than 70% of it was in use. A guest that
// computes over a large working set without mapping anything never flushes it, so it keeps 256
// entries and pays a fill (about 66 ns) on most accesses: `sieve 64` took 24.8 million fills.
//
// So the engine's TLB is flushed at 8, 16, 32, 64 ... ms of running (each interval twice the
// last: about log2(T / 8 ms) flushes over a run of T, each costing one refill of the working set).
// The stop comes from a host timer whose expiry calls uc_emu_stop(engine) on a thread of its own
// (glibc's SIGEV_THREAD), the same call the signal listener makes (Vcpu.interruptCall): no polling
// thread, unlike uc_emu_start's own timeout (a thread that wakes every few microseconds: measured
// 30% more CPU on sha256). The run loop flushes (UC_CTL_TLB_FLUSH) when the time has come and
// reports the stop as an interrupt, which the kernel takes as it takes a time slice.
//
// Measured on `sieve 64` (loaded 2-core host): 9.9-17.0 s before, 3.3-3.6 s with the flushes;
// qemu-user 2.3 s.

/** UC_CTL_WRITE(UC_CTL_TLB_FLUSH = 11, 0). */
export const UC_CTL_TLB_FLUSH_WRITE = 11 | (1 << 30);

const FIRST_MS = 8;
/** How long a notification thread that has started may take to call uc_emu_stop (it is µs). */
const IN_FLIGHT_MS = 5;
const SIGEV_THREAD = 2;
const CLOCK_MONOTONIC = 1;

const timerSymbols = {
  timer_create: { parameters: ["i32", "buffer", "buffer"], result: "i32" },
  timer_settime: { parameters: ["usize", "i32", "buffer", "buffer"], result: "i32" },
  timer_delete: { parameters: ["usize"], result: "i32" },
} as const;

type TimerLib = Deno.DynamicLibrary<typeof timerSymbols>["symbols"];

/** The schedule and the host timer that stops the engine when a flush is due. */
export class TlbGrowth {
  readonly #timers: TimerLib;
  readonly #id: bigint;
  readonly #spec = new BigInt64Array(4); // struct itimerspec: interval, then value
  #start = 0;
  #next = 0;
  #interval = FIRST_MS;

  private constructor(timers: TimerLib, id: bigint) {
    this.#timers = timers;
    this.#id = id;
  }

  /**
   * A timer that calls `stop` (uc_emu_stop's address) with `engine`; undefined where glibc's
   * SIGEV_THREAD timers are not available (macOS, another libc): the TLB then stays as it is.
   */
  static create(stop: Deno.PointerValue, engine: Deno.PointerValue): TlbGrowth | undefined {
    if (Deno.build.os !== "linux" || stop === null || engine === null) return undefined;
    let timers: TimerLib;
    try {
      timers = Deno.dlopen("libc.so.6", timerSymbols).symbols; // glibc 2.34+ (librt before)
    } catch {
      return undefined;
    }
    // struct sigevent (64 bytes): sigev_value at 0, sigev_signo at 8, sigev_notify at 12, and
    // for SIGEV_THREAD the function at 16 and its pthread attributes (none) at 24.
    const ev = new BigUint64Array(8);
    ev[0] = BigInt(Deno.UnsafePointer.value(engine));
    ev[1] = BigInt(SIGEV_THREAD) << 32n;
    ev[2] = BigInt(Deno.UnsafePointer.value(stop));
    const id = new BigUint64Array(1);
    if (timers.timer_create(CLOCK_MONOTONIC, ev, id) !== 0) return undefined;
    return new TlbGrowth(timers, id[0]);
  }

  /** Arms the first flush; `now` is performance.now(). */
  begin(now: number): void {
    this.#start = now;
    this.#next = now + FIRST_MS;
    this.#arm(FIRST_MS);
  }

  /** Whether a flush is due at `now`; if so, the next one is scheduled (twice as far). */
  due(now: number): boolean {
    if (this.#start === 0 || now < this.#next) return false;
    this.#interval *= 2;
    this.#next = now + this.#interval;
    this.#arm(this.#interval);
    return true;
  }

  #arm(ms: number): void {
    const s = this.#spec;
    s[2] = BigInt(Math.floor(ms / 1000));
    s[3] = BigInt((ms % 1000) * 1e6);
    this.#timers.timer_settime(this.#id, 0, s, null);
  }

  /**
   * Deletes the timer. A notification thread that has already started may still be about to call
   * uc_emu_stop: that is possible only once the expiry has passed, and then this waits long enough
   * for it (a few ms, at most once per run) before the caller closes the engine.
   */
  close(): void {
    this.#timers.timer_delete(this.#id);
    if (this.#start !== 0 && performance.now() >= this.#next) {
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, IN_FLIGHT_MS);
    }
  }
}
