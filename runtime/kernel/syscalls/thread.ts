// Threads: clone(CLONE_THREAD) and clone3, thread exit and its clear_child_tid and robust-list
// duties, thread ids, sched_yield. A thread is a Task of the same Process; all of them take turns
// on the process's vCPU (scheduler.ts).
import { hostSyscallNumber } from "../../host/syscall_numbers.ts";
import { Reg } from "../../backends/backend.ts";
import { E } from "../errno.ts";
import { libc } from "../../host/libc.ts";
import type { Process } from "../process.ts";
import { switchAway, yieldCpu } from "../scheduler.ts";
import { SLICE_MS } from "../wait.ts";
import { RESULT_SET, type SyscallDef } from "../syscall_def.ts";
import { Task, TaskState } from "../task.ts";
import {
  FUTEX_OWNER_DIED,
  FUTEX_TID_MASK,
  FUTEX_WAITERS,
  futexWake,
  handOverPiLock,
} from "./futex.ts";

export const CLONE_VM = 0x100, CLONE_FS = 0x200, CLONE_FILES = 0x400, CLONE_SIGHAND = 0x800;
export const CLONE_PIDFD = 0x1000, CLONE_THREAD = 0x10000, CLONE_SYSVSEM = 0x40000;
export const CLONE_SETTLS = 0x80000, CLONE_PARENT_SETTID = 0x100000;
export const CLONE_CHILD_CLEARTID = 0x200000, CLONE_DETACHED = 0x400000;
export const CLONE_CHILD_SETTID = 0x1000000;
/** What a thread may be created with besides the four sharing flags it needs. */
const THREAD_FLAGS = CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_SIGHAND | CLONE_THREAD |
  CLONE_SYSVSEM | CLONE_SETTLS | CLONE_PARENT_SETTID | CLONE_CHILD_CLEARTID | CLONE_DETACHED |
  CLONE_CHILD_SETTID;

/**
 * Thread ids come from a block of MAX_THREADS numbers above the host's pid_max (so never a host
 * process's pid), chosen by the process's pid; the thread-group leader's is the pid itself.
 */
export const MAX_THREADS = 4096;

/** A free thread id for `proc`, or -1 when MAX_THREADS threads live. */
function allocTid(proc: Process): number {
  if (proc.tasks.length >= MAX_THREADS) return -1;
  const base = proc.rt.pidMax() + 1 + (proc.pid % 65536) * MAX_THREADS;
  const used = new Set(proc.tasks.map((t) => t.tid));
  for (let i = 0; i < MAX_THREADS; i++) {
    const tid = base + ((proc.nextTid + i) % MAX_THREADS);
    if (!used.has(tid)) {
      proc.nextTid = (tid - base + 1) % MAX_THREADS;
      return tid;
    }
  }
  return -1;
}

/** What clone and clone3 were asked for (clone's registers, or struct clone_args). */
export interface CloneArgs {
  flags: number;
  /** The new stack pointer (0: the caller's). */
  sp: number;
  parentTid: number;
  tls: number;
  childTid: number;
}

/**
 * clone with CLONE_THREAD: a new thread of this process, starting where the caller's clone
 * returns, with x0 = 0, its own stack and TLS. The caller goes on; the new thread waits its turn.
 */
export function cloneThread(k: Task, c: CloneArgs): number {
  const { flags, sp: newSp, parentTid, tls, childTid } = c;
  const proc = k.proc;
  const needed = CLONE_VM | CLONE_SIGHAND;
  if ((flags & needed) !== needed) return -E.EINVAL; // copy_process: THREAD needs SIGHAND needs VM
  if (flags & CLONE_PIDFD) return -E.EINVAL; // not with CLONE_THREAD (Linux 5.2+)
  // Threads with their own fd table or cwd (CLONE_THREAD without CLONE_FILES or CLONE_FS) are
  // valid on Linux but not offered: every thread here shares its process's.
  if ((flags & (CLONE_FS | CLONE_FILES)) !== (CLONE_FS | CLONE_FILES)) return -E.ENOSYS;
  if ((flags & ~THREAD_FLAGS & ~0xff) !== 0) return -E.ENOSYS; // namespaces, CLONE_PARENT, ...
  if ((flags & CLONE_PARENT_SETTID) && !proc.canWrite(parentTid, 4)) return -E.EFAULT;
  if ((flags & CLONE_CHILD_SETTID) && !proc.canWrite(childTid, 4)) return -E.EFAULT;
  const tid = allocTid(proc);
  if (tid < 0) return -E.EAGAIN;
  const t = new Task(proc, tid);
  t.signals.maskLo = k.signals.maskLo;
  t.signals.maskHi = k.signals.maskHi;
  // The alternate signal stack is not inherited by a thread (CLONE_VM without CLONE_VFORK).
  t.name = k.name;
  if (flags & CLONE_CHILD_CLEARTID) t.tidAddress = childTid;
  // Its registers: the caller's as they are now, with x0 = 0, the new stack and TLS.
  const v = proc.vcpu;
  const sp = v.getBig(Reg.SP), tp = v.getBig(Reg.TPIDR_EL0);
  v.setResult(0);
  if (newSp !== 0) v.set(Reg.SP, newSp);
  if (flags & CLONE_SETTLS) v.set(Reg.TPIDR_EL0, tls);
  t.context = v.newContext();
  v.saveContext(t.context);
  v.setBig(Reg.SP, sp);
  v.setBig(Reg.TPIDR_EL0, tp);
  if (flags & CLONE_PARENT_SETTID) proc.view.setInt32(parentTid, tid, true);
  if (flags & CLONE_CHILD_SETTID) proc.view.setInt32(childTid, tid, true);
  proc.tasks.push(t);
  t.state = TaskState.Runnable;
  proc.runQueue.push(t);
  proc.router?.slice(SLICE_MS);
  return tid;
}

