// signalfd4: an emulated description (fdtable.ts). Guest signals are elfuse's own (the host's are
// routed to a listener Worker, signal_router.ts), so no host signalfd could see them: a read takes
// signals from the same pending queues delivery takes them from (the thread's own, then the
// process's; signal_delivery.ts), lowest first, and fills one struct signalfd_siginfo each.
// Readiness for poll and epoll is a host eventfd (a pipe on macOS) that the description keeps
// readable exactly while a signal of its mask is pending (pendingChanged calls signalsChanged);
// the guest's fds are dups of it, so O_NONBLOCK set through any of them is shared as on Linux.
import { libc } from "../../host/libc.ts";
import { E } from "../errno.ts";
import type { Description, DescriptionState, FdEntry } from "../fdtable.ts";
import type { Process } from "../process.ts";
import { pendingChanged } from "../signal_delivery.ts";
import type { SigInfo } from "../signals.ts";
import type { SyscallDef } from "../syscall_def.ts";
import type { Task } from "../task.ts";
import { ERESTARTSYS, Outcome } from "../wait.ts";
import { install } from "./fd.ts";

const O_CLOEXEC = 0o2000000, O_NONBLOCK = 0o4000;
const F_GETFL = 3, F_DUPFD_CLOEXEC = 1030;
/** sizeof(struct signalfd_siginfo) (include/uapi/linux/signalfd.h). */
export const SIGINFO_SIZE = 128;
const UNBLOCKABLE_LO = (1 << 8) | (1 << 18); // SIGKILL, SIGSTOP: signalfd4 drops them silently
const POLLIN = 1;
const onLinux = Deno.build.os === "linux";
const HOST_O_NONBLOCK = onLinux ? O_NONBLOCK : 0x4;

/** struct signalfd_siginfo field offsets (the rest is zero for what elfuse queues). */
const SSI = { signo: 0, code: 8, pid: 12, uid: 16, status: 40, int: 44, ptr: 48 } as const;
const SIGCHLD = 17;

const flagBuf = new BigUint64Array(2);
const flagAddr = Number(Deno.UnsafePointer.value(Deno.UnsafePointer.of(flagBuf)));

/**
 * A host fd pair that is readable while set: an eventfd (Linux) or a pipe (macOS). Blocking: the
 * guest's fds share its open file description, and so its O_NONBLOCK (SFD_NONBLOCK, F_SETFL);
 * elfuse reads it only while set, when a read cannot block.
 */
function newFlag(): [number, number] {
  if (onLinux) {
    const fd = libc.eventfd(0, O_CLOEXEC);
    return [fd, fd < 0 ? -1 : libc.fcntl(fd, F_DUPFD_CLOEXEC, 3)];
  }
  if (libc.pipe(flagAddr) < 0) return [-1, -1];
  const ends = new Int32Array(flagBuf.buffer, 0, 2);
  const r = ends[0], w = ends[1];
  for (const fd of [r, w]) libc.fcntl(fd, 2, /* F_SETFD */ 1 /* FD_CLOEXEC */);
  return [r, w];
}

export class SignalFile implements Description {
  readonly kind = "signalfd";
  refs = 0;
  /** The signals it reports, as a kernel sigset_t in two halves. */
  maskLo: number;
  maskHi: number;
  /** Its readiness flag: [the end poll watches, the end elfuse sets and clears]. */
  readonly #flag: [number, number];
  #set = false;

  constructor(flag: [number, number], lo: number, hi: number) {
    this.#flag = flag;
    this.maskLo = lo;
    this.maskHi = hi;
  }

