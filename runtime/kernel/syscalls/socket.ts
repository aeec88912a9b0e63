// Sockets: AF_UNIX (stream, datagram, seqpacket; path and abstract names), AF_INET and AF_INET6
// (TCP, UDP), and AF_NETLINK NETLINK_ROUTE, all the host's own sockets. On a Linux host the guest's
// structs are the host's (host/socket_host.ts `identity`): sockaddrs and option values go to the
// host in place after the pointer checks, so the host kernel answers bad lengths and families as
// Linux does; a netlink route socket is the host's, so RTM_GETLINK and RTM_GETADDR dumps list the
// host's interfaces (getifaddrs, if_nametoindex, `ip`). What is always rebuilt: struct msghdr
// (guest pointers become host addresses) and control messages, where SCM_RIGHTS carries guest fd
// numbers one way and newly installed guest fds the other. Options are served from the table in
// socket_abi.ts (anything else: ENOPROTOOPT).
//
// Blocking (wait.ts): a process with one thread makes blocking host calls, which the signal
// listener's kick interrupts (EINTR, restarted as Linux restarts socket calls, dispatch.ts).
// With other threads the call is made with MSG_DONTWAIT (or the socket briefly non-blocking, for
// connect), and a call that would have blocked parks its thread on the socket, until the socket's
// SO_RCVTIMEO/SO_SNDTIMEO when one is set; the syscall then runs again.
import { libc } from "../../host/libc.ts";
import { errnoToLinux, socketHost as H } from "../../host/mod.ts";
import { mayBlock } from "../blocking.ts";
import { HOST_O_NONBLOCK, POLLIN, POLLOUT } from "../blocking.ts";
import { E } from "../errno.ts";
import type { FdEntry } from "../fdtable.ts";
import { Slot } from "../scratch.ts";
import { sendSelf } from "../signal_delivery.ts";
import {
  AF_INET,
  AF_INET6,
  AF_NETLINK,
  AF_UNIX,
  CMSGHDR,
  MMSGHDR,
  MSG,
  MSGHDR,
  NETLINK_ROUTE,
  SCM_CREDENTIALS,
  SCM_RIGHTS,
  SO_ERROR,
  SO_RCVTIMEO,
  SO_SNDTIMEO,
  SOCK_CLOEXEC,
  SOCK_NONBLOCK,
  SOCK_SEQPACKET,
  SOCK_STREAM,
  SOCK_TYPE_MASK,
  SOCKADDR_MAX,
  SOL_SOCKET,
  UIO_MAXIOV,
} from "../socket_abi.ts";
import type { SyscallDef } from "../syscall_def.ts";
import type { Task } from "../task.ts";
import { deadlineIn, ERESTARTSYS, Outcome } from "../wait.ts";
import { install } from "./fd.ts";
import { hostIovecs } from "./io.ts";

const F_GETFL = 3, F_SETFL = 4, F_SETFD = 2, FD_CLOEXEC = 1;
const SIGPIPE = 13;
const MAX_RW = 0x7ffff000;
const CONTROL_MAX = 0x1_0000;
const INT_MAX = 0x7fffffff;
const onLinux = Deno.build.os === "linux";
const align = (n: number, to: number) => Math.ceil(n / to) * to;

function sock(k: Task, fd: number): FdEntry | undefined {
  return k.proc.fds.get(fd | 0);
}

/** Other threads share the vCPU: a call must not hold the host thread while it waits. */
function threaded(k: Task): boolean {
  return k.proc.tasks.length > 1;
}

/** The host's SOCK_* type flags for Linux's (or applies them after, on hosts without them). */
function typeFlags(flags: number): number {
  return H.sockCloexec | ((flags & SOCK_NONBLOCK) !== 0 ? H.sockNonblock : 0);
}

function applyFlags(h: number, flags: number): void {
  if (H.sockCloexec !== 0) return;
  libc.fcntl(h, F_SETFD, FD_CLOEXEC);
  if ((flags & SOCK_NONBLOCK) !== 0) libc.fcntl(h, F_SETFL, HOST_O_NONBLOCK);
}

/** The host family for a socket(2) domain and protocol, or -errno. */
function hostFamily(domain: number, protocol: number): number {
  if (domain !== AF_UNIX && domain !== AF_INET && domain !== AF_INET6 && domain !== AF_NETLINK) {
    return -E.EAFNOSUPPORT;
  }
  // Only the route family of netlink (interfaces, addresses, routes); others are the host's
  // business (audit, uevents, ...) and answer as a kernel without them would.
  if (domain === AF_NETLINK && protocol !== NETLINK_ROUTE) return -E.EPROTONOSUPPORT;
  const f = H.family(domain);
  return f < 0 ? -E.EAFNOSUPPORT : f;
}

// --- Addresses. The length of the host sockaddr addrIn() made (handlers run one at a time).
let hostLen = 0;

