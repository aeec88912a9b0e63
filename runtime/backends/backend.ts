// The CPU backend interface, shaped like Hypervisor.framework: guest memory is host memory made
// visible at a guest physical address, a vCPU runs until an exit, registers are read and written.
// Each backend turns its own exits into the small set below. Backend-neutral code imports only
// this file, never a backend.

/** Registers the kernel names, independent of any backend's numbering. */
export const enum Reg {
  X0 = 0,
  // X1..X30 are X0 + n.
  SP = 31,
  PC = 32,
  NZCV = 33,
  TPIDR_EL0 = 34,
  FPCR = 35,
  FPSR = 36,
}

export type Access = "read" | "write" | "fetch";

/** Why a vCPU stopped running guest code (syscalls never stop it: they are served in place). */
export type Exit =
  | { kind: "stopped" }
  | { kind: "fault"; address: number; access: Access; mapped: boolean; pc: number }
  | { kind: "breakpoint"; pc: number }
  | { kind: "undefined"; pc: number }
  | { kind: "timeout" }
  /** Vcpu.step ran its one instruction. */
  | { kind: "step" }
  /**
   * The run was cut short from outside (Vcpu.interruptCall: Hypervisor.framework's
   * hv_vcpus_exit, Unicorn's uc_emu_stop) at an instruction boundary with all registers in place;
   * the kernel looks for host signals and time slices, and runs on.
   */
  | { kind: "interrupted" }
  | { kind: "internal"; error: unknown };

/**
 * A native function another thread can call to make a running vCPU's run() return
 * `{ kind: "interrupted" }` at an instruction boundary, with every register in place (the signal
 * listener calls it for a signal the guest must see now, and for time slices between threads).
 * Integer and pointer arguments only, passed as declared.
 */
export interface NativeCall {
  library: string;
  symbol: string;
  parameters: ("usize" | "u32" | "i32")[];
  args: (number | bigint)[];
}

/** One thread's whole register state, saved while another thread of its process runs. */
export interface VcpuContext {
  /** Backend-owned storage; only the vCPU that made it reads it. */
  readonly data: unknown;
}

/** Called for every guest SVC while the vCPU runs; it reads the arguments and sets the result. */
export type SyscallHandler = () => void;

/**
 * A 64-bit register, given as its signed high and unsigned low halves, as a Number for a syscall
 * argument: exact below 2^53; beyond that, still a safe integer exact in its low 32 bits and its
 * sign, with a magnitude of at least 2^52. The kernel reads an `int` or `unsigned int` argument as the low 32
 * bits of its register, and `a | 0` and `a >>> 0` give exactly those; the nearest double would not
 * (0x7fffffffffffffff rounds to 2^63, whose low bits are 0: kill(0), not kill(-1)).
 */
export function registerArg(hi: number, lo: number): number {
  if (hi >= -0x200000 && hi < 0x200000) return hi * 4294967296 + lo;
  // The high half, keeping its low 19 bits, moved to [2^20, 1.5 * 2^20) or its negative less one.
  const low = hi & 0x7ffff;
  return (hi < 0 ? -0x100001 - low : 0x100000 + low) * 4294967296 + lo;
}

export interface Vcpu {
  /**
   * Reads x0..x5 into args (signed 64-bit values, exact below 2^53, exact in their low 32 bits
   * always: registerArg); returns x8.
   */
  syscallArgs(args: Float64Array): number;
  /** Writes x0 (a signed value: negative errnos and addresses below 2^53 are exact). */
  setResult(x0: number): void;
  get(reg: Reg): number;
  set(reg: Reg, value: number): void;
  /** Full 64-bit register access, for values that may exceed 2^53 (signal frames, fork). */
  getBig(reg: Reg): bigint;
  setBig(reg: Reg, value: bigint): void;
  /**
   * The general registers as a signal frame holds them: x0..x30, sp, pc, pstate (NZCV bits;
   * EL0t), 34 little-endian u64 words at `off`.
   */
  saveGeneral(out: DataView, off: number): void;
  loadGeneral(src: DataView, off: number): void;
  /** v0..v31 (16 bytes each), then fpsr and fpcr (u32 each): 520 bytes at `off`. */
  saveFpsimd(out: DataView, off: number): void;
  loadFpsimd(src: DataView, off: number): void;
  /**
   * Runs from the current PC until stop() is called from a syscall handler, a non-syscall exit,
   * or the deadline (ms since the epoch, 0 for none) passes.
   */
  run(onSyscall: SyscallHandler, deadline: number): Exit;
  /**
   * Runs exactly one instruction from the current PC, for a debugger's single step (an SVC is
   * served in place, as run() does): `{ kind: "step" }` when it completed, else the exit it took.
   */
  step(onSyscall: SyscallHandler): Exit;
  /** From inside a syscall handler: stop after this syscall returns. */
  stop(): void;
  /** Storage for a thread's whole register state (general, FP/SIMD, FPSR/FPCR, TPIDR_EL0). */
  newContext(): VcpuContext;
  /** Copies the vCPU's registers into `ctx` (also inside a syscall handler). */
  saveContext(ctx: VcpuContext): void;
  /**
   * Makes `ctx` the vCPU's registers. Inside a syscall handler the vCPU goes on from the loaded pc
   * when the handler returns: this is how threads are switched.
   */
  loadContext(ctx: VcpuContext): void;
  /** Releases a context no thread needs any more. */
  freeContext(ctx: VcpuContext): void;
  /** How another thread interrupts run() (NativeCall), or undefined where that is not safe. */
  interruptCall(): NativeCall | undefined;
}

export interface Backend {
  readonly name: string;
  /** A one-line description (library version, limits) for -v and --version. */
  readonly description: string;
  /** AT_HWCAP / AT_HWCAP2 for the CPU this backend presents (Linux arch/arm64 hwcap bits). */
  readonly hwcap: number;
  readonly hwcap2: number;
  /** MIDR_EL1 of that CPU (implementer, variant, part, revision), for /proc/cpuinfo; 0 unknown. */
  readonly midr?: number;
  /** CNTFRQ_EL0 (the generic timer's frequency), for /proc/cpuinfo's BogoMIPS; 0 unknown. */
  readonly counterHz?: number;
  /**
   * CNTVCT_EL0 / CNTFRQ_EL0 count the host's CLOCK_MONOTONIC, so the guest's vDSO may answer
   * clock_gettime(CLOCK_MONOTONIC) from the counter without a syscall (runtime/vdso.ts).
   */
  readonly monotonicCounter?: boolean;
  /** Makes slab bytes [gpa, gpa+size) visible to the guest with Linux PROT_* bits. */
  map(gpa: number, size: number, prot: number): void;
  unmap(gpa: number, size: number): void;
  protect(gpa: number, size: number, prot: number): void;
  /** Guest code in [gpa, gpa+size) changed behind the CPU's back: drop translated code. */
  invalidateCode(gpa: number, size: number): void;
  /**
   * Guest ranges [start, end) the backend keeps for its own pages (the hvf shim window): the
   * address space never maps there, and the guest gets ENOMEM (mmap) or EINVAL (mremap).
   */
  readonly reserved?: readonly (readonly [number, number])[];
  createVcpu(): Vcpu;
  close(): void;
}

/** What the kernel hands a backend factory: the slab it must expose to the guest. */
export interface SlabInfo {
  /** Host address of guest physical address 0. */
  hostBase: number;
  size: number;
}
