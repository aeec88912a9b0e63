// Signal dispositions and masks (recorded state; delivery comes with processes).
import { E } from "../errno.ts";
import type { Kernel } from "../kernel.ts";
import { libc, Scratch } from "../../host/libc.ts";
import { RESULT_SET } from "../kernel.ts";
import { Reg } from "../../backends/backend.ts";
import { setupFrame, sigreturn } from "../signal_frame.ts";
import {
  coreSignals,
  ignoredByDefault,
  type SigInfo,
  SIGKILL,
  SIGSTOP,
  stopSignals,
} from "../signals.ts";
import type { SyscallDef } from "../syscall_def.ts";
import { hostIds } from "../../host/credentials.ts";

const UAPI_SA_FLAGS = 0x1 | 0x2 | 0x4 | 0x800 | 0x04000000 | 0x08000000 | 0x10000000 | 0x40000000 |
  0x80000000;
const SIG_BLOCK = 0, SIG_UNBLOCK = 1, SIG_SETMASK = 2;
// SIGKILL and SIGSTOP can never be blocked: bits 8 and 18 of the low word.
const UNBLOCKABLE_LO = (1 << (SIGKILL - 1)) | (1 << (SIGSTOP - 1));

function rtSigaction(k: Kernel, a: Float64Array): number {
  const sig = a[0] | 0, act = a[1], old = a[2], size = a[3];
  if (size !== 8) return -E.EINVAL;
  if (sig < 1 || sig > 64) return -E.EINVAL;
  if (act !== 0 && !k.canRead(act, 32)) return -E.EFAULT;
  if (old !== 0 && !k.canWrite(old, 32)) return -E.EFAULT;
  if (act !== 0 && (sig === SIGKILL || sig === SIGSTOP)) return -E.EINVAL;
  const cur = k.signals.actions[sig];
  if (old !== 0) {
    k.writeU64(old, cur.handler);
    k.writeU64(old + 8, cur.flags);
    k.writeU64(old + 16, cur.restorer);
    k.view.setUint32(old + 24, cur.maskLo, true);
    k.view.setUint32(old + 28, cur.maskHi, true);
  }
  if (act !== 0) {
    cur.handler = k.readU64(act);
    // Linux clears flag bits it does not know (so SA_UNSUPPORTED probes work); the known ones
    // all sit in the low word (arch/arm64 UAPI_SA_FLAGS).
    cur.flags = (k.view.getUint32(act + 8, true) & UAPI_SA_FLAGS) >>> 0;
    cur.restorer = k.readU64(act + 16);
    cur.maskLo = k.view.getUint32(act + 24, true) & ~UNBLOCKABLE_LO;
    cur.maskHi = k.view.getUint32(act + 28, true);
    k.router?.disposition(sig, cur.handler);
    k.syncSignals();
    // POSIX: an action that ignores the signal discards its pending instances.
    if (cur.handler === SIG_IGN || (cur.handler === 0 && ignoredByDefault.has(sig))) {
      while (k.signals.isPending(sig)) k.signals.dequeue(sig);
    }
  }
  return 0;
}

function rtSigprocmask(k: Kernel, a: Float64Array): number {
  const how = a[0] | 0, set = a[1], old = a[2], size = a[3];
  if (size !== 8) return -E.EINVAL;
  if (set !== 0 && !k.canRead(set, 8)) return -E.EFAULT;
  if (old !== 0 && !k.canWrite(old, 8)) return -E.EFAULT;
  const s = k.signals;
  if (set !== 0 && how !== SIG_BLOCK && how !== SIG_UNBLOCK && how !== SIG_SETMASK) {
    return -E.EINVAL;
  }
  if (old !== 0) {
    k.view.setUint32(old, s.maskLo, true);
    k.view.setUint32(old + 4, s.maskHi, true);
  }
  if (set !== 0) {
    const lo = k.view.getUint32(set, true), hi = k.view.getUint32(set + 4, true);
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
    k.syncSignals();
  }
  return 0;
}