/**
 * A guest sockaddr argument for the host: its host address (hostLen set), 0 for none, or -errno.
 * Linux's move_addr_to_kernel: a length past sockaddr_storage is EINVAL, an unreadable one EFAULT.
 */
function addrIn(k: Task, addr: number, len: number): number {
  hostLen = 0;
  if (len < 0 || len > SOCKADDR_MAX) return -E.EINVAL;
  if (len === 0) return 0;
  if (!k.proc.canRead(addr, len)) return -E.EFAULT;
  hostLen = len;
  if (H.identity) return k.proc.hostBase + addr;
  const s = k.rt.scratch;
  const n = H.addrToHost(
    k.proc.mem.subarray(addr, addr + len),
    s.u8.subarray(Slot.SOCKADDR, Slot.SOCKADDR + SOCKADDR_MAX),
  );
  if (n < 0) return n;
  hostLen = n;
  return s.address + Slot.SOCKADDR;
}

/** Host pointers for an address the host writes (accept, getsockname, recvfrom). */
let outAddr = 0, outLen = 0;

/** Checks a guest (addr, *addrlen) pair the call fills; sets outAddr/outLen; 0 or -errno. */
function addrOut(k: Task, addr: number, lenp: number): number {
  outAddr = outLen = 0;
  if (addr === 0) return 0;
  if (!k.proc.canWrite(lenp, 4)) return -E.EFAULT;
  const len = k.proc.view.getInt32(lenp, true);
  if (len < 0) return -E.EINVAL;
  if (!k.proc.canWrite(addr, len)) return -E.EFAULT;
  if (H.identity) {
    outAddr = k.proc.hostBase + addr;
    outLen = k.proc.hostBase + lenp;
    return 0;
  }
  const s = k.rt.scratch;
  s.view.setUint32(Slot.SOCKLEN, SOCKADDR_MAX, true);
  outAddr = s.address + Slot.SOCKADDR;
  outLen = s.address + Slot.SOCKLEN;
  return 0;
}

/** After the host filled outAddr: a translated address into the guest's buffer and length. */
function addrOutDone(k: Task, addr: number, lenp: number): void {
  if (H.identity || addr === 0) return;
  const s = k.rt.scratch, n = s.view.getUint32(Slot.SOCKLEN, true);
  const room = k.proc.view.getInt32(lenp, true);
  const full = H.addrFromHost(
    s.u8.subarray(Slot.SOCKADDR, Slot.SOCKADDR + Math.min(n, SOCKADDR_MAX)),
    k.proc.mem.subarray(addr, addr + room),
  );
  k.proc.view.setInt32(lenp, full, true);
}

// --- Waiting.

/** A wait of this syscall that ended: 0 to make the call again, else its result. */
function afterWait(k: Task): number {
  const w = k.resumed();
  if (w === undefined || w.outcome === Outcome.Ready) return 0;
  if (w.outcome === Outcome.Timeout && w.fds === undefined) return 0; // a retry (MSG_WAITALL)
  // Timeout: the socket's SO_RCVTIMEO/SO_SNDTIMEO passed, and Linux answers EAGAIN.
  return w.outcome === Outcome.Signal ? -ERESTARTSYS : -E.EAGAIN;
}

/** When the socket's timeout option (SO_RCVTIMEO/SO_SNDTIMEO) ends a wait that starts now. */
function timeoutDeadline(k: Task, h: number, opt: number): number {
  const o = H.option(SOL_SOCKET, opt);
  const s = k.rt.scratch, at = Slot.SOCKOPT;
  s.view.setBigUint64(at, 0n, true);
  s.view.setBigUint64(at + 8, 0n, true);
  s.view.setUint32(at + 16, 16, true);
  if (o === undefined || libc.getsockopt(h, o[0], o[1], s.address + at, s.address + at + 16) < 0) {
    return Infinity;
  }
  // struct timeval: i64 seconds, then microseconds (i64 on Linux, i32 on XNU: the low half).
  const sec = Number(s.view.getBigInt64(at, true)), usec = s.view.getInt32(at + 8, true);
  return sec === 0 && usec === 0 ? Infinity : deadlineIn(sec * 1e9 + usec * 1e3);
}

/**
 * A call made with MSG_DONTWAIT (other threads) answered `r`: when it would have blocked a
 * blocking socket, park the thread until `events` (or the socket's timeout); else `r`.
 */
function parkIfBlocked(k: Task, e: FdEntry, r: number, flags: number, events: number): number {
  if (r !== -E.EAGAIN || !threaded(k) || (flags & MSG.DONTWAIT) !== 0) return r;
  if ((libc.fcntl(e.hostFd, F_GETFL, 0) & HOST_O_NONBLOCK) !== 0) return r;
  const deadline = timeoutDeadline(k, e.hostFd, events === POLLIN ? SO_RCVTIMEO : SO_SNDTIMEO);
  return k.block({ fds: [{ hostFd: e.hostFd, events }], deadline });
}

