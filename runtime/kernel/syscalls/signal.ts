// Signal dispositions, masks, sending and waiting: the handlers. Generation and delivery are
// signal_delivery.ts, the frame signal_frame.ts.
import { hostSyscallNumber } from "../../host/syscall_numbers.ts";
import { E } from "../errno.ts";
import type { Task } from "../task.ts";
import { hostErrno, libc } from "../../host/libc.ts";
import { RESULT_SET } from "../syscall_def.ts";
import { Reg } from "../../backends/backend.ts";
import { sigreturn } from "../signal_frame.ts";
import { ignoredByDefault, SIGKILL, SIGSTOP } from "../signals.ts";
import type { SyscallDef } from "../syscall_def.ts";
import {
  maskForHandler,
  pendingChanged,
  sendSelf,
  sendSignal,
  SI_TKILL,
  SI_USER,
  signalWaiting,
  takeHostSignals,
  temporaryMask,
  UNBLOCKABLE_LO,
} from "../signal_delivery.ts";
import { hostIds } from "../../host/credentials.ts";
import { deadlineIn, ERESTARTNOHAND, Outcome } from "../wait.ts";

const UAPI_SA_FLAGS = 0x1 | 0x2 | 0x4 | 0x800 | 0x04000000 | 0x08000000 | 0x10000000 | 0x40000000 |
  0x80000000;
const SIG_BLOCK = 0, SIG_UNBLOCK = 1, SIG_SETMASK = 2;

function rtSigaction(k: Task, a: Float64Array): number {
  const sig = a[0] | 0, size = a[3];
  if (size !== 8) return -E.EINVAL;
  if (sig < 1 || sig > 64) return -E.EINVAL;
  // Slab offsets (aliases: Rosetta's image); 0 stays "none".
  const act = a[1] === 0 ? 0 : k.proc.readable(a[1], 32);
  const old = a[2] === 0 ? 0 : k.proc.writable(a[2], 32);
  if (act < 0 || old < 0) return -E.EFAULT;
  if (act !== 0 && (sig === SIGKILL || sig === SIGSTOP)) return -E.EINVAL;
  const cur = k.proc.actions[sig];
  if (old !== 0) {
    k.proc.writeU64(old, cur.handler);
    k.proc.writeU64(old + 8, cur.flags);
    k.proc.writeU64(old + 16, cur.restorer);
    k.proc.view.setUint32(old + 24, cur.maskLo, true);
    k.proc.view.setUint32(old + 28, cur.maskHi, true);
  }
  if (act !== 0) {
    cur.handler = k.proc.readU64(act);
    // Linux clears flag bits it does not know (so SA_UNSUPPORTED probes work); the known ones
    // all sit in the low word (arch/arm64 UAPI_SA_FLAGS).
    cur.flags = (k.proc.view.getUint32(act + 8, true) & UAPI_SA_FLAGS) >>> 0;
    cur.restorer = k.proc.readU64(act + 16);
    cur.maskLo = k.proc.view.getUint32(act + 24, true) & ~UNBLOCKABLE_LO;
    cur.maskHi = k.proc.view.getUint32(act + 28, true);
    k.proc.router?.disposition(sig, cur.handler);
    k.proc.syncSignals();
    // POSIX: an action that ignores the signal discards its pending instances.
    if (cur.handler === SIG_IGN || (cur.handler === 0 && ignoredByDefault.has(sig))) {
      k.proc.pending.discard(sig);
      for (const t of k.proc.tasks) t.signals.pending.discard(sig);
      pendingChanged(k.proc);
    }
  }
  return 0;
}

