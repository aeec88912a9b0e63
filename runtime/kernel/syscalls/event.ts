// epoll and eventfd. On a Linux host an epoll set is the host's own epoll fd: the guest's fds are
// host fds underneath (fdtable.ts), each dup its own, so registrations, EPOLLONESHOT, edge
// triggering and the lifetime rules (an fd leaves the set when its last duplicate closes) are the
// host kernel's, and the set is inherited by fork and kept by exec as on Linux. Only the event
// record differs: aarch64's struct epoll_event is 16 bytes (u32 events, padding, u64 data),
// x86_64's is packed into 12. An eventfd is the host's eventfd. macOS has neither (ENOSYS there).
// A wait that would block parks the thread on the epoll fd itself, which the host reports
// readable when events are ready, so the process's other threads run meanwhile.
import { libc } from "../../host/libc.ts";
import { E } from "../errno.ts";
import { Slot } from "../scratch.ts";
import { signalWaiting } from "../signal_delivery.ts";
import type { SyscallDef } from "../syscall_def.ts";
import type { Task } from "../task.ts";
import { deadlineIn, Outcome } from "../wait.ts";
import { install } from "./fd.ts";

const O_CLOEXEC = 0o2000000, O_NONBLOCK = 0o4000;
const EFD_SEMAPHORE = 1;
const EPOLL_CTL_ADD = 1, EPOLL_CTL_DEL = 2, EPOLL_CTL_MOD = 3;
/** The host's struct epoll_event size: packed on x86_64 (sys/epoll.h __EPOLL_PACKED). */
const HOST_EVENT = Deno.build.arch === "x86_64" ? 12 : 16;
const GUEST_EVENT = 16;
/** Events one epoll_pwait call takes from the host (the handler buffer holds this many). */
const MAX_BATCH = Math.floor(0x1_0000 / 16);
const POLLIN = 1;
const UNBLOCKABLE_LO = (1 << 8) | (1 << 18); // SIGKILL, SIGSTOP
const onLinux = Deno.build.os === "linux";

function hostFd(k: Task, fd: number): number {
  return k.proc.fds.get(fd | 0)?.hostFd ?? -1;
}

function epollCreate1(k: Task, a: Float64Array): number {
  const flags = a[0] | 0;
  if ((flags & ~O_CLOEXEC) !== 0) return -E.EINVAL;
  const h = libc.epoll_create1(O_CLOEXEC);
  if (h < 0) return k.fail();
  return install(k, h, (flags & O_CLOEXEC) !== 0, "anon_inode:[eventpoll]");
}

function epollCtl(k: Task, a: Float64Array): number {
  const ep = hostFd(k, a[0]), op = a[1] | 0, fd = hostFd(k, a[2]), event = a[3];
  if (ep < 0 || fd < 0) return -E.EBADF;
  if (op !== EPOLL_CTL_ADD && op !== EPOLL_CTL_DEL && op !== EPOLL_CTL_MOD) return -E.EINVAL;
  const s = k.rt.scratch, at = Slot.BUFFER;
  if (op !== EPOLL_CTL_DEL) {
    if (!k.proc.canRead(event, GUEST_EVENT)) return -E.EFAULT;
    s.view.setUint32(at, k.proc.view.getUint32(event, true), true);
    s.view.setUint32(at + 4, 0, true);
    s.view.setBigUint64(at + HOST_EVENT - 8, k.proc.view.getBigUint64(event + 8, true), true);
  }
  return k.host(libc.epoll_ctl(ep, op, fd, op === EPOLL_CTL_DEL ? 0 : s.address + at));
}

/**
 * epoll_pwait and epoll_pwait2: events ready now, else park on the epoll fd until one is, the
 * deadline passes, or a signal interrupts (EINTR, never restarted: epoll_wait(2)).
 */
