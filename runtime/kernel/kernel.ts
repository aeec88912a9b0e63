// The backend-neutral kernel for one guest process: its address space, fds, signal state and
// the syscall entry point the vCPU calls on every SVC.
import type { Vcpu } from "../backends/backend.ts";
import { errno as hostErrno } from "../host/mod.ts";
import { libc, Scratch, setHostErrno } from "../host/libc.ts";
import type { AddressSpace } from "../memory/address_space.ts";
import type { Sysroot } from "../sysroot/resolve.ts";
import { E } from "./errno.ts";
import { FdTable } from "./fdtable.ts";
import type { SyscallHandler } from "./syscall_def.ts";
import { SignalState } from "./signals.ts";
import type { SignalRouter } from "../host/signal_router.ts";
import { deliverPending, takeHostSignals } from "./syscalls/signal.ts";
import type { InlineChild, InlineStart } from "./inline_fork.ts";
import type { PidHolder } from "./pid_holder.ts";

export interface ProcessInfo {
  /** The guest's argv[0]-independent program path (AT_EXECFN, /proc/self/exe). */
  exePath: string;
  /** Host path of the program file. */
  hostExePath: string;
  argv: string[];
  envp: string[];
  /** Where the auxv and the stack begin, for /proc/self/auxv and /proc/self/stat. */
  auxvAddress?: number;
  auxvLength?: number;
  stackStart?: number;
  /** --sysroot: where guest system paths live (undefined: every path is the host's). */
  sysroot?: Sysroot;
}

/** How the guest ended. */
export type ExitStatus = { code: number } | { signal: number; core: boolean };

/** Returned by a handler that wrote a full 64-bit x0 itself (lseek offsets beyond 2^53). */
export const RESULT_SET = NaN;

const enc = new TextEncoder();
const dec = new TextDecoder();

export class Kernel {
  readonly as: AddressSpace;
  readonly mem: Uint8Array;
  readonly view: DataView;
  /** Host address of guest address 0. */
  readonly hostBase: number;
  readonly fds = new FdTable();
  readonly signals = new SignalState();
  readonly args = new Float64Array(6);
  /** Host memory for host-side structs (iovec arrays, statx buffers, pollfds, path copies). */
  readonly scratch: Scratch;
  readonly info: ProcessInfo;
  vcpu!: Vcpu;
  table: (SyscallHandler | undefined)[] = [];
  /** Called for a syscall number with no handler (logs once under -v). */
  onUnknown: (nr: number) => void = () => {};
  exitStatus: ExitStatus | undefined;
  pid: number;
  umask = 0o022;
  /** Guest-visible resource limits, [soft, hard] per RLIMIT_* (Infinity for RLIM_INFINITY). */
  readonly rlimits: [number, number][];
  tidAddress = 0;
  robustList = 0;
  name = "";
  dumpable = 1;
  /** Children not yet reaped (host pids). */
  readonly children = new Set<number>();
  /** Children reaped, less any SIGCHLDs the host merged (see reaped). */
  childSignalsSeen = 0;
  /** A vfork child's end of the pipe its parent waits on; closed by execve and exit. */
  vforkWriteFd = -1;
  /** A pid holder started ahead for the next in-process child. */
  nextHolder: PidHolder | undefined;
  /** Closed once the first syscall returns: a parent waits for it (kernel/inline_fork.ts). */
  releaseFd = -1;
  /** A pre-started elfuse waiting to become the next fork child (kernel/fork.ts). */
  spare: { pid: number; sock: number } | undefined;
  /** The parent of an in-process child (its guest pid); otherwise the host's getppid(). */
  parentPid: number | undefined;
  /** This kernel is an in-process fork child (kernel/inline_fork.ts). */
  inline: InlineChild | undefined;
  /** A fork just started an in-process child: the run loop runs it. */
  inlineStart: InlineStart | undefined;
  /** Routes host signals to guest handlers (set by runKernel). */
  router: SignalRouter | undefined;
  /** router.flags, or a never-set array: one plain load per syscall tells if signals arrived. */
  hostSignals: Int32Array = new Int32Array(new SharedArrayBuffer(4));
  /** How this elfuse was run, for the process a guest fork starts. */
  runOptions: { backend: string; strace?: boolean; verbose?: boolean } = { backend: "unicorn" };
  /** AT_HWCAP/AT_HWCAP2 of the backend, for images built by execve. */
  hwcap = 0;
  hwcap2 = 0;
  /** For the vDSO of images built by execve (Backend.monotonicCounter). */
  monotonicCounter = false;
  verbose = false;
  /** Prints one diagnostic line on stderr (used under -v). */
  note: (msg: string) => void = () => {};
  keepCaps = 0;
  personality = 0;
  pdeathsig = 0;
  noNewPrivs = 0;