function rtSigprocmask(k: Task, a: Float64Array): number {
  const how = a[0] | 0, size = a[3];
  if (size !== 8) return -E.EINVAL;
  const set = a[1] === 0 ? 0 : k.proc.readable(a[1], 8);
  const old = a[2] === 0 ? 0 : k.proc.writable(a[2], 8);
  if (set < 0 || old < 0) return -E.EFAULT;
  const s = k.signals;
  if (set !== 0 && how !== SIG_BLOCK && how !== SIG_UNBLOCK && how !== SIG_SETMASK) {
    return -E.EINVAL;
  }
  if (old !== 0) {
    k.proc.view.setUint32(old, s.maskLo, true);
    k.proc.view.setUint32(old + 4, s.maskHi, true);
  }
  if (set !== 0) {
    const lo = k.proc.view.getUint32(set, true), hi = k.proc.view.getUint32(set + 4, true);
    if (how === SIG_BLOCK) {
      s.maskLo |= lo;
      s.maskHi |= hi;
    } else if (how === SIG_UNBLOCK) {
      s.maskLo &= ~lo;
      s.maskHi &= ~hi;
    } else {
      s.maskLo = lo;
      s.maskHi = hi;
    }
    s.maskLo = (s.maskLo & ~UNBLOCKABLE_LO) >>> 0;
    s.maskHi >>>= 0;
    s.wake = true;
    k.proc.syncSignals();
  }
  return 0;
}

const SS_ONSTACK = 1, SS_DISABLE = 2, SS_AUTODISARM = 0x80000000 | 0;

/**
 * sigaltstack as Linux's do_sigaltstack: the new stack is read before the old one is written
 * (they may be the same struct), a stack cannot change while the thread runs on it (EPERM), and
 * SS_DISABLE clears the stack's address and size (reported as SS_DISABLE, sp 0, size 0).
 */
function sigaltstack(k: Task, a: Float64Array): number {
  const ss = a[0], old = a[1];
  if (ss !== 0 && !k.proc.canRead(ss, 24)) return -E.EFAULT;
  if (old !== 0 && !k.proc.canWrite(old, 24)) return -E.EFAULT;
  const st = k.signals.altStack;
  const sp = k.proc.vcpu.get(Reg.SP);
  // on_sig_stack(): never with SS_AUTODISARM (the stack is disarmed while a handler uses it).
  const on = st.size !== 0 && !(st.flags & SS_AUTODISARM) && sp > st.sp && sp <= st.sp + st.size;
  const was = { ...st };
  if (ss !== 0) {
    const flags = k.proc.view.getInt32(ss + 8, true);
    const mode = flags & ~SS_AUTODISARM;
    if (on) return -E.EPERM;
    if (mode !== 0 && mode !== SS_ONSTACK && mode !== SS_DISABLE) return -E.EINVAL;
    let size = k.proc.readU64(ss + 16), stack = k.proc.readU64(ss);
    if (mode === SS_DISABLE) stack = size = 0;
    else if (size < 2048) return -E.ENOMEM; // MINSIGSTKSZ
    st.sp = stack;
    st.size = size;
    st.flags = mode === SS_DISABLE ? flags : flags & SS_AUTODISARM;
  }
  if (old !== 0) {
    const mode = was.size === 0 ? SS_DISABLE : on ? SS_ONSTACK : 0;
    k.proc.writeU64(old, was.sp);
    k.proc.view.setInt32(old + 8, mode | (was.flags & SS_AUTODISARM), true);
    k.proc.view.setInt32(old + 12, 0, true);
    k.proc.writeU64(old + 16, was.size);
  }
  return 0;
}

const SIG_IGN = 1;

function rtSigqueueinfo(k: Task, a: Float64Array): number {
  const pid = a[0] | 0, sig = a[1] | 0, info = a[2];
  if (sig < 0 || sig > 64) return -E.EINVAL;
  if (!k.proc.canRead(info, 128)) return -E.EFAULT;
  const code = k.proc.view.getInt32(info + 8, true);
  if (pid !== k.proc.pid) {
    // Linux refuses kernel-style codes from user space when the target is another process.
    if (code >= 0 || code === SI_TKILL) return -E.EPERM;
    const denied = pid > 0 ? permission(k, pid, sig) : 0;
    if (denied < 0) return denied;
    k.proc.awaitReady(pid);
    // siginfo_t has one layout on every 64-bit Linux: hand it to the host as it is.
    const nr = hostSyscallNumber("rt_sigqueueinfo") ?? 138n;
    return k.host(
      Number(
        libc.syscall6(nr, BigInt(pid), BigInt(sig), BigInt(k.proc.hostBase + info), 0n, 0n, 0n),
      ),
    );
  }
  if (overQueued(k, sig, code)) return -E.EAGAIN;
  const value = k.proc.view.getBigUint64(info + 24, true);
  return sendSelf(k, sig, code, value, k.proc.view.getInt32(info + 16, true));
}