/** Host MSG_* flags for a guest call: translated, never SIGPIPE, never waiting with threads. */
function hostFlags(k: Task, flags: number): number {
  return H.msgFlagsToHost(flags & ~(MSG.CMSG_CLOEXEC | MSG.WAITFORONE)) | H.msgNosignal |
    (threaded(k) ? H.msgDontwait : 0);
}

/** A send that hit a connection closed for writing raises SIGPIPE unless MSG_NOSIGNAL (Linux). */
function sent(k: Task, r: number, flags: number): number {
  if (r === -E.EPIPE && (flags & MSG.NOSIGNAL) === 0) sendSelf(k, SIGPIPE, 0, 0n, 0);
  return r;
}

// --- Creating, naming, connecting.

function socket(k: Task, a: Float64Array): number {
  const domain = a[0] | 0, type = a[1] | 0, protocol = a[2] | 0;
  const flags = type & ~SOCK_TYPE_MASK;
  if ((flags & ~(SOCK_NONBLOCK | SOCK_CLOEXEC)) !== 0) return -E.EINVAL;
  const family = hostFamily(domain, protocol);
  if (family < 0) return family;
  let kind = type & SOCK_TYPE_MASK;
  // macOS has no AF_UNIX SOCK_SEQPACKET: Rosetta's socket for rosettad is a stream there, as the
  // bridge's socketpair is (x86/rosettad_bridge.ts BRIDGE_SOCKET_TYPE).
  if (!onLinux && kind === SOCK_SEQPACKET && domain === AF_UNIX && k.proc.rosettadConnect) {
    kind = SOCK_STREAM;
  }
  const h = libc.socket(family, kind | typeFlags(flags), protocol);
  if (h < 0) return k.fail();
  applyFlags(h, flags);
  return install(k, h, (flags & SOCK_CLOEXEC) !== 0, "socket:");
}

function socketpair(k: Task, a: Float64Array): number {
  const domain = a[0] | 0, type = a[1] | 0, protocol = a[2] | 0, sv = a[3];
  const flags = type & ~SOCK_TYPE_MASK;
  if ((flags & ~(SOCK_NONBLOCK | SOCK_CLOEXEC)) !== 0) return -E.EINVAL;
  const family = hostFamily(domain, protocol);
  if (family < 0) return family;
  if (!k.proc.canWrite(sv, 8)) return -E.EFAULT;
  const s = k.rt.scratch, at = Slot.SOCKPAIR;
  const r = libc.socketpair(
    family,
    (type & SOCK_TYPE_MASK) | typeFlags(flags),
    protocol,
    s.address + at,
  );
  if (r < 0) return k.fail();
  const h0 = s.view.getInt32(at, true), h1 = s.view.getInt32(at + 4, true);
  applyFlags(h0, flags);
  applyFlags(h1, flags);
  const cloexec = (flags & SOCK_CLOEXEC) !== 0;
  const g0 = install(k, h0, cloexec, "socket:");
  if (g0 < 0) {
    libc.close(h1);
    return g0;
  }
  const g1 = install(k, h1, cloexec, "socket:");
  if (g1 < 0) {
    k.proc.fds.close(g0);
    return g1;
  }
  k.proc.view.setInt32(sv, g0, true);
  k.proc.view.setInt32(sv + 4, g1, true);
  return 0;
}

function bind(k: Task, a: Float64Array): number {
  const e = sock(k, a[0]);
  if (e === undefined) return -E.EBADF;
  const p = addrIn(k, a[1], a[2] | 0);
  return p < 0 ? p : k.host(libc.bind(e.hostFd, p, hostLen));
}

function listen(k: Task, a: Float64Array): number {
  const e = sock(k, a[0]);
  return e === undefined ? -E.EBADF : k.host(libc.listen(e.hostFd, a[1] | 0));
}

/** The pending error of a socket (SO_ERROR), as -errno or 0. */
function pendingError(k: Task, h: number): number {
  const s = k.rt.scratch, at = Slot.SOCKOPT, o = H.option(SOL_SOCKET, SO_ERROR)!;
  s.view.setInt32(at, 0, true);
  s.view.setUint32(at + 16, 4, true);
  if (libc.getsockopt(h, o[0], o[1], s.address + at, s.address + at + 16) < 0) return k.fail();
  const err = s.view.getInt32(at, true);
  return err === 0 ? 0 : -errnoToLinux(err);
}

/** How often a thread in a MSG_WAITALL receive looks again while only part has arrived. */
const WAITALL_RETRY_MS = 1;

/** How often a thread whose unix connect found the listener's backlog full tries again. */
const CONNECT_RETRY_MS = 5;

/**
 * connect: with other threads a blocking socket connects non-blocking and the thread parks until
 * the connection is made or refused (its SO_ERROR then is connect's answer), as Linux's
 * inet_stream_connect waits; a unix socket whose listener's backlog is full tries again.
 */
