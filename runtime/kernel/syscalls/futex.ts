// futex(2) and futex_waitv(2) for the threads of a process, which take turns on its one vCPU
// (scheduler.ts): a waiter parks on the wait queue of its word (Process.futexes, FIFO) and
// FUTEX_WAKE moves waiters to the run queue, so no host futex is involved. A word in memory other
// processes share is also watched by the scheduler (their wakes cannot reach this process).
// PI futexes keep Linux's word protocol (owner TID, FUTEX_WAITERS, FUTEX_OWNER_DIED) and hand the
// lock to the first waiter on unlock; with one vCPU there are no priorities to inherit.
import { E } from "../errno.ts";
import type { Process } from "../process.ts";
import type { Task } from "../task.ts";
import { TaskState } from "../task.ts";
import type { SyscallDef } from "../syscall_def.ts";
import { Slot } from "../scratch.ts";
import {
  deadlineAt,
  deadlineIn,
  ERESTART_RESTARTBLOCK,
  ERESTARTNOINTR,
  ERESTARTSYS,
  Outcome,
} from "../wait.ts";

const FUTEX_WAIT = 0, FUTEX_WAKE = 1, FUTEX_REQUEUE = 3, FUTEX_CMP_REQUEUE = 4;
const FUTEX_WAKE_OP = 5, FUTEX_LOCK_PI = 6, FUTEX_UNLOCK_PI = 7, FUTEX_TRYLOCK_PI = 8;
const FUTEX_WAIT_BITSET = 9, FUTEX_WAKE_BITSET = 10, FUTEX_WAIT_REQUEUE_PI = 11;
const FUTEX_CMP_REQUEUE_PI = 12, FUTEX_LOCK_PI2 = 13;
const FUTEX_PRIVATE = 128, FUTEX_CLOCK_REALTIME = 256;
const CLOCK_REALTIME = 0, CLOCK_MONOTONIC = 1;
const BITSET_ANY = 0xffffffff;
/** The PI word: owner TID, and flags (linux/futex.h). */
export const FUTEX_WAITERS = 0x80000000, FUTEX_OWNER_DIED = 0x40000000;
export const FUTEX_TID_MASK = 0x3fffffff;
const FUTEX_WAITV_MAX = 128, FUTEX_32 = 2;

/** The word at `addr` is in memory shared with other processes. */
function isShared(proc: Process, addr: number): boolean {
  return proc.as.vmas.find(addr)?.shared === true;
}

function word(proc: Process, addr: number): number {
  return proc.view.getUint32(addr, true);
}

/** A guest timespec's deadline: relative, or absolute on `clock`; -errno when invalid. */
function timeoutArg(k: Task, addr: number, absolute: boolean, clock: number): number {
  if (addr === 0) return Infinity;
  const p = k.proc;
  if (!p.canRead(addr, 16)) return -E.EFAULT;
  const sec = p.readI64(addr), nsec = p.readI64(addr + 8);
  if (sec < 0 || nsec < 0 || nsec >= 1e9) return -E.EINVAL;
  return absolute
    ? deadlineAt(clock, sec, nsec, k.rt.scratch, Slot.TIMESPEC)
    : deadlineIn(sec * 1e9 + nsec);
}

/** Queues `k` on `addrs` and parks it. */
function enqueue(k: Task, addrs: number[], w: Parameters<Task["block"]>[0]): number {
  const r = k.block({ ...w, futex: addrs });
  for (const a of addrs) {
    const q = k.proc.futexes.get(a);
    if (q === undefined) k.proc.futexes.set(a, [k]);
    else q.push(k);
  }
  return r;
}

/** Ends the wait of up to `n` waiters on `addr` whose bitset meets `bitset`; returns how many. */
export function futexWake(proc: Process, addr: number, n: number, bitset = BITSET_ANY): number {
  const q = proc.futexes.get(addr);
  if (q === undefined) return 0;
  let woken = 0;
  for (const t of [...q]) {
    if (woken >= n) break;
    const w = t.wait;
    if (t.state !== TaskState.Blocked || w === undefined || w.pi) continue;
    if (((w.bitset ?? BITSET_ANY) & bitset) === 0) continue;
    w.woke = w.futex!.indexOf(addr);
    proc.wake(t, Outcome.Ready);
    woken++;
  }
  return woken;
}

/** Moves up to `n` waiters of `from` to `to`'s queue (as PI waiters when `pi`); returns how many. */
function requeue(proc: Process, from: number, to: number, n: number, pi = false): number {
  const q = proc.futexes.get(from);
  if (q === undefined || n <= 0) return 0;
  let moved = 0;
  const dest = proc.futexes.get(to) ?? [];
  for (const t of [...q]) {
    if (moved >= n) break;
    const w = t.wait!;
    q.splice(q.indexOf(t), 1);
    w.futex = w.futex!.map((a) => (a === from ? to : a));
    if (pi) w.pi = true;
    dest.push(t);
    moved++;
  }
  if (q.length === 0) proc.futexes.delete(from);
  if (dest.length > 0) proc.futexes.set(to, dest);
  return moved;
}