function epollWait(
  k: Task,
  epfd: number,
  events: number,
  max: number,
  ns: number,
  mask: number,
  maskSize: number,
): number {
  const ep = hostFd(k, epfd);
  if (ep < 0) return -E.EBADF;
  if (max <= 0 || max > 0x7fffffff / GUEST_EVENT) return -E.EINVAL;
  if (!k.proc.canWrite(events, Math.min(max, MAX_BATCH) * GUEST_EVENT)) return -E.EFAULT;
  let temp: [number, number] | undefined;
  if (mask !== 0) {
    if (maskSize !== 8) return -E.EINVAL;
    if (!k.proc.canRead(mask, 8)) return -E.EFAULT;
    const v = k.proc.view;
    temp = [(v.getUint32(mask, true) & ~UNBLOCKABLE_LO) >>> 0, v.getUint32(mask + 4, true)];
  }
  const w = k.resumed();
  const s = k.rt.scratch, at = Slot.BUFFER;
  const n = libc.epoll_wait(ep, s.address + at, Math.min(max, MAX_BATCH), 0);
  if (n < 0) return k.fail();
  for (let i = 0; i < n; i++) {
    const from = at + i * HOST_EVENT, to = events + i * GUEST_EVENT;
    k.proc.view.setUint32(to, s.view.getUint32(from, true), true);
    k.proc.view.setUint32(to + 4, 0, true);
    k.proc.view.setBigUint64(to + 8, s.view.getBigUint64(from + HOST_EVENT - 8, true), true);
  }
  if (n > 0 || ns === 0 || w?.outcome === Outcome.Timeout) return n;
  if (w?.outcome === Outcome.Signal || signalWaiting(k, temp)) {
    if (temp !== undefined) {
      // The handler runs with the temporary mask; its frame restores the thread's own.
      const sig = k.signals;
      sig.savedMask = [sig.maskLo, sig.maskHi];
      [sig.maskLo, sig.maskHi] = temp;
      k.proc.syncSignals();
    }
    return -E.EINTR;
  }
  const deadline = w?.deadline ?? (ns === Infinity ? Infinity : deadlineIn(ns));
  const parked = k.block({ fds: [{ hostFd: ep, events: POLLIN }], deadline, mask: temp });
  if (temp !== undefined) k.proc.syncSignals();
  return parked;
}

function epollPwait(k: Task, a: Float64Array): number {
  const ms = a[3] | 0; // an int: negative waits forever
  return epollWait(k, a[0], a[1], a[2] | 0, ms < 0 ? Infinity : ms * 1e6, a[4], a[5]);
}

function epollPwait2(k: Task, a: Float64Array): number {
  let ns = Infinity;
  if (a[3] !== 0) {
    if (!k.proc.canRead(a[3], 16)) return -E.EFAULT;
    const sec = k.proc.readI64(a[3]), nsec = k.proc.readI64(a[3] + 8);
    if (sec < 0 || nsec < 0 || nsec >= 1e9) return -E.EINVAL;
    ns = sec * 1e9 + nsec;
  }
  return epollWait(k, a[0], a[1], a[2] | 0, ns, a[4], a[5]);
}

function eventfd2(k: Task, a: Float64Array): number {
  const initval = a[0] >>> 0, flags = a[1] | 0;
  if ((flags & ~(O_CLOEXEC | O_NONBLOCK | EFD_SEMAPHORE)) !== 0) return -E.EINVAL;
  // The host's flag values are the same (asm-generic O_NONBLOCK/O_CLOEXEC on both arches).
  const h = libc.eventfd(initval, (flags & ~O_CLOEXEC) | O_CLOEXEC);
  if (h < 0) return k.fail();
  return install(k, h, (flags & O_CLOEXEC) !== 0, "anon_inode:[eventfd]");
}

/** macOS has no epoll or eventfd (a kqueue emulation is open work): ENOSYS there. */
const linuxOnly = (h: (k: Task, a: Float64Array) => number) => (k: Task, a: Float64Array) =>
  onLinux ? h(k, a) : -E.ENOSYS;
const NOTE = "the host's (Linux hosts; ENOSYS on macOS)";

export const eventSyscalls: SyscallDef[] = [
  {
    name: "epoll_create1",
    handler: linuxOnly(epollCreate1),
    args: ["hex"],
    status: "partial",
    note: NOTE,
  },
  {
    name: "epoll_ctl",
    handler: linuxOnly(epollCtl),
    args: ["fd", "int", "fd", "ptr"],
    status: "partial",
    note: NOTE,
  },
  {
    name: "epoll_pwait",
    handler: linuxOnly(epollPwait),
    args: ["fd", "outbuf", "int", "int", "ptr", "uint"],
    status: "partial",
    note: NOTE + "; a waiting thread lets the others run",
  },
  {
    name: "epoll_pwait2",
    handler: linuxOnly(epollPwait2),
    args: ["fd", "outbuf", "int", "ptr", "ptr", "uint"],
    status: "partial",
    note: NOTE,
  },
  {
    name: "eventfd2",
    handler: linuxOnly(eventfd2),
    args: ["uint", "hex"],
    status: "partial",
    note: NOTE,
  },
];