function sigaltstack(k: Kernel, a: Float64Array): number {
  const ss = a[0], old = a[1];
  if (ss !== 0 && !k.canRead(ss, 24)) return -E.EFAULT;
  if (old !== 0 && !k.canWrite(old, 24)) return -E.EFAULT;
  const st = k.signals.altStack;
  if (old !== 0) {
    // SS_ONSTACK while the guest runs on the alternate stack (Linux's on_sig_stack()).
    const sp = k.vcpu.get(Reg.SP);
    const on = st.flags !== 2 && sp > st.sp && sp <= st.sp + st.size;
    k.writeU64(old, st.sp);
    k.view.setInt32(old + 8, on ? 1 : st.flags, true);
    k.view.setInt32(old + 12, 0, true);
    k.writeU64(old + 16, st.size);
  }
  if (ss !== 0) {
    const flags = k.view.getInt32(ss + 8, true);
    if ((flags & ~(2 | 0x80000000)) !== 0) return -E.EINVAL; // SS_DISABLE, SS_AUTODISARM
    const size = k.readU64(ss + 16);
    if (!(flags & 2) && size < 2048) return -E.ENOMEM; // MINSIGSTKSZ on arm64 Linux
    st.sp = k.readU64(ss);
    st.flags = flags;
    st.size = size;
  }
  return 0;
}

const SI_USER = 0, SI_TKILL = -6;
const SIG_IGN = 1;

/**
 * The action of an unblocked signal sent to this process. Default actions are carried out;
 * a caught signal needs a signal frame, which comes with signal delivery: ENOSYS until then.
 */
function act(k: Kernel, sig: number, info?: SigInfo): number {
  const h = k.signals.actions[sig].handler;
  if (h === SIG_IGN) return 0;
  if (h > SIG_IGN) {
    // Caught: queue it; it is delivered when this syscall returns (deliverPending).
    k.signals.enqueue(sig, info ?? { code: SI_USER, pid: k.pid, uid: hostIds().uid, value: 0n });
    return 0;
  }
  if (h === 0) {
    if (ignoredByDefault.has(sig)) return 0;
    // Stopping is approximated as ignoring until job control exists (a stopped single-process
    // guest could never be continued).
    if (stopSignals.has(sig)) return 0;
    k.killedBy(sig, coreSignals.has(sig));
    return 0;
  }
  return -E.ENOSYS;
}

/** Sends `sig` to this process: queued while blocked, else its action is taken. */
export function sendSelf(k: Kernel, sig: number, code: number, value = 0n, pid = k.pid): number {
  if (sig === 0) return 0;
  const s = k.signals;
  if (s.isBlocked(sig) && sig !== SIGKILL && sig !== SIGSTOP) {
    s.enqueue(sig, { code, pid, uid: hostIds().uid, value });
    return 0;
  }
  return act(k, sig, { code, pid, uid: hostIds().uid, value });
}

function rtSigqueueinfo(k: Kernel, a: Float64Array): number {
  const pid = a[0] | 0, sig = a[1] | 0, info = a[2];
  if (sig < 0 || sig > 64) return -E.EINVAL;
  if (!k.canRead(info, 128)) return -E.EFAULT;
  const code = k.view.getInt32(info + 8, true);
  if (pid !== k.pid) {
    // Linux refuses kernel-style codes from user space when the target is another process.
    if (code >= 0 || code === SI_TKILL) return -E.EPERM;
    // siginfo_t has one layout on every 64-bit Linux: hand it to the host as it is.
    const nr = Deno.build.arch === "x86_64" ? 129n : 138n; // rt_sigqueueinfo
    return k.host(
      Number(libc.syscall6(nr, BigInt(pid), BigInt(sig), BigInt(k.hostBase + info), 0n, 0n, 0n)),
    );
  }
  const value = k.view.getBigUint64(info + 24, true);
  return sendSelf(k, sig, code, value, k.view.getInt32(info + 16, true));
}

/**
 * Runs when a syscall returns with `signals.wake` set: the lowest pending, unblocked signal is
 * delivered to its handler (one frame; the next waits for the next syscall return), and pending
 * signals whose action is a default one take it.
 */