const RLIMIT_SIGPENDING = 11, SIGRTMIN = 32;

/**
 * Whether queuing real-time signal `sig` with `code` would pass RLIMIT_SIGPENDING: Linux counts
 * queued siginfo entries (per user; here the process's) and refuses a real-time signal sent by
 * sigqueue and friends with EAGAIN; kill's (SI_USER) and the kernel's go through regardless, and
 * a standard signal is then pending without its siginfo.
 */
function overQueued(k: Task, sig: number, code: number): boolean {
  if (sig < SIGRTMIN || code >= 0) return false;
  const limit = k.proc.rlimits[RLIMIT_SIGPENDING][0];
  if (limit === Infinity) return false;
  let queued = k.proc.pending.queue.reduce((n, q) => n + q.length, 0);
  for (const t of k.proc.tasks) queued += t.signals.pending.queue.reduce((n, q) => n + q.length, 0);
  return queued >= limit && !ignoredNow(k, sig);
}

/** Whether `sig` would be discarded (ignored and not blocked): it queues nothing then. */
function ignoredNow(k: Task, sig: number): boolean {
  return k.proc.actions[sig].handler === SIG_IGN && !k.blocks(sig);
}

/** rt_sigsuspend: wait, with `mask` blocked, for a signal that runs a handler (then EINTR). */
function rtSigsuspend(k: Task, a: Float64Array): number {
  const mask = temporaryMask(k, a[0], a[1]);
  if (typeof mask === "number") return mask;
  if (mask === undefined) return a[1] !== 8 ? -E.EINVAL : -E.EFAULT; // NULL is no mask here
  if (k.resumed() === undefined && !signalWaiting(k, mask)) {
    const r = k.block({ mask });
    k.proc.syncSignals();
    return r;
  }
  maskForHandler(k, mask);
  k.signals.wake = true;
  return -ERESTARTNOHAND;
}

/**
 * Whether this process may signal process `pid` by its emulated ids (credentials.ts; Linux
 * check_kill_permission): the host then checks its own. SIGCONT within the session is always
 * allowed. A root guest (the plain case as root) and a guest with the host's ids as a user other
 * than root (the host's check is the same) read nothing.
 */
function permission(k: Task, pid: number, sig: number): number {
  const c = k.proc.creds;
  if (c.privileged || (c.asHost && hostIds().euid !== 0)) return 0;
  if (c.maySignal(c.peer(pid))) return 0;
  if (sig === 18 && libc.getsid(pid) === libc.getsid(0)) return 0;
  // A process that does not exist is ESRCH first (Linux looks it up before checking).
  return libc.kill(pid, 0) !== 0 && hostErrno() === E.ESRCH ? -E.ESRCH : -E.EPERM;
}

function kill(k: Task, a: Float64Array): number {
  const pid = a[0] | 0, sig = a[1] | 0;
  if (sig < 0 || sig > 64) return -E.EINVAL;
  if (pid === k.proc.pid) return sendSelf(k, sig, SI_USER);
  // "Every process" would be every host process of the user (all of them, as root): keep it to
  // the guest itself. A process group (0 or -pgid) is the host's: guest pids are host pids, and
  // this process receives its own share through the signal router.
  if (pid === -1) return sendSelf(k, sig, SI_USER);
  const denied = pid > 0 ? permission(k, pid, sig) : 0;
  if (denied < 0) return denied;
  if (sig !== 0) k.proc.awaitReady(pid);
  const r = k.host(libc.kill(pid, sig));
  // Our own group includes us, and Linux makes the signal pending before kill returns: wait for
  // the listener to record it, so that unblocking it next runs the handler (kill(2)).
  if (r === 0 && sig !== 0 && (pid === 0 || -pid === libc.getpgid(0))) {
    if (k.proc.router?.arrival(sig)) takeHostSignals(k.proc);
  }
  return r;
}