function connect(k: Task, a: Float64Array): number {
  const e = sock(k, a[0]);
  if (e === undefined) return -E.EBADF;
  const h = e.hostFd;
  const w = k.resumed();
  if (w?.outcome === Outcome.Signal) return -ERESTARTSYS;
  if (w !== undefined && w.fds !== undefined) {
    return w.outcome === Outcome.Timeout ? -E.EINPROGRESS : pendingError(k, h);
  }
  const bridge = k.proc.rosettadConnect;
  if (bridge !== undefined) {
    // Rosetta's connect to rosettad (x86/rosettad_bridge.ts); its sockaddr may be in its image.
    const len = a[2] | 0, at = len > 0 && len <= SOCKADDR_MAX ? k.proc.readable(a[1], len) : -1;
    const r = at < 0 ? undefined : bridge(k.proc.mem.subarray(at, at + len), h);
    if (r !== undefined) return r < 0 ? k.fail() : r;
  }
  const p = addrIn(k, a[1], a[2] | 0);
  if (p < 0) return p;
  if (!threaded(k)) return k.host(libc.connect(h, p, hostLen));
  const fl = libc.fcntl(h, F_GETFL, 0);
  if ((fl & HOST_O_NONBLOCK) !== 0) return k.host(libc.connect(h, p, hostLen));
  libc.fcntl(h, F_SETFL, fl | HOST_O_NONBLOCK);
  const r = k.host(libc.connect(h, p, hostLen));
  libc.fcntl(h, F_SETFL, fl);
  if (r === -E.EAGAIN) return k.block({ deadline: performance.now() + CONNECT_RETRY_MS });
  if (r !== -E.EINPROGRESS) return r;
  return k.block({
    fds: [{ hostFd: h, events: POLLOUT }],
    deadline: timeoutDeadline(k, h, SO_SNDTIMEO),
  });
}

function accept4(k: Task, fd: number, addr: number, lenp: number, flags: number): number {
  if ((flags & ~(SOCK_NONBLOCK | SOCK_CLOEXEC)) !== 0) return -E.EINVAL;
  const e = sock(k, fd);
  if (e === undefined) return -E.EBADF;
  const r = addrOut(k, addr, lenp);
  if (r < 0) return r;
  const wait = mayBlock(k, e.hostFd, POLLIN);
  if (wait !== 0) return wait;
  const h = onLinux
    ? libc.accept4(e.hostFd, outAddr, outLen, typeFlags(flags))
    : libc.accept(e.hostFd, outAddr, outLen);
  if (h < 0) return k.fail();
  applyFlags(h, flags);
  addrOutDone(k, addr, lenp);
  return install(k, h, (flags & SOCK_CLOEXEC) !== 0, "socket:");
}

function sockName(peer: boolean) {
  return (k: Task, a: Float64Array): number => {
    const e = sock(k, a[0]);
    if (e === undefined) return -E.EBADF;
    if (a[1] === 0) return -E.EFAULT;
    const r = addrOut(k, a[1], a[2]);
    if (r < 0) return r;
    const call = peer ? libc.getpeername : libc.getsockname;
    if (call(e.hostFd, outAddr, outLen) < 0) return k.fail();
    addrOutDone(k, a[1], a[2]);
    return 0;
  };
}

function shutdown(k: Task, a: Float64Array): number {
  const e = sock(k, a[0]);
  if (e === undefined) return -E.EBADF;
  const how = a[1] | 0;
  if (how < 0 || how > 2) return -E.EINVAL; // SHUT_RD, SHUT_WR, SHUT_RDWR
  return k.host(libc.shutdown(e.hostFd, how));
}

// --- Data.

function sendto(k: Task, a: Float64Array): number {
  const e = sock(k, a[0]);
  if (e === undefined) return -E.EBADF;
  const buf = a[1], len = Math.min(a[2], MAX_RW), flags = a[3] | 0;
  if (!k.proc.canRead(buf, len)) return -E.EFAULT;
  const w = afterWait(k);
  if (w !== 0) return w;
  let p = 0;
  hostLen = 0;
  if (a[4] !== 0) {
    p = addrIn(k, a[4], a[5] | 0);
    if (p < 0) return p;
  }
  const r = k.host(
    Number(libc.sendto(e.hostFd, k.proc.hostBase + buf, len, hostFlags(k, flags), p, hostLen)),
  );
  return parkIfBlocked(k, e, sent(k, r, flags), flags, POLLOUT);
}