export function deliverPending(k: Kernel): void {
  const s = k.signals;
  s.wake = false;
  for (let sig = 1; sig <= 64 && k.exitStatus === undefined; sig++) {
    if (!s.isPending(sig) || s.isBlocked(sig)) continue;
    if (s.actions[sig].handler > SIG_IGN) {
      const info = s.dequeue(sig)!;
      if (!setupFrame(k, sig, info)) k.killedBy(11, true); // no room for the frame: SIGSEGV
      k.syncSignals(); // the handler runs with sa_mask blocked
      s.wake = true; // more may be pending: look again at the next syscall return
      return;
    }
    while (s.isPending(sig)) s.dequeue(sig);
    act(k, sig);
  }
  if (s.savedMask !== undefined) {
    [s.maskLo, s.maskHi] = s.savedMask; // rt_sigsuspend woke for nothing that needed a frame
    s.savedMask = undefined;
    k.syncSignals();
  }
}

/** Syscalls Linux restarts after a handler with SA_RESTART (they fail with -ERESTARTSYS). */
const RESTARTABLE = new Set([
  29, // ioctl
  63,
  64,
  65,
  66,
  67,
  68,
  69,
  70, // read, write, readv, writev, pread64, pwrite64, preadv, pwritev
  25, // fcntl (F_SETLKW)
  32, // flock
  56, // openat (a FIFO)
  95,
  260, // waitid, wait4
  71,
  285, // sendfile, copy_file_range
]);
const SA_RESTART = 0x10000000;
const SI_KERNEL = 0x80;

/**
 * Host signals arrived (signal_router.ts): queue them for the guest. Called after a syscall's
 * handler ran with result `r`; when the host call was interrupted (EINTR) and the handler that
 * will run has SA_RESTART, the syscall is set up to run again after it (x0 and pc put back) and
 * true is returned, so the caller must not write the result.
 */
export function takeHostSignals(k: Kernel, nr: number, r: number): boolean {
  const bits = k.router?.take();
  if (bits === undefined) return false;
  for (let sig = 1; sig <= 64; sig++) {
    const on = sig <= 32 ? (bits[0] >>> (sig - 1)) & 1 : (bits[1] >>> (sig - 33)) & 1;
    if (on) {
      k.signals.enqueue(
        sig,
        sig === 17 ? childInfo() : { code: SI_KERNEL, pid: 0, uid: 0, value: 0n },
      );
    }
  }
  if (r !== -E.EINTR || !RESTARTABLE.has(nr)) return false;
  const s = k.signals;
  for (let sig = 1; sig <= 64; sig++) {
    if (!s.isPending(sig) || s.isBlocked(sig) || s.actions[sig].handler <= SIG_IGN) continue;
    if (!(s.actions[sig].flags & SA_RESTART)) return false;
    k.vcpu.setResult(k.args[0]);
    k.vcpu.set(Reg.PC, k.vcpu.get(Reg.PC) - 4); // back onto the svc
    deliverPending(k);
    return true;
  }
  return false;
}

/**
 * The siginfo of a SIGCHLD: the listener cannot see the host's, so look at the child that
 * changed state without reaping it (waitid with WNOWAIT), as the kernel would have filled it.
 */
function childInfo(): SigInfo {
  const s = childScratch;
  s.u8.fill(0, 0, 128);
  // P_ALL, WEXITED | WSTOPPED | WCONTINUED | WNOHANG | WNOWAIT
  if (
    libc.waitid(0, 0, s.address, 4 | 2 | 8 | 1 | 0x01000000) !== 0 ||
    s.view.getInt32(16, true) === 0
  ) {
    return { code: SI_KERNEL, pid: 0, uid: 0, value: 0n };
  }
  const status = s.view.getInt32(24, true);
  return {
    code: s.view.getInt32(8, true),
    pid: s.view.getInt32(16, true),
    uid: s.view.getUint32(20, true),
    value: BigInt(status >>> 0), // si_status sits where si_value does for SIGCHLD
  };
}
const childScratch = new Scratch(4096);

/**
 * Blocks until a host signal arrives; queues it. A futex wait on the listener's flag (it
 * notifies after setting it), not a sleep the kick would end: a kick landing between the check
 * and the sleep would be lost.
 */
function waitForHostSignal(k: Kernel): void {
  while (k.hostSignals[0] === 0) Atomics.wait(k.hostSignals, 0, 0);
  takeHostSignals(k, -1, 0);
}

