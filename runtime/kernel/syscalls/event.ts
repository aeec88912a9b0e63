// epoll, eventfd, timerfd and inotify. On a Linux host an epoll set is the host's own epoll fd: the guest's fds are
// host fds underneath (fdtable.ts), each dup its own, so registrations, EPOLLONESHOT, edge
// triggering and the lifetime rules (an fd leaves the set when its last duplicate closes) are the
// host kernel's, and the set is inherited by fork and kept by exec as on Linux. Only the event
// record differs: aarch64's struct epoll_event is 16 bytes (u32 events, padding, u64 data),
// x86_64's is packed into 12. An eventfd, a timerfd and an inotify instance are the host's own
// too: their records (u64 counters, struct itimerspec, struct inotify_event) and flag values are
// the same on every 64-bit Linux, so reads are plain host reads (io.ts, with mayBlock). macOS
// has none of them (ENOSYS there, docs/internals.md).
// A wait that would block parks the thread on the epoll fd itself, which the host reports
// readable when events are ready, so the process's other threads run meanwhile.
import { libc } from "../../host/libc.ts";
import { E } from "../errno.ts";
import { Slot } from "../scratch.ts";
import { maskForHandler, signalWaiting, temporaryMask } from "../signal_delivery.ts";
import type { SyscallDef } from "../syscall_def.ts";
import type { Task } from "../task.ts";
import { deadlineIn, Outcome } from "../wait.ts";
import { install } from "./fd.ts";
import { pathAt } from "../paths.ts";

const O_CLOEXEC = 0o2000000, O_NONBLOCK = 0o4000;
const EFD_SEMAPHORE = 1;
const EPOLL_CTL_ADD = 1, EPOLL_CTL_DEL = 2, EPOLL_CTL_MOD = 3;
/** The host's struct epoll_event size: packed on x86_64 (sys/epoll.h __EPOLL_PACKED). */
const HOST_EVENT = Deno.build.arch === "x86_64" ? 12 : 16;
const GUEST_EVENT = 16;
/** Events one epoll_pwait call takes from the host (the handler buffer holds this many). */
const MAX_BATCH = Math.floor(0x1_0000 / 16);
const POLLIN = 1;
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
  const temp = temporaryMask(k, mask, maskSize);
  if (typeof temp === "number") return temp;
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
    maskForHandler(k, temp);
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

const TFD_FLAGS = O_CLOEXEC | O_NONBLOCK, ITIMERSPEC = 32;

function timerfdCreate(k: Task, a: Float64Array): number {
  const clock = a[0] | 0, flags = a[1] | 0;
  if ((flags & ~TFD_FLAGS) !== 0) return -E.EINVAL;
  const h = libc.timerfd_create(clock, (flags & O_NONBLOCK) | O_CLOEXEC);
  if (h < 0) return k.fail();
  return install(k, h, (flags & O_CLOEXEC) !== 0, "anon_inode:[timerfd]");
}

function timerfdSettime(k: Task, a: Float64Array): number {
  const h = hostFd(k, a[0]), value = a[2], old = a[3];
  if (h < 0) return -E.EBADF;
  if (!k.proc.canRead(value, ITIMERSPEC)) return -E.EFAULT;
  if (old !== 0 && !k.proc.canWrite(old, ITIMERSPEC)) return -E.EFAULT;
  const base = k.proc.hostBase;
  return k.host(libc.timerfd_settime(h, a[1] | 0, base + value, old === 0 ? 0 : base + old));
}

function timerfdGettime(k: Task, a: Float64Array): number {
  const h = hostFd(k, a[0]);
  if (h < 0) return -E.EBADF;
  if (!k.proc.canWrite(a[1], ITIMERSPEC)) return -E.EFAULT;
  return k.host(libc.timerfd_gettime(h, k.proc.hostBase + a[1]));
}

function inotifyInit1(k: Task, a: Float64Array): number {
  const flags = a[0] | 0;
  if ((flags & ~(O_CLOEXEC | O_NONBLOCK)) !== 0) return -E.EINVAL;
  const h = libc.inotify_init1((flags & O_NONBLOCK) | O_CLOEXEC);
  if (h < 0) return k.fail();
  return install(k, h, (flags & O_CLOEXEC) !== 0, "anon_inode:inotify");
}

function inotifyAddWatch(k: Task, a: Float64Array): number {
  const h = hostFd(k, a[0]);
  if (h < 0) return -E.EBADF;
  const IN_DONT_FOLLOW = 0x02000000;
  const p = pathAt(k, -100, a[1], 0, false, ((a[2] >>> 0) & IN_DONT_FOLLOW) === 0);
  if (p < 0) return p;
  return k.host(libc.inotify_add_watch(h, p, a[2] >>> 0));
}

function inotifyRmWatch(k: Task, a: Float64Array): number {
  const h = hostFd(k, a[0]);
  if (h < 0) return -E.EBADF;
  return k.host(libc.inotify_rm_watch(h, a[1] | 0));
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
  {
    name: "timerfd_create",
    handler: linuxOnly(timerfdCreate),
    args: ["int", "hex"],
    status: "partial",
    note: NOTE,
  },
  {
    name: "timerfd_settime",
    handler: linuxOnly(timerfdSettime),
    args: ["fd", "hex", "ptr", "ptr"],
    status: "partial",
    note: NOTE + "; TFD_TIMER_ABSTIME and TFD_TIMER_CANCEL_ON_SET as the host's",
  },
  {
    name: "timerfd_gettime",
    handler: linuxOnly(timerfdGettime),
    args: ["fd", "ptr"],
    status: "partial",
    note: NOTE,
  },
  {
    name: "inotify_init1",
    handler: linuxOnly(inotifyInit1),
    args: ["hex"],
    status: "partial",
    note: NOTE,
  },
  {
    name: "inotify_add_watch",
    handler: linuxOnly(inotifyAddWatch),
    args: ["fd", "path", "hex"],
    status: "partial",
    note: NOTE + "; the path is resolved as every guest path is (--sysroot)",
  },
  {
    name: "inotify_rm_watch",
    handler: linuxOnly(inotifyRmWatch),
    args: ["fd", "int"],
    status: "partial",
    note: NOTE,
  },
];