function recvfrom(k: Task, a: Float64Array): number {
  const e = sock(k, a[0]);
  if (e === undefined) return -E.EBADF;
  const buf = a[1], len = Math.min(a[2], MAX_RW), flags = a[3] | 0;
  if (!k.proc.canWrite(buf, len)) return -E.EFAULT;
  const w = afterWait(k);
  if (w !== 0) return w;
  const r0 = addrOut(k, a[4], a[5]);
  if (r0 < 0) return r0;
  if ((flags & (MSG.WAITALL | MSG.DONTWAIT)) === MSG.WAITALL && threaded(k)) {
    // MSG_WAITALL without holding the host thread: while only part of `len` is queued, look
    // again shortly (the socket is readable, so a poll would not wait for the rest).
    const peek = Number(
      libc.recvfrom(
        e.hostFd,
        k.proc.hostBase + buf,
        len,
        H.msgFlagsToHost(MSG.PEEK) | H.msgDontwait,
        0,
        0,
      ),
    );
    if (peek > 0 && peek < len && (libc.fcntl(e.hostFd, F_GETFL, 0) & HOST_O_NONBLOCK) === 0) {
      return k.block({ deadline: performance.now() + WAITALL_RETRY_MS });
    }
  }
  const r = k.host(
    Number(
      libc.recvfrom(e.hostFd, k.proc.hostBase + buf, len, hostFlags(k, flags), outAddr, outLen),
    ),
  );
  if (r >= 0) addrOutDone(k, a[4], a[5]);
  return parkIfBlocked(k, e, r, flags, POLLIN);
}

/** Writes a host msghdr field of `size` bytes (4 or 8). */
function putField(view: DataView, at: number, size: 4 | 8, v: number): void {
  if (size === 8) view.setBigUint64(at, BigInt(v), true);
  else view.setUint32(at, v, true);
}

function getField(view: DataView, at: number, size: 4 | 8): number {
  return size === 8 ? Number(view.getBigUint64(at, true)) : view.getUint32(at, true);
}

/**
 * Guest control messages at `control` (`len` bytes) as the host's, in scratch: the host length,
 * or -errno (Linux's __scm_send: a malformed header is EINVAL, an fd not open EBADF).
 */
function controlToHost(k: Task, control: number, len: number): number {
  const g = k.proc.view, s = k.rt.scratch, C = H.cmsg;
  let gi = 0, hi = 0;
  while (gi + CMSGHDR.size <= len) {
    const clen = k.proc.readU64(control + gi);
    if (clen < CMSGHDR.size || gi + clen > len) return -E.EINVAL;
    const level = g.getInt32(control + gi + 8, true), type = g.getInt32(control + gi + 12, true);
    const data = control + gi + CMSGHDR.size, dlen = clen - CMSGHDR.size;
    let hlevel = level, htype = type;
    if (level === SOL_SOCKET) {
      hlevel = H.solSocket;
      htype = type === SCM_RIGHTS ? H.scmRights : type === SCM_CREDENTIALS ? H.scmCredentials : -1;
      if (htype < 0) return -E.EINVAL;
    } else if (!H.identity) return -E.EINVAL;
    const hlen = C.size + dlen, at = Slot.CONTROL + hi;
    if (hi + align(hlen, C.align) > CONTROL_MAX) return -E.ENOBUFS;
    putField(s.view, at, C.lenSize, hlen);
    s.view.setInt32(at + C.lenSize, hlevel, true);
    s.view.setInt32(at + C.lenSize + 4, htype, true);
    if (level === SOL_SOCKET && type === SCM_RIGHTS) {
      // Guest fd numbers name host fds only through the guest's own table.
      for (let i = 0; i + 4 <= dlen; i += 4) {
        const f = k.proc.fds.get(g.getInt32(data + i, true));
        if (f === undefined) return -E.EBADF;
        s.view.setInt32(at + C.size + i, f.hostFd, true);
      }
    } else s.u8.set(k.proc.mem.subarray(data, data + dlen), at + C.size);
    s.u8.fill(0, at + hlen, at + align(hlen, C.align));
    hi += align(hlen, C.align);
    gi += align(clen, CMSGHDR.align);
  }
  return hi;
}

/**
 * Host control messages (`hostLen` bytes in scratch) into the guest's buffer: received fds become
 * guest fds. Returns the guest length and whether it was cut short (MSG_CTRUNC): fds that do not
 * fit, or cannot be installed, are closed, as Linux's scm_detach_fds does.
 */