/**
 * A synchronous fault (SIGSEGV, SIGBUS, SIGILL, SIGTRAP) at the current pc. Delivered to a handler
 * when there is one and it is not blocked; otherwise the default action, as Linux's force_sig.
 */
export function deliverFault(k: Kernel, sig: number, code: number, address: number): boolean {
  const s = k.signals;
  if (s.actions[sig].handler <= SIG_IGN || s.isBlocked(sig)) return false;
  return setupFrame(k, sig, { code, pid: 0, uid: 0, value: 0n }, address);
}

function rtSigsuspend(k: Kernel, a: Float64Array): number {
  if (a[1] !== 8) return -E.EINVAL;
  if (!k.canRead(a[0], 8)) return -E.EFAULT;
  const s = k.signals;
  s.savedMask = [s.maskLo, s.maskHi];
  s.maskLo = (k.view.getUint32(a[0], true) & ~UNBLOCKABLE_LO) >>> 0;
  s.maskHi = k.view.getUint32(a[0] + 4, true);
  k.syncSignals();
  for (let sig = 1; sig <= 64; sig++) {
    if (s.isPending(sig) && !s.isBlocked(sig)) {
      s.wake = true;
      return -E.EINTR;
    }
  }
  // Sleep until a host signal that is now unblocked arrives.
  for (;;) {
    waitForHostSignal(k);
    for (let sig = 1; sig <= 64; sig++) {
      if (s.isPending(sig) && !s.isBlocked(sig)) {
        s.wake = true;
        return -E.EINTR;
      }
    }
  }
}

function kill(k: Kernel, a: Float64Array): number {
  const pid = a[0] | 0, sig = a[1] | 0;
  if (sig < 0 || sig > 64) return -E.EINVAL;
  if (pid === k.pid) return sendSelf(k, sig, SI_USER);
  // "Every process" would be every host process of the user (all of them, as root): keep it to
  // the guest itself. A process group (0 or -pgid) is the host's: guest pids are host pids, and
  // this process receives its own share through the signal router.
  if (pid === -1) return sendSelf(k, sig, SI_USER);
  const r = k.host(libc.kill(pid, sig));
  // Our own group includes us, and Linux makes the signal pending before kill returns: wait for
  // the listener to record it, so that unblocking it next runs the handler (kill(2)).
  if (r === 0 && sig !== 0 && (pid === 0 || -pid === libc.getpgid(0))) {
    if (k.router?.arrival(sig)) takeHostSignals(k, -1, 0);
  }
  return r;
}

function tgkill(k: Kernel, tgid: number, tid: number, sig: number): number {
  if (sig < 0 || sig > 64 || tid <= 0 || tgid === 0 || tgid < -1) return -E.EINVAL;
  if (tid !== k.pid || (tgid !== -1 && tgid !== k.pid)) return -E.ESRCH;
  return sendSelf(k, sig, SI_TKILL);
}

function rtSigpending(k: Kernel, a: Float64Array): number {
  if (a[1] !== 8) return -E.EINVAL;
  if (!k.canWrite(a[0], 8)) return -E.EFAULT;
  k.view.setUint32(a[0], k.signals.pendingLo, true);
  k.view.setUint32(a[0] + 4, k.signals.pendingHi, true);
  return 0;
}