/** FUTEX_WAIT / FUTEX_WAIT_BITSET: park while the word holds `val`. */
function wait(k: Task, uaddr: number, val: number, timeout: number, bitset: number): number {
  const w = k.resumed();
  if (w !== undefined) {
    if (w.outcome === Outcome.Ready) return 0;
    if (w.outcome === Outcome.Timeout) return -E.ETIMEDOUT;
    // A handler runs: Linux restarts the wait after one with SA_RESTART (no timeout), or with
    // the time left (restart_block), else fails it with EINTR.
    return w.deadline === Infinity ? -ERESTARTSYS : -ERESTART_RESTARTBLOCK;
  }
  if (timeout < 0) return timeout;
  if (bitset === 0) return -E.EINVAL;
  const p = k.proc;
  if (!p.canRead(uaddr, 4)) return -E.EFAULT;
  const v = word(p, uaddr);
  if (v !== val >>> 0) return -E.EAGAIN;
  return enqueue(k, [uaddr], {
    bitset,
    deadline: timeout,
    shared: isShared(p, uaddr) ? [v | 0] : undefined,
  });
}

/** FUTEX_WAKE_OP's update of the second word and its comparison (linux/futex.h encoding). */
function wakeOp(
  k: Task,
  uaddr: number,
  n: number,
  uaddr2: number,
  n2: number,
  enc: number,
): number {
  const p = k.proc;
  if (!p.canWrite(uaddr2, 4)) return -E.EFAULT;
  const op = (enc >>> 28) & 7, shift = (enc >>> 31) & 1, cmp = (enc >>> 24) & 15;
  let oparg = (enc << 8) >> 20; // sign-extended 12 bits
  const cmparg = (enc << 20) >> 20;
  if (shift) oparg = 1 << (oparg & 31);
  const old = p.view.getInt32(uaddr2, true);
  const next = [oparg, old + oparg, old | oparg, old & ~oparg, old ^ oparg][op];
  if (next === undefined) return -E.ENOSYS;
  const hit =
    [old === cmparg, old !== cmparg, old < cmparg, old <= cmparg, old > cmparg, old >= cmparg][cmp];
  if (hit === undefined) return -E.ENOSYS;
  p.view.setInt32(uaddr2, next | 0, true);
  return futexWake(p, uaddr, n) + (hit ? futexWake(p, uaddr2, n2) : 0);
}

/**
 * Whether `tid` can own the PI lock at `uaddr`: one of this process's threads, or (for a word in
 * shared memory) another process's thread, which cannot be looked up from here.
 */
function ownerAlive(p: Process, tid: number, uaddr: number): boolean {
  return p.tasks.some((t) => t.tid === tid) || isShared(p, uaddr);
}

/** Takes the PI lock at `uaddr` for `k` if nobody owns it: 0, or -errno (EAGAIN when owned). */
function takePi(k: Task, uaddr: number): number {
  const p = k.proc;
  if (!p.canWrite(uaddr, 4)) return -E.EFAULT;
  const v = word(p, uaddr), owner = v & FUTEX_TID_MASK;
  if (owner === k.tid) return -E.EDEADLK;
  if (owner === 0) {
    const waiters = (p.futexes.get(uaddr)?.length ?? 0) > 0 ? FUTEX_WAITERS : 0;
    p.view.setUint32(uaddr, (k.tid | (v & FUTEX_OWNER_DIED) | waiters) >>> 0, true);
    return 0;
  }
  if (!ownerAlive(p, owner, uaddr)) return -E.ESRCH;
  return -E.EAGAIN;
}

function lockPi(k: Task, uaddr: number, timeout: number, trylock: boolean): number {
  const w = k.resumed();
  if (w !== undefined) {
    if (w.outcome === Outcome.Ready) return 0; // the unlocking thread made it the owner
    if (w.outcome === Outcome.Timeout) return -E.ETIMEDOUT;
    return -ERESTARTNOINTR; // futex_lock_pi restarts after any handler
  }
  if (timeout < 0) return timeout;
  if (uaddr % 4 !== 0) return -E.EINVAL;
  const r = takePi(k, uaddr);
  if (r !== -E.EAGAIN || trylock) return r;
  const p = k.proc;
  p.view.setUint32(uaddr, (word(p, uaddr) | FUTEX_WAITERS) >>> 0, true);
  return enqueue(k, [uaddr], { pi: true, deadline: timeout });
}