function controlFromHost(
  k: Task,
  hostLen: number,
  control: number,
  room: number,
  cloexec: boolean,
): [number, boolean] {
  const g = k.proc.view, s = k.rt.scratch, C = H.cmsg;
  let gi = 0, hi = 0, cut = false;
  while (hi + C.size <= hostLen) {
    const at = Slot.CONTROL + hi;
    const hlen = getField(s.view, at, C.lenSize);
    if (hlen < C.size || hi + hlen > hostLen) break;
    const level = s.view.getInt32(at + C.lenSize, true);
    const type = s.view.getInt32(at + C.lenSize + 4, true);
    let dlen = hlen - C.size;
    const solSocket = level === H.solSocket;
    const rights = solSocket && type === H.scmRights;
    const gtype = solSocket
      ? (rights ? SCM_RIGHTS : type === H.scmCredentials ? SCM_CREDENTIALS : type)
      : type;
    if (cut || gi + CMSGHDR.size > room) {
      cut = true;
      if (rights) {
        for (let i = 0; i + 4 <= dlen; i += 4) libc.close(s.view.getInt32(at + C.size + i, true));
      }
      hi += align(hlen, C.align);
      continue;
    }
    const data = control + gi + CMSGHDR.size;
    if (rights) {
      let n = 0;
      for (let i = 0; i + 4 <= dlen; i += 4) {
        const h = s.view.getInt32(at + C.size + i, true);
        if (cut || gi + CMSGHDR.size + n + 4 > room) {
          cut = true;
          libc.close(h);
          continue;
        }
        if (!onLinux) libc.fcntl(h, F_SETFD, FD_CLOEXEC);
        const fd = install(k, h, cloexec, "");
        if (fd < 0) {
          cut = true;
          continue;
        }
        g.setInt32(data + n, fd, true);
        n += 4;
      }
      dlen = n;
    } else {
      const fit = Math.min(dlen, room - gi - CMSGHDR.size);
      if (fit < dlen) cut = true;
      k.proc.mem.set(s.u8.subarray(at + C.size, at + C.size + fit), data);
      dlen = fit;
    }
    k.proc.writeU64(control + gi, CMSGHDR.size + dlen);
    g.setInt32(control + gi + 8, solSocket ? SOL_SOCKET : level, true);
    g.setInt32(control + gi + 12, gtype, true);
    gi += Math.min(align(CMSGHDR.size + dlen, CMSGHDR.align), room - gi);
    hi += align(hlen, C.align);
  }
  return [gi, cut];
}

/**
 * Builds the host struct msghdr (in scratch) for the guest's at `m`; 0 or -errno. Linux's
 * copy_msghdr_from_user: more than UIO_MAXIOV iovecs is EMSGSIZE, a name longer than
 * sockaddr_storage is cut to it.
 */
function hostMsghdr(k: Task, m: number, recv: boolean): number {
  if (!k.proc.canRead(m, MSGHDR.size) || (recv && !k.proc.canWrite(m, MSGHDR.size))) {
    return -E.EFAULT;
  }
  const v = k.proc.view, s = k.rt.scratch, L = H.msghdr, at = Slot.MSGHDR;
  const name = k.proc.readU64(m + MSGHDR.name);
  const namelen = Math.min(v.getInt32(m + MSGHDR.namelen, true), SOCKADDR_MAX);
  const iovlen = k.proc.readU64(m + MSGHDR.iovlen);
  const control = k.proc.readU64(m + MSGHDR.control);
  const controllen = k.proc.readU64(m + MSGHDR.controllen);
  if (namelen < 0) return -E.EINVAL;
  if (iovlen > UIO_MAXIOV) return -E.EMSGSIZE;
  const n = hostIovecs(k, k.proc.readU64(m + MSGHDR.iov), iovlen, recv);
  if (n < 0) return n;
  let hname = 0, hnamelen = 0;
  if (name !== 0) {
    if (!recv) {
      hname = addrIn(k, name, namelen);
      if (hname < 0) return hname;
      hnamelen = hostLen;
    } else {
      if (!k.proc.canWrite(name, namelen)) return -E.EFAULT;
      hname = H.identity ? k.proc.hostBase + name : s.address + Slot.SOCKADDR;
      hnamelen = H.identity ? namelen : SOCKADDR_MAX;
    }
  }
  let hcontrol = 0, hcontrollen = 0;
  if (control !== 0 && controllen > 0) {
    if (controllen > INT_MAX) return -E.ENOBUFS;
    if (!recv) {
      if (!k.proc.canRead(control, controllen)) return -E.EFAULT;
      hcontrollen = controlToHost(k, control, controllen);
      if (hcontrollen < 0) return hcontrollen;
    } else {
      if (!k.proc.canWrite(control, controllen)) return -E.EFAULT;
      hcontrollen = Math.min(controllen, CONTROL_MAX);
    }
    hcontrol = s.address + Slot.CONTROL;
  }
  s.u8.fill(0, at, at + L.size);
  s.view.setBigUint64(at + L.name, BigInt(hname), true);
  s.view.setUint32(at + L.namelen, hnamelen, true);
  s.view.setBigUint64(at + L.iov, BigInt(s.address + Slot.BUFFER), true);
  putField(s.view, at + L.iovlen, L.iovlenSize, n);
  s.view.setBigUint64(at + L.control, BigInt(hcontrol), true);
  putField(s.view, at + L.controllen, L.controllenSize, hcontrollen);
  return 0;
}

/** One sendmsg of the guest msghdr at `m`: bytes sent or -errno. */
function sendOne(k: Task, e: FdEntry, m: number, flags: number): number {
  const r = hostMsghdr(k, m, false);
  if (r < 0) return r;
  const msg = k.rt.scratch.address + Slot.MSGHDR;
  return sent(k, k.host(Number(libc.sendmsg(e.hostFd, msg, hostFlags(k, flags)))), flags);
}