  /** `scratch`: an in-process fork child borrows its waiting parent's. */
  constructor(as: AddressSpace, info: ProcessInfo, scratch?: Scratch) {
    this.scratch = scratch ?? new Scratch(1 << 20);
    this.as = as;
    this.mem = as.slab.u8;
    this.view = as.slab.view;
    this.hostBase = as.slab.base;
    this.info = info;
    this.pid = libc.getpid();
    this.rlimits = defaultRlimits();
    this.fds.limit = this.rlimits[7][0];
  }

  /** The SVC entry: runs the handler for x8 and writes its result to x0. */
  readonly onSyscall = (): void => {
    const nr = this.vcpu.syscallArgs(this.args);
    const h = this.table[nr];
    let r = h !== undefined ? h(this, this.args) : this.unknown(nr);
    if (r === -4 /* EINTR */) r = this.interrupted(nr);
    if (this.hostSignals[0] !== 0 && takeHostSignals(this, nr, r)) return;
    if (r === r) this.vcpu.setResult(r); // NaN (RESULT_SET): the handler wrote x0 itself
    if (this.signals.wake) deliverPending(this);
  };

  /**
   * A handler's host call failed with EINTR. A kick whose signal was already taken is no news for
   * the guest: the call runs again. Otherwise a signal interrupted it before the listener
   * recorded it: wait for that (signal_router.ts settle) so its handler runs first, as on Linux.
   */
  interrupted(nr: number): number {
    const router = this.router, h = this.table[nr];
    if (router === undefined || h === undefined) return -4;
    let r = -4;
    // A handler that took a signal itself (rt_sigsuspend) returns EINTR for the guest to see.
    while (r === -4 && !this.signals.wake && router.staleKick()) r = h(this, this.args);
    if (r === -4) router.settle();
    return r;
  }

  unknown(nr: number): number {
    this.onUnknown(nr);
    return -E.ENOSYS;
  }

  /**
   * A child was reaped: its SIGCHLD must be pending now, as on Linux, not arrive later (the
   * listener runs on its own thread and may lag under load).
   */
  reaped(pid: number): void {
    this.children.delete(pid);
    const r = this.router;
    if (r === undefined) return;
    if (r.childSignals() < 0) return;
    // Every reaped child sent one SIGCHLD, and the host may have merged some (signal(7)): wait
    // only while fewer have arrived than were reaped, briefly (a merged one never comes), and
    // start counting afresh after a timeout.
    this.childSignalsSeen++;
    if (r.childSignals() < this.childSignalsSeen) r.awaitChildSignal(this.childSignalsSeen, 50);
    this.childSignalsSeen = Math.min(this.childSignalsSeen, r.childSignals());
  }

  /** The parent's pid, as getppid(2) reports it. */
  ppid(): number {
    return this.parentPid ?? libc.getppid();
  }

  /** A host call's return value as a guest result: -errno on failure. */
  host(r: number): number {
    return r < 0 ? -hostErrno() : r;
  }

  clearErrno(): void {
    setHostErrno(0);
  }

  errnoNow(): number {
    return hostErrno();
  }