function unlockPi(k: Task, uaddr: number): number {
  const p = k.proc;
  if (uaddr % 4 !== 0) return -E.EINVAL;
  if (!p.canWrite(uaddr, 4)) return -E.EFAULT;
  if ((word(p, uaddr) & FUTEX_TID_MASK) !== k.tid) return -E.EPERM;
  handOver(p, uaddr, 0);
  return 0;
}

/**
 * Gives the PI lock at `uaddr` to its first waiter, or frees it, with `flags` (FUTEX_OWNER_DIED
 * when its owner died holding it); the waiter's FUTEX_LOCK_PI returns 0.
 */
function handOver(p: Process, uaddr: number, flags: number): void {
  const q = (p.futexes.get(uaddr) ?? []).filter((t) =>
    t.state === TaskState.Blocked && t.wait?.pi === true
  );
  const next = q[0];
  if (next === undefined) {
    p.view.setUint32(uaddr, flags >>> 0, true);
    return;
  }
  p.view.setUint32(uaddr, (next.tid | flags | (q.length > 1 ? FUTEX_WAITERS : 0)) >>> 0, true);
  p.wake(next, Outcome.Ready);
}

/** FUTEX_WAIT_REQUEUE_PI: wait on `uaddr` to be requeued onto the PI lock `uaddr2` and own it. */
function waitRequeuePi(k: Task, uaddr: number, val: number, timeout: number, uaddr2: number) {
  const w = k.resumed();
  if (w !== undefined) {
    if (w.outcome === Outcome.Ready) return 0; // owns uaddr2
    if (w.outcome === Outcome.Timeout) return -E.ETIMEDOUT;
    // Not yet requeued: restart; requeued already: EAGAIN, as futex_wait_requeue_pi does.
    return w.pi ? -E.EAGAIN : -ERESTARTSYS;
  }
  if (timeout < 0) return timeout;
  if (uaddr === uaddr2) return -E.EINVAL;
  const p = k.proc;
  if (!p.canRead(uaddr, 4) || !p.canWrite(uaddr2, 4)) return -E.EFAULT;
  if (word(p, uaddr) !== val >>> 0) return -E.EAGAIN;
  const r = enqueue(k, [uaddr], { deadline: timeout });
  k.wait!.requeuePi = uaddr2;
  return r;
}

/** FUTEX_CMP_REQUEUE_PI: wake one waiter into owning `uaddr2` if free, requeue the others onto it. */
function cmpRequeuePi(
  k: Task,
  uaddr: number,
  nWake: number,
  nRequeue: number,
  uaddr2: number,
  val3: number,
) {
  const p = k.proc;
  if (nWake !== 1 || uaddr === uaddr2) return -E.EINVAL;
  if (!p.canRead(uaddr, 4) || !p.canWrite(uaddr2, 4)) return -E.EFAULT;
  if (word(p, uaddr) !== val3 >>> 0) return -E.EAGAIN;
  const q = (p.futexes.get(uaddr) ?? []).filter((t) => t.state === TaskState.Blocked);
  if (q.some((t) => t.wait!.requeuePi !== uaddr2)) return -E.EINVAL;
  let done = 0;
  const top = q[0];
  if (top !== undefined) {
    const v = word(p, uaddr2);
    if ((v & FUTEX_TID_MASK) === 0) {
      p.view.setUint32(uaddr2, (top.tid | (v & FUTEX_OWNER_DIED)) >>> 0, true);
      p.wake(top, Outcome.Ready);
      done++;
    }
  }
  const moved = requeue(p, uaddr, uaddr2, done === 0 ? nRequeue + 1 : nRequeue, true);
  if (moved > 0) p.view.setUint32(uaddr2, (word(p, uaddr2) | FUTEX_WAITERS) >>> 0, true);
  return done + moved;
}

