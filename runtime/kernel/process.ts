// A guest process: what its threads share (gVisor's ThreadGroup and MM): the address space and the
// guest memory accessors, the fd table, signal dispositions and process-directed pending signals,
// limits, children, and how the process ends. Its threads are Tasks (task.ts).
import type { LivePage } from "./procfs/live.ts";
import type { Debugger } from "./debugger.ts";
import type { Vcpu } from "../backends/backend.ts";
import { hostErrno, libc } from "../host/libc.ts";
import type { AddressSpace } from "../memory/address_space.ts";
import type { Sysroot } from "../sysroot/resolve.ts";
import { E } from "./errno.ts";
import { FdTable } from "./fdtable.ts";
import { Credentials } from "./credentials.ts";
import { LockedRanges } from "../memory/locked_ranges.ts";
import { PROT_READ } from "../memory/vmas.ts";
import { Slot } from "./scratch.ts";
import type { SyscallHandler } from "./syscall_def.ts";
import {
  CLD_DUMPED,
  defaultActions,
  PendingSignals,
  type SigAction,
  type SigInfo,
} from "./signals.ts";
import type { SignalRouter } from "../host/signal_router.ts";
import type { InlineChild, InlineStart } from "./inline_fork.ts";
import type { PidHolder } from "./pid_holder.ts";
import type { PosixTimers } from "./posix_timers.ts";
import type { Runtime } from "./runtime.ts";
import { Task, TaskState } from "./task.ts";
import type { Outcome } from "./wait.ts";

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

const dec = new TextDecoder();

/**
 * How long a kill waits for a child to take signals (awaitReady): a host process's start-up is a
 * Deno start-up, seconds on a loaded machine; a child that never gets there (it computes without
 * a syscall) costs this once.
 */
const READY_WAIT_MS = 10_000;