function tgkill(k: Task, tgid: number, tid: number, sig: number): number {
  if (sig < 0 || sig > 64 || tid <= 0 || tgid === 0 || tgid < -1) return -E.EINVAL;
  if (tgid !== -1 && tgid !== k.proc.pid) return -E.ESRCH;
  const t = k.proc.tasks.find((t) => t.tid === tid);
  if (t === undefined) return -E.ESRCH;
  if (sig !== 0) {
    sendSignal(
      k.proc,
      sig,
      { code: SI_TKILL, pid: k.proc.pid, uid: k.proc.creds.uid, value: 0n },
      t,
    );
  }
  return 0;
}

function rtSigpending(k: Task, a: Float64Array): number {
  if (a[1] !== 8) return -E.EINVAL;
  if (!k.proc.canWrite(a[0], 8)) return -E.EFAULT;
  // Pending for the thread or its process, and blocked (anything else would be delivered).
  const s = k.signals, p = k.proc.pending;
  k.proc.view.setUint32(a[0], ((s.pending.lo | p.lo) & s.maskLo) >>> 0, true);
  k.proc.view.setUint32(a[0] + 4, ((s.pending.hi | p.hi) & s.maskHi) >>> 0, true);
  return 0;
}

/** Takes the lowest pending signal of `set` (the thread's own first), or 0. */
function takeFromSet(k: Task, lo: number, hi: number, info: number): number {
  const view = k.proc.view;
  for (const queue of [k.signals.pending, k.proc.pending]) {
    const sig = queue.firstUnblocked(~lo >>> 0, ~hi >>> 0);
    if (sig === 0) continue;
    const si = queue.dequeue(sig) ?? { code: SI_USER, pid: 0, uid: 0, value: 0n };
    pendingChanged(k.proc);
    if (info !== 0) {
      k.proc.mem.fill(0, info, info + 128);
      view.setInt32(info, sig, true);
      view.setInt32(info + 8, si.code, true);
      view.setInt32(info + 16, si.pid, true);
      view.setUint32(info + 20, si.uid, true);
      view.setBigUint64(info + 24, si.value, true);
    }
    return sig;
  }
  return 0;
}

function rtSigtimedwait(k: Task, a: Float64Array): number {
  const set = a[0], info = a[1], timeout = a[2];
  if (a[3] !== 8) return -E.EINVAL;
  if (!k.proc.canRead(set, 8)) return -E.EFAULT;
  if (info !== 0 && !k.proc.canWrite(info, 128)) return -E.EFAULT;
  let ns = Infinity;
  if (timeout !== 0) {
    if (!k.proc.canRead(timeout, 16)) return -E.EFAULT;
    const sec = k.proc.readI64(timeout), nsec = k.proc.readI64(timeout + 8);
    if (sec < 0 || nsec < 0 || nsec >= 1e9) return -E.EINVAL;
    ns = sec * 1e9 + nsec;
  }
  const lo = k.proc.view.getUint32(set, true) & ~UNBLOCKABLE_LO;
  const hi = k.proc.view.getUint32(set + 4, true);
  const sig = takeFromSet(k, lo, hi, info);
  if (sig !== 0) return sig;
  const w = k.resumed();
  if (w?.outcome === Outcome.Timeout || ns === 0) return -E.EAGAIN;
  // Another signal's handler runs (do_sigtimedwait returns -EINTR; it is not restarted).
  if (w?.outcome === Outcome.Signal) return -E.EINTR;
  // While it waits the set is unblocked, so a signal of the set sent to the process comes here.
  const s = k.signals;
  return k.block({
    sigset: [lo, hi],
    mask: [(s.maskLo & ~lo) >>> 0, (s.maskHi & ~hi) >>> 0],
    deadline: w?.deadline ?? deadlineIn(ns),
  });
}

