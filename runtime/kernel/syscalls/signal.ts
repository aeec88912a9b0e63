// Signal dispositions and masks (recorded state; delivery comes with processes).
import { E } from "../errno.ts";
import type { Kernel } from "../kernel.ts";
import { SIGKILL, SIGSTOP } from "../signals.ts";
import type { SyscallDef } from "../syscall_def.ts";

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
    cur.flags = k.readU64(act + 8);
    cur.restorer = k.readU64(act + 16);
    cur.maskLo = k.view.getUint32(act + 24, true) & ~UNBLOCKABLE_LO;
    cur.maskHi = k.view.getUint32(act + 28, true);
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
  }
  return 0;
}

function sigaltstack(k: Kernel, a: Float64Array): number {
  const ss = a[0], old = a[1];
  if (ss !== 0 && !k.canRead(ss, 24)) return -E.EFAULT;
  if (old !== 0 && !k.canWrite(old, 24)) return -E.EFAULT;
  const st = k.signals.altStack;
  if (old !== 0) {
    k.writeU64(old, st.sp);
    k.view.setInt32(old + 8, st.flags, true);
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

export const signalSyscalls: SyscallDef[] = [
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