  standIn(): number {
    return libc.fcntl(this.#flag[0], F_DUPFD_CLOEXEC, 3);
  }

  /** Whether a signal of its mask is pending for `proc` (any of its threads, or the process). */
  pending(proc: Process): boolean {
    const hit = (q: { lo: number; hi: number }) =>
      (q.lo & this.maskLo) !== 0 || (q.hi & this.maskHi) !== 0;
    return hit(proc.pending) || proc.tasks.some((t) => hit(t.signals.pending));
  }

  signalsChanged(proc: Process): void {
    const ready = this.pending(proc);
    if (ready === this.#set) return;
    this.#set = ready;
    if (ready) {
      flagBuf[0] = 1n;
      libc.write(this.#flag[1], flagAddr, 8);
    } else libc.read(this.#flag[0], flagAddr, 8); // set: the 8 bytes written are there
  }

  /** Takes the lowest pending signal of its mask (the thread's own first), or undefined. */
  take(k: Task): [number, SigInfo] | undefined {
    for (const queue of [k.signals.pending, k.proc.pending]) {
      const sig = queue.firstUnblocked(~this.maskLo >>> 0, ~this.maskHi >>> 0);
      if (sig !== 0) return [sig, queue.dequeue(sig)!];
    }
    return undefined;
  }

  read(k: Task, e: FdEntry, buf: number, len: number): number {
    if (len < SIGINFO_SIZE) return -E.EINVAL;
    const w = k.resumed();
    let n = 0;
    for (; n + SIGINFO_SIZE <= len; n += SIGINFO_SIZE) {
      const got = this.take(k);
      if (got === undefined) break;
      writeSiginfo(k, buf + n, got[0], got[1]);
    }
    if (n > 0) {
      pendingChanged(k.proc);
      return n;
    }
    this.signalsChanged(k.proc);
    if ((libc.fcntl(e.hostFd, F_GETFL, 0) & HOST_O_NONBLOCK) !== 0) return -E.EAGAIN;
    // signalfd_read: a blocking read sleeps until a signal of the mask is pending, or fails with
    // -ERESTARTSYS when a signal to handle arrives.
    if (w?.outcome === Outcome.Signal) return -ERESTARTSYS;
    return k.block({ fds: [{ hostFd: this.#flag[0], events: POLLIN }] });
  }

  save(): DescriptionState {
    return { kind: this.kind, maskLo: this.maskLo, maskHi: this.maskHi };
  }

  release(): void {
    libc.close(this.#flag[0]);
    if (this.#flag[1] !== this.#flag[0]) libc.close(this.#flag[1]);
  }
}

function writeSiginfo(k: Task, at: number, sig: number, si: SigInfo): void {
  const v = k.proc.view;
  k.proc.mem.fill(0, at, at + SIGINFO_SIZE);
  v.setUint32(at + SSI.signo, sig, true);
  v.setInt32(at + SSI.code, si.code, true);
  v.setUint32(at + SSI.pid, si.pid, true);
  v.setUint32(at + SSI.uid, si.uid, true);
  if (sig === SIGCHLD) v.setInt32(at + SSI.status, Number(BigInt.asIntN(32, si.value)), true);
  else {
    v.setInt32(at + SSI.int, Number(BigInt.asIntN(32, si.value)), true);
    v.setBigUint64(at + SSI.ptr, si.value, true);
  }
}

/** A fork child's copy (descriptions.ts): the same mask, a flag of its own. */
export function restoreSignalfd(s: DescriptionState): Description {
  const flag = newFlag();
  return new SignalFile(flag, s.maskLo as number, s.maskHi as number);
}

function signalfd4(k: Task, a: Float64Array): number {
  const fd = a[0] | 0, mask = a[1], size = a[2], flags = a[3] | 0;
  if ((flags & ~(O_CLOEXEC | O_NONBLOCK)) !== 0 || size !== 8) return -E.EINVAL;
  if (!k.proc.canRead(mask, 8)) return -E.EFAULT;
  const lo = (k.proc.view.getUint32(mask, true) & ~UNBLOCKABLE_LO) >>> 0;
  const hi = k.proc.view.getUint32(mask + 4, true);
  if (fd !== -1) {
    // An existing signalfd gets the new mask (its flags are left as they are).
    const e = k.proc.fds.get(fd);
    if (e === undefined) return -E.EBADF;
    if (!(e.file instanceof SignalFile)) return -E.EINVAL;
    e.file.maskLo = lo;
    e.file.maskHi = hi;
    e.file.signalsChanged(k.proc);
    return fd;
  }
  const flag = newFlag();
  if (flag[0] < 0 || flag[1] < 0) return k.fail();
  const file = new SignalFile(flag, lo, hi);
  const h = file.standIn();
  if (h < 0) {
    file.release();
    return k.fail();
  }
  if ((flags & O_NONBLOCK) !== 0) libc.fcntl(h, 4, /* F_SETFL */ HOST_O_NONBLOCK);
  const r = install(k, h, (flags & O_CLOEXEC) !== 0, "anon_inode:[signalfd]", 0, file);
  if (r >= 0) file.signalsChanged(k.proc);
  return r;
}

export const signalfdSyscalls: SyscallDef[] = [
  {
    name: "signalfd4",
    handler: signalfd4,
    args: ["fd", "ptr", "uint", "hex"],
    note:
      "emulated: reads take signals from the guest's pending queues; poll and epoll see a host eventfd (a pipe on macOS)",
  },
];