  /** The guest's dispositions or mask changed: keep the host-signal router in step. */
  syncSignals(): void {
    this.router?.sync(this.signals);
  }

  /** The last host errno as a negative guest result. */
  fail(): number {
    return -hostErrno();
  }

  /** Ends the guest with an exit code; the vCPU stops after this syscall. */
  exit(code: number): void {
    this.exitStatus ??= { code: code & 0xff };
    this.vcpu.stop();
  }

  /** Ends the guest as if killed by a signal. */
  killedBy(signal: number, core: boolean): void {
    this.exitStatus ??= { signal, core };
    this.vcpu.stop();
  }

  canRead(addr: number, len: number): boolean {
    return this.as.canRead(addr, len);
  }

  canWrite(addr: number, len: number): boolean {
    return this.as.canWrite(addr, len);
  }

  /**
   * Length of the NUL-terminated guest string at addr (without the NUL), -EFAULT when it runs
   * into unreadable memory, -ENAMETOOLONG past `max` bytes.
   */
  strlen(addr: number, max = 4096): number {
    const vmas = this.as.vmas;
    let a = addr;
    const limit = addr + max;
    while (a < limit) {
      const v = vmas.find(a);
      if (v === undefined || (v.prot & 1) === 0) return -E.EFAULT;
      const end = Math.min(v.end, limit);
      const nul = this.mem.indexOf(0, a);
      if (nul >= 0 && nul < end) return nul - addr;
      a = end;
    }
    return -E.ENAMETOOLONG;
  }

  /** The guest string at addr, or a negative errno. */
  string(addr: number, max = 4096): string | number {
    const n = this.strlen(addr, max);
    return n < 0 ? n : dec.decode(this.mem.subarray(addr, addr + n));
  }

  /** Copies a JS string into scratch memory as a C string; returns its host address. */
  scratchString(s: string, offset = 0): number {
    const r = enc.encodeInto(s, this.scratch.u8.subarray(offset, offset + 8191));
    this.scratch.u8[offset + r.written] = 0;
    return this.scratch.address + offset;
  }

  /** A host timespec in scratch memory. */
  scratchTimespec(sec: number, nsec: number): number {
    this.scratch.view.setBigInt64(0x7f00, BigInt(sec), true);
    this.scratch.view.setBigInt64(0x7f08, BigInt(nsec), true);
    return this.scratch.address + 0x7f00;
  }

  readU64(addr: number): number {
    return this.view.getUint32(addr + 4, true) * 4294967296 + this.view.getUint32(addr, true);
  }

  readI64(addr: number): number {
    return this.view.getInt32(addr + 4, true) * 4294967296 + this.view.getUint32(addr, true);
  }

  writeU64(addr: number, v: number): void {
    const hi = Math.floor(v / 4294967296);
    this.view.setInt32(addr + 4, hi, true);
    this.view.setUint32(addr, v - hi * 4294967296, true);
  }
}

/** RLIMIT_* defaults: the host's own limits where it has them (RLIMIT_NOFILE capped at 1024). */
let hostLimits: [number, number][] | undefined;
function defaultRlimits(): [number, number][] {
  if (hostLimits === undefined) {
    // Read once per host process: every kernel (fork children in-process too) starts from them.
    const out: [number, number][] = [];
    const s = new Scratch(4096);
    for (let r = 0; r < 16; r++) {
      const ok = libc.getrlimit(r, s.address) === 0;
      const soft = s.view.getBigUint64(0, true), hard = s.view.getBigUint64(8, true);
      const num = (x: bigint) => (x >= 0x7fff_ffff_ffff_ffffn ? Infinity : Number(x));
      out.push(ok ? [num(soft), num(hard)] : [Infinity, Infinity]);
    }
    out[7] = [Math.min(out[7][0], 1024), out[7][1]]; // RLIMIT_NOFILE
    hostLimits = out;
  }
  return hostLimits.map(([s, h]) => [s, h]);
}
