// POSIX message queues. On a Linux host a queue is the host's (its mqueue file system): the
// descriptor mq_open returns is a host fd behind a guest fd, so poll, epoll, fork, close-on-exec
// and mq_unlink behave as Linux's, and queues are shared with every elfuse process. struct
// mq_attr, struct sigevent and the open flags are the same on x86_64 and aarch64; mq_notify's
// SIGEV_THREAD names a netlink socket and a cookie in memory, which are translated. macOS has no
// POSIX message queues: ENOSYS there.
import { libc } from "../../host/libc.ts";
import { openFlagsToHost } from "../../host/mod.ts";
import { E } from "../errno.ts";
import type { Task } from "../task.ts";
import type { SyscallDef } from "../syscall_def.ts";
import { deadlineAt, ERESTARTSYS, Outcome } from "../wait.ts";
import { Slot } from "../scratch.ts";
import { install } from "./fd.ts";
import { HOST_O_NONBLOCK, POLLIN, POLLOUT } from "../blocking.ts";

const onLinux = Deno.build.os === "linux";
const NR = Deno.build.arch === "x86_64"
  ? { open: 240n, unlink: 241n, send: 242n, receive: 243n, notify: 244n, attr: 245n }
  : { open: 180n, unlink: 181n, send: 182n, receive: 183n, notify: 184n, attr: 185n };

function sys(nr: bigint, a = 0, b = 0, c = 0, d = 0, e = 0): number {
  return Number(libc.syscall6(nr, BigInt(a), BigInt(b), BigInt(c), BigInt(d), BigInt(e), 0n));
}

const O_CLOEXEC = 0o2000000, O_CREAT = 0o100;
const MQ_ATTR = 64, SIGEVENT = 64, NOTIFY_COOKIE_LEN = 32;
const F_GETFL = 3;

function mqOpen(k: Task, a: Float64Array): number {
  const name = a[0], flags = a[1] >>> 0, mode = a[2] >>> 0, attr = a[3];
  const len = k.proc.strlen(name);
  if (len < 0) return len;
  if ((flags & O_CREAT) !== 0 && attr !== 0 && !k.proc.canRead(attr, MQ_ATTR)) return -E.EFAULT;
  const host = sys(
    NR.open,
    k.proc.hostBase + name,
    openFlagsToHost(flags) | O_CLOEXEC,
    mode & 0o7777,
    (flags & O_CREAT) !== 0 && attr !== 0 ? k.proc.hostBase + attr : 0,
  );
  if (host < 0) return k.fail();
  // Linux's do_mq_open always makes the descriptor close-on-exec.
  return install(k, host, true, `/dev/mqueue/${k.proc.string(name)}`);
}

function mqUnlink(k: Task, a: Float64Array): number {
  const len = k.proc.strlen(a[0]);
  if (len < 0) return len;
  return k.host(sys(NR.unlink, k.proc.hostBase + a[0]));
}

/**
 * A send or receive that may wait. With one thread the host call waits (a signal's kick
 * interrupts it; the dispatcher restarts it after an SA_RESTART handler, signal(7)). With others,
 * the thread parks until the queue is ready for `events` or the absolute CLOCK_REALTIME timeout
 * at guest `timeout` passes (ETIMEDOUT), then makes its call.
 */
function transfer(
  k: Task,
  mqd: number,
  events: number,
  timeout: number,
  call: (hostFd: number) => number,
): number {
  const e = k.proc.fds.get(mqd);
  if (e === undefined) return -E.EBADF;
  if (timeout !== 0 && !k.proc.canRead(timeout, 16)) return -E.EFAULT;
  const w = k.resumed();
  if (w?.outcome === Outcome.Signal) return -ERESTARTSYS;
  if (w?.outcome === Outcome.Timeout) return -E.ETIMEDOUT;
  if (w === undefined && k.proc.tasks.length > 1 && !ready(k, e.hostFd, events)) {
    const nonblocking = (libc.fcntl(e.hostFd, F_GETFL, 0) & HOST_O_NONBLOCK) !== 0;
    if (!nonblocking) {
      const deadline = timeout === 0 ? Infinity : deadlineAt(
        0,
        k.proc.readI64(timeout),
        k.proc.readI64(timeout + 8),
        k.rt.scratch,
        Slot.TIMESPEC,
      );
      return k.block({ fds: [{ hostFd: e.hostFd, events }], deadline });
    }
  }
  return k.host(call(e.hostFd));
}

/** The fd polls ready for `events` now. */
function ready(k: Task, hostFd: number, events: number): boolean {
  const s = k.rt.scratch, at = Slot.POLL_ONE;
  s.view.setInt32(at, hostFd, true);
  s.view.setInt16(at + 4, events, true);
  s.view.setInt16(at + 6, 0, true);
  s.view.setBigInt64(at + 8, 0n, true);
  s.view.setBigInt64(at + 16, 0n, true);
  return libc.ppoll(s.address + at, 1, s.address + at + 8, 0) !== 0;
}