export class Process {
  readonly rt: Runtime;
  readonly as: AddressSpace;
  /** Guest memory: the slab, guest address == offset (memory/slab.ts). */
  readonly mem: Uint8Array;
  readonly view: DataView;
  /** Host address of guest address 0. */
  readonly hostBase: number;
  readonly fds = new FdTable();
  /** Signal dispositions, shared by every thread (CLONE_SIGHAND). */
  readonly actions: SigAction[] = defaultActions();
  /** User and group ids, emulated (credentials.ts); a fork child's come from its parent. */
  creds = new Credentials();
  /** mlock'd ranges (not inherited by fork children, dropped by execve). */
  readonly locks = new LockedRanges();
  /**
   * Host CPU time (process, thread; ns) when this process's guest started: CPU-time clocks
   * report the guest's own, not elfuse's start-up (syscalls/time.ts).
   */
  cpuBase: [number, number] = [0, 0];
  /** Signals sent to the process as a whole (kill), taken by any thread that does not block them. */
  readonly pending = new PendingSignals();
  readonly info: ProcessInfo;
  /** The process's threads, in creation order; tasks[0] is the thread-group leader until it exits. */
  readonly tasks: Task[] = [];
  /** The task whose registers are on the vCPU. */
  current!: Task;
  /** Threads ready to run, in the order they became so (scheduler.ts). */
  readonly runQueue: Task[] = [];
  /** Parked threads (TaskState.Blocked), for the scheduler's one host wait. */
  readonly blocked = new Set<Task>();
  /** membarrier registrations (MEMBARRIER_CMD_REGISTER_* bits). */
  membarrierRegistered = 0;
  /** Where the search for a free thread id starts (syscalls/thread.ts). */
  nextTid = 0;
  /** Wait queues of futexes, by guest address (syscalls/futex.ts). */
  readonly futexes = new Map<number, Task[]>();
  vcpu!: Vcpu;
  table: (SyscallHandler | undefined)[] = [];
  exitStatus: ExitStatus | undefined;
  /** The thread-group id: the host pid of the process that stands for this one. */
  pid: number;
  /** Guest-visible resource limits, [soft, hard] per RLIMIT_* (Infinity for RLIM_INFINITY). */
  readonly rlimits: [number, number][];
  dumpable = 1;
  keepCaps = 0;
  personality = 0;
  pdeathsig = 0;
  noNewPrivs = 0;
  /**
   * Where the working directory is, for paths.ts: 0 elsewhere, 1 "/", 2 in /proc or /dev;
   * undefined until asked (chdir and fchdir reset it).
   */
  cwdKind: number | undefined;
  /**
   * The working directory as a guest path when it is under a guest-internal FUSE mount, which the
   * host's cwd cannot enter (fuse/syscalls.ts chdir); undefined otherwise. Relative paths then
   * start from it (fuse/vfs.ts guestPath, and paths.ts for those that leave the mount).
   */
  fuseCwd: string | undefined;
  /** Children not yet reaped (host pids). */
  readonly children = new Set<number>();
  /** Children reaped, less any SIGCHLDs the host merged (see reaped). */
  childSignalsSeen = 0;
  /** The last change of a child's state a wait reported (see reaped). */
  childReport: SigInfo | undefined;
  /** A vfork child's end of the pipe its parent waits on; closed by execve and exit. */
  vforkWriteFd = -1;
  /** A pid holder started ahead for the next in-process child. */
  nextHolder: PidHolder | undefined;
  /** Closed once the first syscall returns: a parent waits for it (kernel/inline_fork.ts). */
  releaseFd = -1;
  /** A fork child's: closed once signals reach the guest (ForkState.ready). */
  readyFd = -1;
  /**
   * Children whose host process may not take signals as the guest would yet (a fork child
   * starting up, an in-process child that moved out): the read end of the pipe each closes once
   * it does. A signal sent to one waits for that (awaitReady), as on Linux a child's handlers are
   * in place the moment fork returns.
   */
  readonly unready = new Map<number, number>();
  /** A pre-started elfuse waiting to become the next fork child (kernel/fork.ts). */
  spare: { pid: number; sock: number } | undefined;
  /** The parent of an in-process child (its guest pid); otherwise the host's getppid(). */
  parentPid: number | undefined;
  /** This process is an in-process fork child (kernel/inline_fork.ts). */
  inline: InlineChild | undefined;
  /** The attached debugger (--gdb): only in the process elfuse started; fork children run free. */
  debugger: Debugger | undefined;
  /** A fork just started an in-process child: the run loop runs it. */
  inlineStart: InlineStart | undefined;
  /** Routes host signals to guest handlers (set by runKernel). */
  router: SignalRouter | undefined;
  /** POSIX timers (timer_create), made at the first; a fork child starts without any. */
  timers: PosixTimers | undefined;
  /**
   * While the process runs Apple's Rosetta (hvf only): the VZ ioctl answer for a descriptor's
   * guest path, request and argument, undefined when it is not one (x86/rosetta.ts
   * rosettaIoctl). A closure, so the ioctl handler never imports the Rosetta code.
   */
  vzIoctl: ((fdPath: string, request: number, arg: number) => number | undefined) | undefined;
  /**
   * While the process runs Rosetta: its connect of host socket `hostFd` to sockaddr `addr`, served
   * by the rosettad bridge when it names it (0, or -1 with the host's errno), else undefined and
   * the connect goes on (x86/rosettad_bridge.ts). A closure, as vzIoctl.
   */
  rosettadConnect: ((addr: Uint8Array, hostFd: number) => number | undefined) | undefined;
  /** Its page of numbers other processes' /proc shows (procfs/live.ts), once published. */
  live: LivePage | undefined;
  /** router.flags, or a never-set array: one plain load per syscall tells if signals arrived. */
  hostSignals: Int32Array = new Int32Array(new SharedArrayBuffer(4));

  constructor(rt: Runtime, as: AddressSpace, info: ProcessInfo, pid = libc.getpid()) {
    this.rt = rt;
    this.as = as;
    this.mem = as.slab.u8;
    this.view = as.slab.view;
    this.hostBase = as.slab.base;
    this.info = info;
    this.pid = pid;
    this.rlimits = rt.defaultRlimits();
    this.fds.limit = this.rlimits[7][0];
  }