/** rt_tgsigqueueinfo: a signal with the caller's siginfo to one thread of this process. */
function rtTgsigqueueinfo(k: Task, a: Float64Array): number {
  const tgid = a[0] | 0, tid = a[1] | 0, sig = a[2] | 0, info = a[3];
  if (sig < 0 || sig > 64 || tid <= 0 || tgid <= 0) return -E.EINVAL;
  if (!k.proc.canRead(info, 128)) return -E.EFAULT;
  if (tgid !== k.proc.pid) return -E.ESRCH; // another process's threads are not reachable
  const t = k.proc.tasks.find((t) => t.tid === tid);
  if (t === undefined) return -E.ESRCH;
  const v = k.proc.view;
  if (sig !== 0 && overQueued(k, sig, v.getInt32(info + 8, true))) return -E.EAGAIN;
  if (sig !== 0) {
    sendSignal(k.proc, sig, {
      code: v.getInt32(info + 8, true),
      pid: v.getInt32(info + 16, true),
      uid: v.getUint32(info + 20, true),
      value: v.getBigUint64(info + 24, true),
    }, t);
  }
  return 0;
}

export const signalSyscalls: SyscallDef[] = [
  {
    name: "kill",
    handler: kill,
    args: ["int", "signal"],
    status: "partial",
    note:
      "guest pids are host pids: other processes and groups are signalled by the host; -1 (every process) reaches only the guest itself",
  },
  {
    name: "tkill",
    handler: (k, a) => tgkill(k, -1, a[0] | 0, a[1] | 0),
    args: ["int", "signal"],
    status: "partial",
    note: "a thread of this process; other processes' threads give ESRCH",
  },
  {
    name: "tgkill",
    handler: (k, a) => tgkill(k, a[0] | 0, a[1] | 0, a[2] | 0),
    args: ["int", "int", "signal"],
    status: "partial",
    note: "as tkill",
  },
  {
    name: "rt_tgsigqueueinfo",
    handler: rtTgsigqueueinfo,
    args: ["int", "int", "signal", "ptr"],
    status: "partial",
    note: "as tkill, with the caller's siginfo",
  },
  { name: "rt_sigpending", handler: rtSigpending, args: ["outbuf", "uint"] },
  {
    name: "rt_sigreturn",
    handler: (k) => {
      if (sigreturn(k)) return RESULT_SET;
      k.proc.killedBy(11, true); // a corrupt frame: Linux forces SIGSEGV
      return RESULT_SET;
    },
  },
  { name: "rt_sigsuspend", handler: rtSigsuspend, args: ["ptr", "uint"] },
  {
    name: "rt_sigqueueinfo",
    handler: rtSigqueueinfo,
    args: ["int", "signal", "ptr"],
    status: "partial",
    note: "other processes get the siginfo through the host (user-space codes only, as Linux); " +
      "RLIMIT_SIGPENDING counts the process's own queued signals (EAGAIN)",
  },
  { name: "rt_sigtimedwait", handler: rtSigtimedwait, args: ["ptr", "outbuf", "ptr", "uint"] },
  {
    name: "rt_sigaction",
    handler: rtSigaction,
    args: ["signal", "ptr", "ptr", "uint"],
    status: "partial",
    note:
      "stop signals are taken as ignored (no job control yet), so SA_NOCLDSTOP has nothing to suppress",
  },
  { name: "rt_sigprocmask", handler: rtSigprocmask, args: ["int", "ptr", "ptr", "uint"] },
  { name: "sigaltstack", handler: sigaltstack, args: ["ptr", "ptr"] },
];