/** clone3's struct clone_args (linux/sched.h), version 0 (64 bytes) and up; or -errno. */
export function clone3Args(k: Task, addr: number, size: number): CloneArgs | number {
  const p = k.proc;
  if (size < 64 || size > 4096) return -E.EINVAL;
  if (!p.canRead(addr, size)) return -E.EFAULT;
  // Fields past the ones known here must be zero (copy_struct_from_user).
  for (let i = 88; i < size; i++) if (p.mem[addr + i] !== 0) return -E.E2BIG;
  const u = (o: number) => (o + 8 <= size ? p.readU64(addr + o) : 0);
  const flags = u(0), exitSignal = u(32), stack = u(40), stackSize = u(48), setTidSize = u(72);
  if (flags > 0xffffffff || exitSignal > 64 || setTidSize !== 0) {
    return setTidSize !== 0 ? -E.EPERM : -E.EINVAL; // set_tid needs CAP_SYS_ADMIN in the pid ns
  }
  if ((stack === 0) !== (stackSize === 0)) return -E.EINVAL;
  return {
    flags: flags | exitSignal,
    childTid: u(16),
    parentTid: u(24),
    sp: stack === 0 ? 0 : stack + stackSize,
    tls: u(56),
  };
}

/** Walks `t`'s robust list as Linux's exit_robust_list does: locks it held get FUTEX_OWNER_DIED. */
export function releaseRobustLocks(t: Task): void {
  const p = t.proc, head = t.robustList;
  if (head === 0 || !p.canRead(head, 24)) return;
  // struct robust_list_head { struct robust_list *next; long futex_offset; *list_op_pending; }
  // Bit 0 of each pointer marks a PI futex (fetch_robust_entry).
  const fetch = (at: number): [number, boolean] => {
    const u = p.readU64(at);
    return [u - (u % 2), u % 2 === 1];
  };
  const offset = p.readI64(head + 8);
  const release = (entry: number, pi: boolean) => {
    const uaddr = entry + offset;
    if (uaddr % 4 !== 0 || !p.canWrite(uaddr, 4)) return;
    const v = p.view.getUint32(uaddr, true);
    if ((v & FUTEX_TID_MASK) !== t.tid) return;
    if (pi) handOverPiLock(p, uaddr, FUTEX_OWNER_DIED);
    else {
      p.view.setUint32(uaddr, ((v & FUTEX_WAITERS) | FUTEX_OWNER_DIED) >>> 0, true);
      if (v & FUTEX_WAITERS) futexWake(p, uaddr, 1);
    }
  };
  const [pending, pendingPi] = fetch(head + 16);
  let [entry, pi] = fetch(head);
  // At most ROBUST_LIST_LIMIT (2048) entries: a corrupt or circular list cannot hang the exit.
  for (let n = 0; entry !== head && n < 2048 && p.canRead(entry, 8); n++) {
    const [next, nextPi] = fetch(entry);
    if (entry !== pending) release(entry, pi);
    [entry, pi] = [next, nextPi];
  }
  if (pending !== 0) release(pending, pendingPi);
}

/**
 * exit(2) of one thread: its clear_child_tid is zeroed and woken (pthread_join waits on it), its
 * robust locks released, and another thread gets the vCPU. The last thread's exit ends the process.
 */