/** One recvmsg into the guest msghdr at `m`: bytes received or -errno; the msghdr's lengths set. */
function recvOne(k: Task, e: FdEntry, m: number, flags: number): number {
  const r = hostMsghdr(k, m, true);
  if (r < 0) return r;
  const s = k.rt.scratch, L = H.msghdr, at = Slot.MSGHDR;
  // Received fds are close-on-exec on the host like every host fd elfuse holds.
  const got = k.host(
    Number(libc.recvmsg(e.hostFd, s.address + at, hostFlags(k, flags) | H.msgCmsgCloexec)),
  );
  if (got < 0) return got;
  const v = k.proc.view;
  const name = k.proc.readU64(m + MSGHDR.name);
  if (name !== 0) {
    const hn = s.view.getUint32(at + L.namelen, true);
    let len = hn;
    if (!H.identity) {
      const room = Math.min(v.getInt32(m + MSGHDR.namelen, true), SOCKADDR_MAX);
      len = H.addrFromHost(
        s.u8.subarray(Slot.SOCKADDR, Slot.SOCKADDR + Math.min(hn, SOCKADDR_MAX)),
        k.proc.mem.subarray(name, name + room),
      );
    }
    v.setUint32(m + MSGHDR.namelen, len, true);
  } else v.setUint32(m + MSGHDR.namelen, 0, true);
  let hflags = H.msgFlagsFromHost(s.view.getInt32(at + L.flags, true));
  const control = k.proc.readU64(m + MSGHDR.control);
  const room = k.proc.readU64(m + MSGHDR.controllen);
  let clen = 0;
  if (control !== 0 && room > 0) {
    const hlen = getField(s.view, at + L.controllen, L.controllenSize);
    const [n, cut] = controlFromHost(k, hlen, control, room, (flags & MSG.CMSG_CLOEXEC) !== 0);
    clen = n;
    if (cut) hflags |= MSG.CTRUNC;
  }
  k.proc.writeU64(m + MSGHDR.controllen, clen);
  v.setInt32(m + MSGHDR.flags, hflags, true);
  return got;
}

function sendmsg(k: Task, a: Float64Array): number {
  const e = sock(k, a[0]);
  if (e === undefined) return -E.EBADF;
  const w = afterWait(k);
  if (w !== 0) return w;
  const flags = a[2] | 0;
  return parkIfBlocked(k, e, sendOne(k, e, a[1], flags), flags, POLLOUT);
}

function recvmsg(k: Task, a: Float64Array): number {
  const e = sock(k, a[0]);
  if (e === undefined) return -E.EBADF;
  const w = afterWait(k);
  if (w !== 0) return w;
  const flags = a[2] | 0;
  return parkIfBlocked(k, e, recvOne(k, e, a[1], flags), flags, POLLIN);
}

/**
 * sendmmsg and recvmmsg: one message after another, each msg_len set; an error after the first
 * message ends the batch with the count so far (Linux keeps the error for the next call). A
 * parked thread cannot keep a partial batch, so with other threads only the first message waits.
 */
function multi(recv: boolean) {
  return (k: Task, a: Float64Array): number => {
    const e = sock(k, a[0]);
    if (e === undefined) return -E.EBADF;
    const vec = a[1], vlen = Math.min(a[2] >>> 0, UIO_MAXIOV);
    let flags = a[3] | 0;
    let deadline = Infinity;
    if (recv && a[4] !== 0) {
      if (!k.proc.canRead(a[4], 16)) return -E.EFAULT;
      const sec = k.proc.readI64(a[4]), nsec = k.proc.readI64(a[4] + 8);
      if (sec < 0 || nsec < 0 || nsec >= 1e9) return -E.EINVAL;
      deadline = deadlineIn(sec * 1e9 + nsec);
    }
    if (!k.proc.canWrite(vec, vlen * MMSGHDR.size)) return -E.EFAULT;
    const w = afterWait(k);
    if (w !== 0) return w;
    let done = 0;
    for (; done < vlen; done++) {
      const m = vec + done * MMSGHDR.size;
      const r = recv ? recvOne(k, e, m, flags) : sendOne(k, e, m, flags);
      if (r < 0) {
        if (done > 0) break;
        return parkIfBlocked(k, e, r, flags, recv ? POLLIN : POLLOUT);
      }
      k.proc.view.setUint32(m + MMSGHDR.len, r, true);
      if (recv && (flags & MSG.WAITFORONE) !== 0) flags |= MSG.DONTWAIT;
      if (threaded(k)) flags |= MSG.DONTWAIT;
      if (performance.now() >= deadline) {
        done++;
        break;
      }
    }
    return done;
  };
}

// --- Options.

function setsockopt(k: Task, a: Float64Array): number {
  const e = sock(k, a[0]);
  if (e === undefined) return -E.EBADF;
  const level = a[1] | 0, name = a[2] | 0, val = a[3], len = a[4] | 0;
  if (len < 0) return -E.EINVAL;
  const o = H.option(level, name);
  if (o === undefined) return -E.ENOPROTOOPT;
  if (len > 0 && !k.proc.canRead(val, len)) return -E.EFAULT;
  return k.host(libc.setsockopt(e.hostFd, o[0], o[1], val === 0 ? 0 : k.proc.hostBase + val, len));
}