function rtSigtimedwait(k: Kernel, a: Float64Array): number {
  const set = a[0], info = a[1], timeout = a[2];
  if (a[3] !== 8) return -E.EINVAL;
  if (!k.canRead(set, 8)) return -E.EFAULT;
  if (info !== 0 && !k.canWrite(info, 128)) return -E.EFAULT;
  if (timeout !== 0) {
    if (!k.canRead(timeout, 16)) return -E.EFAULT;
    const sec = k.readI64(timeout), nsec = k.readI64(timeout + 8);
    if (sec < 0 || nsec < 0 || nsec >= 1e9) return -E.EINVAL;
  }
  const lo = k.view.getUint32(set, true), hi = k.view.getUint32(set + 4, true);
  const s = k.signals;
  for (let sig = 1; sig <= 64; sig++) {
    const wanted = sig <= 32 ? (lo & (1 << (sig - 1))) !== 0 : (hi & (1 << (sig - 33))) !== 0;
    if (!wanted || !s.isPending(sig)) continue;
    const si = s.dequeue(sig) ?? { code: SI_USER, pid: 0, uid: 0, value: 0n };
    if (info !== 0) {
      k.mem.fill(0, info, info + 128);
      k.view.setInt32(info, sig, true);
      k.view.setInt32(info + 8, si.code, true);
      k.view.setInt32(info + 16, si.pid, true);
      k.view.setUint32(info + 20, si.uid, true);
      k.view.setBigUint64(info + 24, si.value, true);
    }
    return sig;
  }
  // Nothing pending yet: wait for a host signal (routed ones only), up to the timeout.
  const sec = timeout === 0 ? Infinity : k.readI64(timeout) + k.readI64(timeout + 8) / 1e9;
  const end = performance.now() + sec * 1000;
  for (;;) {
    const left = (end - performance.now()) / 1000;
    if (left <= 0) return -E.EAGAIN;
    if (k.hostSignals[0] === 0) Atomics.wait(k.hostSignals, 0, 0, Math.min(left, 3600) * 1000);
    if (k.hostSignals[0] !== 0) {
      takeHostSignals(k, -1, 0);
      for (let sig = 1; sig <= 64; sig++) {
        const wanted = sig <= 32 ? (lo & (1 << (sig - 1))) !== 0 : (hi & (1 << (sig - 33))) !== 0;
        if (wanted && s.isPending(sig)) return rtSigtimedwait(k, a);
      }
      if (s.wake) return -E.EINTR; // another signal with a handler interrupts the wait
    }
  }
}

export const signalSyscalls: SyscallDef[] = [
  {
    name: "kill",
    handler: kill,
    args: ["int", "signal"],
    status: "partial",
    note:
      "to itself: blocked signals become pending, default actions are taken, caught signals give ENOSYS until delivery exists; other pids are host processes",
  },
  {
    name: "tkill",
    handler: (k, a) => tgkill(k, -1, a[0] | 0, a[1] | 0),
    args: ["int", "signal"],
    status: "partial",
    note: "as kill, for the one thread",
  },
  {
    name: "tgkill",
    handler: (k, a) => tgkill(k, a[0] | 0, a[1] | 0, a[2] | 0),
    args: ["int", "int", "signal"],
    status: "partial",
    note: "as kill, for the one thread",
  },
  { name: "rt_sigpending", handler: rtSigpending, args: ["outbuf", "uint"] },
  {
    name: "rt_sigreturn",
    handler: (k) => {
      if (sigreturn(k)) return RESULT_SET;
      k.killedBy(11, true); // a corrupt frame: Linux forces SIGSEGV
      return RESULT_SET;
    },
  },
  {
    name: "rt_sigsuspend",
    handler: rtSigsuspend,
    args: ["ptr", "uint"],
    status: "partial",
    note: "wakes for signals the process sent itself; host signals and other processes come later",
  },
  {
    name: "rt_sigqueueinfo",
    handler: rtSigqueueinfo,
    args: ["int", "signal", "ptr"],
    status: "partial",
    note: "to itself only (other processes: ESRCH/EPERM)",
  },
  {
    name: "rt_sigtimedwait",
    handler: rtSigtimedwait,
    args: ["ptr", "outbuf", "ptr", "uint"],
    status: "partial",
    note: "takes signals this process sent itself; host signals are not routed to the guest yet",
  },
  {
    name: "rt_sigaction",
    handler: rtSigaction,
    args: ["signal", "ptr", "ptr", "uint"],
    status: "partial",
    note: "dispositions are recorded and reported; signal delivery is not implemented yet",
  },
  {
    name: "rt_sigprocmask",
    handler: rtSigprocmask,
    args: ["int", "ptr", "ptr", "uint"],
    status: "partial",
    note: "the mask is recorded and reported; nothing is delivered yet",
  },
  {
    name: "sigaltstack",
    handler: sigaltstack,
    args: ["ptr", "ptr"],
    status: "partial",
    note: "recorded; used once delivery exists",
  },
];