  /**
   * A wait reported a child's change of state (CLD_EXITED, CLD_KILLED, CLD_DUMPED: it was
   * reaped; CLD_STOPPED, CLD_CONTINUED: it stays a child): its SIGCHLD must be pending now, as on
   * Linux, not arrive later (the listener runs on its own thread and may lag under load), and
   * carry this report (the host's own siginfo is out of the listener's sight, and the wait has
   * consumed what signal_delivery.ts childInfo would look at).
   */
  reaped(info: SigInfo): void {
    if (info.code <= CLD_DUMPED) {
      this.children.delete(info.pid);
      this.#ready(info.pid);
      this.creds.reaped(info.pid, this.rt);
    }
    this.childReport = info;
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

  /** `pid`'s host process takes signals once `fd`'s pipe is closed (see unready). */
  notReady(pid: number, fd: number): void {
    // Children that got ready and were never signalled or reaped keep no fd open for long.
    for (const [p, f] of this.unready) if (this.#closed(f, 0)) this.#ready(p);
    this.unready.set(pid, fd);
  }

  /**
   * A signal is about to be sent to `pid` (0 or less: a process group, which may hold any
   * child): wait (up to READY_WAIT_MS) until the child it may reach takes signals as its guest would
   * (kernel/inline_table.ts startingTable).
   */
  awaitReady(pid: number): void {
    if (this.unready.size === 0) return;
    for (const [p, f] of this.unready) {
      if (pid > 0 && p !== pid) continue;
      this.#closed(f, READY_WAIT_MS);
      this.#ready(p);
    }
  }

  /** Whether the other end of pipe `fd` is closed, waiting up to `ms` for it. */
  #closed(fd: number, ms: number): boolean {
    const s = this.rt.scratch, at = Slot.POLL_ONE;
    const until = performance.now() + ms;
    for (;;) {
      s.view.setInt32(at, fd, true);
      s.view.setInt32(at + 4, 1, true); // POLLIN; revents 0
      const left = Math.max(0, Math.ceil(until - performance.now()));
      const r = libc.poll(s.address + at, 1n, left);
      if (r !== 0 && !(r < 0 && hostErrno() === 4)) return r > 0;
      if (r === 0 && performance.now() >= until) return false;
    }
  }

  #ready(pid: number): void {
    const fd = this.unready.get(pid);
    if (fd === undefined) return;
    libc.close(fd);
    this.unready.delete(pid);
  }

  /** The parent's pid, as getppid(2) reports it. */
  ppid(): number {
    return this.parentPid ?? libc.getppid();
  }

  /** Blocked in every thread: a process-directed signal stays pending (router.ts GuestSignals). */
  isBlocked(sig: number): boolean {
    for (const t of this.tasks) if (!t.blocks(sig)) return false;
    return this.tasks.length > 0;
  }

  /** Ends `t`'s wait with `outcome` and queues it to run; its syscall runs again. */
  wake(t: Task, outcome: Outcome): void {
    const w = t.wait;
    if (w === undefined || t.state !== TaskState.Blocked) return;
    w.outcome = outcome;
    for (const addr of w.futex ?? []) {
      const q = this.futexes.get(addr);
      const i = q?.indexOf(t) ?? -1;
      if (i >= 0) q!.splice(i, 1);
      if (q?.length === 0) this.futexes.delete(addr);
    }
    t.wait = undefined;
    w.onEnd?.();
    if (w.done === undefined) t.ended = w; // its syscall runs again and finds the outcome
    t.state = TaskState.Runnable;
    this.blocked.delete(t);
    this.runQueue.push(t);
  }

  /** The guest's dispositions or masks changed: keep the host-signal router in step. */
  syncSignals(): void {
    this.router?.sync(this);
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

  /** The slab offset of guest [addr, addr+len) for a kernel copy, or -1 (AddressSpace.resolve). */
  resolve(addr: number, len: number, prot: number): number {
    return this.as.resolve(addr, len, prot);
  }

  /**
   * Where the kernel reads guest [addr, addr+len): the slab offset (addr itself in the slab, the
   * backing through the alias table outside it: Rosetta's image, its kbuf and its high mappings
   * on hvf), or -1 for EFAULT. As cheap as canRead for an ordinary address.
   */
  readable(addr: number, len: number): number {
    return this.as.resolve(addr, len, 1 /* PROT_READ */);
  }

  /** Where the kernel writes guest [addr, addr+len), or -1 for EFAULT (as readable). */
  writable(addr: number, len: number): number {
    return this.as.resolve(addr, len, 2 /* PROT_WRITE */);
  }

  /**
   * Length of the NUL-terminated guest string at addr (without the NUL), -EFAULT when it runs
   * into unreadable memory, -ENAMETOOLONG past `max` bytes.
   */
  strlen(addr: number, max = 4096): number {
    if (addr < 0 || addr >= this.mem.length) return this.as.aliases.strlen(this.mem, addr, max);
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
    if (n < 0) return n;
    const at = addr >= 0 && addr < this.mem.length
      ? addr
      : this.as.aliases.resolve(addr, n, PROT_READ);
    return dec.decode(this.mem.subarray(at, at + n));
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

/** A new process and its first thread (whose tid is the pid); returns the thread. */
export function newProcess(rt: Runtime, as: AddressSpace, info: ProcessInfo, pid?: number): Task {
  const proc = new Process(rt, as, info, pid);
  const leader = new Task(proc, proc.pid);
  proc.tasks.push(leader);
  proc.current = leader;
  return leader;
}