function getsockopt(k: Task, a: Float64Array): number {
  const e = sock(k, a[0]);
  if (e === undefined) return -E.EBADF;
  const level = a[1] | 0, name = a[2] | 0, val = a[3], lenp = a[4];
  if (!k.proc.canWrite(lenp, 4)) return -E.EFAULT;
  const len = k.proc.view.getInt32(lenp, true);
  if (len < 0) return -E.EINVAL;
  const o = H.option(level, name);
  if (o === undefined) return -E.ENOPROTOOPT;
  if (len > 0 && !k.proc.canWrite(val, len)) return -E.EFAULT;
  const base = k.proc.hostBase;
  const r = libc.getsockopt(e.hostFd, o[0], o[1], val === 0 ? 0 : base + val, base + lenp);
  if (r < 0) return k.fail();
  if (level === SOL_SOCKET && name === SO_ERROR && len >= 4) {
    k.proc.view.setInt32(val, errnoToLinux(k.proc.view.getInt32(val, true)), true);
  }
  return 0;
}

const NOTE_BLOCK = "a waiting thread lets the others run";

export const socketSyscalls: SyscallDef[] = [
  {
    name: "socket",
    handler: socket,
    args: ["int", "hex", "int"],
    status: "partial",
    note:
      "AF_UNIX, AF_INET, AF_INET6 and AF_NETLINK (NETLINK_ROUTE only: EPROTONOSUPPORT for other netlink families); other families EAFNOSUPPORT; macOS: no AF_NETLINK",
  },
  {
    name: "socketpair",
    handler: socketpair,
    args: ["int", "hex", "int", "ptr"],
  },
  { name: "bind", handler: bind, args: ["fd", "ptr", "uint"] },
  { name: "listen", handler: listen, args: ["fd", "int"] },
  {
    name: "accept",
    handler: (k, a) => accept4(k, a[0], a[1], a[2], 0),
    args: ["fd", "ptr", "ptr"],
    note: NOTE_BLOCK,
  },
  {
    name: "accept4",
    handler: (k, a) => accept4(k, a[0], a[1], a[2], a[3] | 0),
    args: ["fd", "ptr", "ptr", "hex"],
    note: NOTE_BLOCK,
  },
  { name: "connect", handler: connect, args: ["fd", "ptr", "uint"], note: NOTE_BLOCK },
  { name: "getsockname", handler: sockName(false), args: ["fd", "ptr", "ptr"] },
  { name: "getpeername", handler: sockName(true), args: ["fd", "ptr", "ptr"] },
  {
    name: "sendto",
    handler: sendto,
    args: ["fd", "inbuf", "uint", "hex", "ptr", "uint"],
    status: "partial",
    note: NOTE_BLOCK +
      "; with other threads a blocking send may return a partial count (it is made with MSG_DONTWAIT)",
  },
  {
    name: "recvfrom",
    handler: recvfrom,
    args: ["fd", "outbuf", "uint", "hex", "ptr", "ptr"],
    status: "partial",
    note: NOTE_BLOCK +
      "; with other threads MSG_WAITALL looks again every millisecond until all has arrived",
  },
  {
    name: "setsockopt",
    handler: setsockopt,
    args: ["fd", "int", "int", "ptr", "uint"],
    status: "partial",
    note:
      "the options listed in kernel/socket_abi.ts (SOL_SOCKET, IPPROTO_IP, IPPROTO_IPV6, IPPROTO_TCP, IPPROTO_UDP, SOL_NETLINK); others ENOPROTOOPT; no BPF filters",
  },
  {
    name: "getsockopt",
    handler: getsockopt,
    args: ["fd", "int", "int", "ptr", "ptr"],
    status: "partial",
    note: "as setsockopt",
  },
  { name: "shutdown", handler: shutdown, args: ["fd", "int"] },
  {
    name: "sendmsg",
    handler: sendmsg,
    args: ["fd", "ptr", "hex"],
    status: "partial",
    note:
      "SCM_RIGHTS (guest fds), SCM_CREDENTIALS, and other control messages as they are on Linux hosts; " +
      NOTE_BLOCK,
  },
  {
    name: "recvmsg",
    handler: recvmsg,
    args: ["fd", "ptr", "hex"],
    status: "partial",
    note:
      "received fds are installed as guest fds (MSG_CMSG_CLOEXEC honoured, MSG_CTRUNC when they do not fit); " +
      NOTE_BLOCK,
  },
  {
    name: "sendmmsg",
    handler: multi(false),
    args: ["fd", "ptr", "uint", "hex"],
    status: "partial",
    note: "one sendmsg per message; with other threads only the first waits",
  },
  {
    name: "recvmmsg",
    handler: multi(true),
    args: ["fd", "ptr", "uint", "hex", "ptr"],
    status: "partial",
    note:
      "one recvmsg per message, MSG_WAITFORONE, the timeout checked after each; with other threads only the first waits",
  },
];