function mqTimedsend(k: Task, a: Float64Array): number {
  const msg = a[1], len = a[2], prio = a[3] >>> 0, timeout = a[4];
  if (len < 0 || !k.proc.canRead(msg, len)) return -E.EFAULT;
  const base = k.proc.hostBase;
  return transfer(
    k,
    a[0] | 0,
    POLLOUT,
    timeout,
    (h) => sys(NR.send, h, base + msg, len, prio, timeout === 0 ? 0 : base + timeout),
  );
}

function mqTimedreceive(k: Task, a: Float64Array): number {
  const msg = a[1], len = a[2], prio = a[3], timeout = a[4];
  if (len < 0 || !k.proc.canWrite(msg, len)) return -E.EFAULT;
  if (prio !== 0 && !k.proc.canWrite(prio, 4)) return -E.EFAULT;
  const base = k.proc.hostBase;
  return transfer(k, a[0] | 0, POLLIN, timeout, (h) =>
    sys(
      NR.receive,
      h,
      base + msg,
      len,
      prio === 0 ? 0 : base + prio,
      timeout === 0 ? 0 : base + timeout,
    ));
}

const SIGEV_SIGNAL = 0, SIGEV_NONE = 1, SIGEV_THREAD = 2;

/**
 * mq_notify: SIGEV_SIGNAL goes to the elfuse process, which is the guest's (signal numbers are
 * the same); SIGEV_THREAD (glibc's helper thread) names a netlink socket in sigev_signo and a
 * 32-byte cookie at sigev_value: the host gets the socket's host fd and the cookie's address.
 */
function mqNotify(k: Task, a: Float64Array): number {
  const e = k.proc.fds.get(a[0] | 0);
  if (e === undefined) return -E.EBADF;
  const sev = a[1];
  if (sev === 0) return k.host(sys(NR.notify, e.hostFd, 0));
  if (!k.proc.canRead(sev, SIGEVENT)) return -E.EFAULT;
  const s = k.rt.scratch, at = Slot.BUFFER;
  s.u8.set(k.proc.mem.subarray(sev, sev + SIGEVENT), at);
  const notify = s.view.getInt32(at + 12, true);
  if (notify === SIGEV_THREAD) {
    const sock = k.proc.fds.get(s.view.getInt32(at + 8, true));
    if (sock === undefined) return -E.EBADF;
    const cookie = Number(s.view.getBigUint64(at, true));
    if (!k.proc.canRead(cookie, NOTIFY_COOKIE_LEN)) return -E.EFAULT;
    s.view.setInt32(at + 8, sock.hostFd, true);
    s.view.setBigUint64(at, BigInt(k.proc.hostBase + cookie), true);
  } else if (notify !== SIGEV_SIGNAL && notify !== SIGEV_NONE) return -E.EINVAL;
  return k.host(sys(NR.notify, e.hostFd, s.address + at));
}

function mqGetsetattr(k: Task, a: Float64Array): number {
  const e = k.proc.fds.get(a[0] | 0);
  if (e === undefined) return -E.EBADF;
  const set = a[1], old = a[2];
  if (set !== 0 && !k.proc.canRead(set, MQ_ATTR)) return -E.EFAULT;
  if (old !== 0 && !k.proc.canWrite(old, MQ_ATTR)) return -E.EFAULT;
  const base = k.proc.hostBase;
  // mq_flags holds only O_NONBLOCK, the same bit on both.
  return k.host(sys(NR.attr, e.hostFd, set === 0 ? 0 : base + set, old === 0 ? 0 : base + old));
}

const linuxOnly = (h: (k: Task, a: Float64Array) => number) => onLinux ? h : () => -E.ENOSYS;
const NOTE = "the host's queues (Linux hosts); ENOSYS on macOS (XNU has no POSIX message queues)";

export const mqueueSyscalls: SyscallDef[] = [
  {
    name: "mq_open",
    handler: linuxOnly(mqOpen),
    args: ["path", "oflags", "octal", "ptr"],
    status: "partial",
    note: NOTE,
  },
  {
    name: "mq_unlink",
    handler: linuxOnly(mqUnlink),
    args: ["path"],
    status: "partial",
    note: NOTE,
  },
  {
    name: "mq_timedsend",
    handler: linuxOnly(mqTimedsend),
    args: ["fd", "inbuf", "uint", "uint", "ptr"],
    status: "partial",
    note: `${NOTE}; a waiting thread lets the others run`,
  },
  {
    name: "mq_timedreceive",
    handler: linuxOnly(mqTimedreceive),
    args: ["fd", "outbuf", "uint", "ptr", "ptr"],
    status: "partial",
    note: `${NOTE}; a waiting thread lets the others run`,
  },
  {
    name: "mq_notify",
    handler: linuxOnly(mqNotify),
    args: ["fd", "ptr"],
    status: "partial",
    note:
      `${NOTE}; SIGEV_SIGNAL (its siginfo says SI_USER, not SI_MESGQ: a host signal's siginfo does not reach the guest), SIGEV_NONE, SIGEV_THREAD (glibc's netlink helper)`,
  },
  {
    name: "mq_getsetattr",
    handler: linuxOnly(mqGetsetattr),
    args: ["fd", "ptr", "ptr"],
    status: "partial",
    note: NOTE,
  },
];