function futex(k: Task, a: Float64Array): number {
  const uaddr = a[0], op = a[1] | 0, val = a[2] | 0, uaddr2 = a[4], val3 = a[5] | 0;
  const cmd = op & ~(FUTEX_PRIVATE | FUTEX_CLOCK_REALTIME);
  const realtime = (op & FUTEX_CLOCK_REALTIME) !== 0;
  if (
    realtime && cmd !== FUTEX_WAIT && cmd !== FUTEX_WAIT_BITSET &&
    cmd !== FUTEX_WAIT_REQUEUE_PI && cmd !== FUTEX_LOCK_PI2
  ) return -E.ENOSYS;
  if (uaddr % 4 !== 0) return -E.EINVAL;
  const clock = realtime ? CLOCK_REALTIME : CLOCK_MONOTONIC;
  // The timeout argument doubles as val2, a count, for the requeue and wake-op commands.
  const val2 = a[3] > 0x7fffffff ? 0x7fffffff : a[3] | 0;
  const p = k.proc;
  switch (cmd) {
    case FUTEX_WAIT:
      return wait(k, uaddr, val, timeoutArg(k, a[3], false, clock), BITSET_ANY);
    case FUTEX_WAIT_BITSET:
      return wait(k, uaddr, val, timeoutArg(k, a[3], true, clock), val3 >>> 0);
    case FUTEX_WAKE:
      return futexWake(p, uaddr, val);
    case FUTEX_WAKE_BITSET:
      return val3 === 0 ? -E.EINVAL : futexWake(p, uaddr, val, val3 >>> 0);
    case FUTEX_REQUEUE:
    case FUTEX_CMP_REQUEUE: {
      if (val < 0 || val2 < 0) return -E.EINVAL;
      if (!p.canRead(uaddr, 4)) return -E.EFAULT;
      if (cmd === FUTEX_CMP_REQUEUE && word(p, uaddr) !== val3 >>> 0) return -E.EAGAIN;
      const woken = futexWake(p, uaddr, val);
      return woken + requeue(p, uaddr, uaddr2, val2);
    }
    case FUTEX_WAKE_OP:
      return wakeOp(k, uaddr, val, uaddr2, val2, val3);
    case FUTEX_LOCK_PI:
      return lockPi(k, uaddr, timeoutArg(k, a[3], true, CLOCK_REALTIME), false);
    case FUTEX_LOCK_PI2:
      return lockPi(k, uaddr, timeoutArg(k, a[3], true, clock), false);
    case FUTEX_TRYLOCK_PI:
      return lockPi(k, uaddr, Infinity, true);
    case FUTEX_UNLOCK_PI:
      return unlockPi(k, uaddr);
    case FUTEX_WAIT_REQUEUE_PI:
      return waitRequeuePi(k, uaddr, val, timeoutArg(k, a[3], true, clock), uaddr2);
    case FUTEX_CMP_REQUEUE_PI:
      return cmpRequeuePi(k, uaddr, val, val2, uaddr2, val3);
  }
  return -E.ENOSYS; // FUTEX_FD (gone since Linux 2.6.26) and unknown commands
}

/** futex_waitv(waiters, nr, flags, timeout, clockid): wait on several words; the index woken. */
function futexWaitv(k: Task, a: Float64Array): number {
  const w = k.resumed();
  if (w !== undefined) {
    if (w.outcome === Outcome.Ready) return w.woke ?? 0;
    if (w.outcome === Outcome.Timeout) return -E.ETIMEDOUT;
    return -ERESTARTSYS;
  }
  const list = a[0], nr = a[1] | 0, flags = a[2] | 0, timeout = a[3], clock = a[4] | 0;
  if (flags !== 0 || nr <= 0 || nr > FUTEX_WAITV_MAX) return -E.EINVAL;
  if (clock !== CLOCK_REALTIME && clock !== CLOCK_MONOTONIC) return -E.EINVAL;
  const p = k.proc;
  if (!p.canRead(list, nr * 24)) return -E.EFAULT;
  const deadline = timeoutArg(k, timeout, true, clock);
  if (deadline < 0) return deadline;
  const addrs: number[] = [], shared: (number | undefined)[] = [];
  for (let i = 0; i < nr; i++) {
    const e = list + i * 24; // struct futex_waitv { u64 val; u64 uaddr; u32 flags; u32 reserved; }
    const val = p.readU64(e), uaddr = p.readU64(e + 8), f = p.view.getUint32(e + 16, true);
    if (p.view.getUint32(e + 20, true) !== 0) return -E.EINVAL;
    if ((f & ~(FUTEX_32 | FUTEX_PRIVATE)) !== 0 || (f & 3) !== FUTEX_32) return -E.EINVAL;
    if (uaddr % 4 !== 0) return -E.EINVAL;
    if (!p.canRead(uaddr, 4)) return -E.EFAULT;
    const v = word(p, uaddr);
    if (v !== val) return -E.EAGAIN;
    addrs.push(uaddr);
    shared.push(isShared(p, uaddr) ? v | 0 : undefined);
  }
  return enqueue(k, addrs, {
    deadline,
    shared: shared.some((v) => v !== undefined) ? shared : undefined,
  });
}

export const futexSyscalls: SyscallDef[] = [
  {
    name: "futex",
    handler: futex,
    args: ["hex", "hex", "int", "ptr", "hex", "hex"],
    status: "partial",
    note:
      "every command but FUTEX_FD; waiters queue in the process (threads share one vCPU); a word in memory shared with another process is also watched every 2 ms, since that process's FUTEX_WAKE cannot reach this one; PI ops keep the word protocol without priorities",
  },
  {
    name: "futex_waitv",
    handler: futexWaitv,
    args: ["ptr", "uint", "hex", "ptr", "int"],
  },
];

/** FUTEX_UNLOCK_PI's hand-over, for a dying owner's robust list (threads.ts). */
export { handOver as handOverPiLock };