function exitThread(k: Task, a: Float64Array): number {
  const proc = k.proc;
  if (proc.tasks.length === 1) {
    proc.exit(a[0] | 0);
    return 0;
  }
  releaseRobustLocks(k);
  if (k.tidAddress !== 0 && proc.canWrite(k.tidAddress, 4)) {
    proc.view.setInt32(k.tidAddress, 0, true);
    futexWake(proc, k.tidAddress, 1);
  }
  k.state = TaskState.Exited;
  proc.tasks.splice(proc.tasks.indexOf(k), 1);
  if (proc.tasks.length === 1) proc.router?.slice(0);
  switchAway(k);
  if (k.context !== undefined) proc.vcpu.freeContext(k.context);
  k.context = undefined;
  return RESULT_SET;
}

/** sched_yield: the thread goes to the back of the run queue. */
function schedYield(k: Task): number {
  k.proc.vcpu.setResult(0); // written before the switch: the result is the yielding thread's
  yieldCpu(k);
  return RESULT_SET;
}

const MEMBARRIER_CMD_QUERY = 0, MEMBARRIER_CMD_GLOBAL = 1;
const MEMBARRIER_CMD_PRIVATE_EXPEDITED = 8, MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED = 16;
const MEMBARRIER_CMD_PRIVATE_EXPEDITED_SYNC_CORE = 32;
const MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED_SYNC_CORE = 64;
/** The commands offered (MEMBARRIER_CMD_QUERY's answer). */
const MEMBARRIER_CMDS = MEMBARRIER_CMD_GLOBAL | MEMBARRIER_CMD_PRIVATE_EXPEDITED |
  MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED | MEMBARRIER_CMD_PRIVATE_EXPEDITED_SYNC_CORE |
  MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED_SYNC_CORE;

/**
 * membarrier(2). A process's threads share one vCPU and change places only through the kernel,
 * so every thread of it has passed a full barrier (and a context synchronisation) by the time
 * any other runs: the private commands only need Linux's registration rules. MEMBARRIER_CMD_GLOBAL
 * is about other processes, which run in parallel as host processes: the host's answers for them.
 */
function membarrier(k: Task, a: Float64Array): number {
  const cmd = a[0] | 0, flags = a[1] | 0;
  if (flags !== 0) return -E.EINVAL;
  const p = k.proc;
  switch (cmd) {
    case MEMBARRIER_CMD_QUERY:
      return MEMBARRIER_CMDS;
    case MEMBARRIER_CMD_GLOBAL: {
      const nr = hostSyscallNumber("membarrier") ?? 283n;
      const r = Number(libc.syscall6(nr, BigInt(cmd), 0n, 0n, 0n, 0n, 0n));
      return r < 0 ? 0 : r; // a host without it: nothing else runs this process's memory
    }
    case MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED:
    case MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED_SYNC_CORE:
      p.membarrierRegistered |= cmd;
      return 0;
    case MEMBARRIER_CMD_PRIVATE_EXPEDITED:
    case MEMBARRIER_CMD_PRIVATE_EXPEDITED_SYNC_CORE:
      // Linux: EPERM unless the process registered for the command first.
      return (p.membarrierRegistered & (cmd << 1)) !== 0 ? 0 : -E.EPERM;
  }
  return -E.EINVAL;
}

/** The thread `tid` of `k`'s process (0: `k` itself), or undefined. */
export function threadOf(k: Task, tid: number): Task | undefined {
  return tid === 0 ? k : k.proc.tasks.find((t) => t.tid === tid);
}

export const threadSyscalls: SyscallDef[] = [
  {
    name: "exit",
    handler: exitThread,
    args: ["int"],
    note:
      "ends the calling thread (its clear_child_tid zeroed and woken, robust locks released); the last thread's exit ends the process",
  },
  { name: "gettid", handler: (k) => k.tid },
  {
    name: "set_tid_address",
    handler: (k, a) => {
      k.tidAddress = a[0];
      return k.tid;
    },
    args: ["ptr"],
  },
  {
    name: "set_robust_list",
    handler: (k, a) => {
      if (a[1] !== 24) return -E.EINVAL; // sizeof(struct robust_list_head)
      k.robustList = a[0];
      return 0;
    },
    args: ["ptr", "uint"],
  },
  {
    name: "get_robust_list",
    handler: (k, a) => {
      const t = threadOf(k, a[0] | 0);
      if (t === undefined) return -E.ESRCH;
      if (!k.proc.canWrite(a[1], 8) || !k.proc.canWrite(a[2], 8)) return -E.EFAULT;
      k.proc.writeU64(a[1], t.robustList);
      k.proc.writeU64(a[2], 24);
      return 0;
    },
    args: ["int", "outbuf", "outbuf"],
  },
  { name: "sched_yield", handler: schedYield },
  { name: "membarrier", handler: membarrier, args: ["int", "hex", "int"] },
];
