// How FUSE frames travel between elfuse host processes: host AF_UNIX datagram sockets bound in
// the tree's private directory (mounts.ts). A /dev/fuse description is one socket (the daemon's
// read is one recvfrom: one request; its write is one sendto to the requester's address), and
// each client thread has one for its replies. A datagram keeps a frame whole, so no stream
// framing is needed, and poll/epoll on /dev/fuse is poll on the socket itself.
import { libc } from "../../host/libc.ts";

const onLinux = Deno.build.os === "linux";
const AF_UNIX = 1, SOCK_DGRAM = 2;
const SOL_SOCKET = onLinux ? 1 : 0xffff;
const SO_SNDBUF = onLinux ? 7 : 0x1001, SO_RCVBUF = onLinux ? 8 : 0x1002;
/** sizeof(struct sockaddr_un) on the host. */
export const SOCKADDR_SIZE = onLinux ? 110 : 106;
export const MSG_DONTWAIT = onLinux ? 0x40 : 0x80;
const enc = new TextEncoder(), dec = new TextDecoder();

/** A host sockaddr_un for `path`. */
export function sockaddr(path: string): Uint8Array {
  const b = new Uint8Array(SOCKADDR_SIZE);
  const p = enc.encode(path);
  if (onLinux) b[0] = AF_UNIX;
  else {
    b[0] = SOCKADDR_SIZE;
    b[1] = AF_UNIX;
  }
  b.set(p.subarray(0, SOCKADDR_SIZE - 3), 2);
  return b;
}

/** The path in a host sockaddr_un. */
export function sockaddrPath(b: Uint8Array): string {
  const end = b.indexOf(0, 2);
  return dec.decode(b.subarray(2, end < 0 ? b.length : end));
}

export function addressOf(b: Uint8Array): number {
  return Number(Deno.UnsafePointer.value(Deno.UnsafePointer.of(b)));
}

/**
 * A close-on-exec datagram socket bound at `path`, with buffers for the largest frame, or -errno
 * (host errno as a number; the caller turns it into the guest's).
 */
export function boundSocket(path: string): number {
  const fd = libc.socket(AF_UNIX, SOCK_DGRAM, 0);
  if (fd < 0) return -1;
  libc.fcntl(fd, 2, /* F_SETFD */ 1 /* FD_CLOEXEC */);
  const size = new Int32Array([1 << 20]);
  // Linux caps these at net.core.[wr]mem_max (doubled); a datagram must fit the sender's buffer.
  libc.setsockopt(fd, SOL_SOCKET, SO_SNDBUF, addressOf(new Uint8Array(size.buffer)), 4);
  libc.setsockopt(fd, SOL_SOCKET, SO_RCVBUF, addressOf(new Uint8Array(size.buffer)), 4);
  try {
    Deno.removeSync(path);
  } catch { /* not there */ }
  const sa = sockaddr(path);
  if (libc.bind(fd, addressOf(sa), SOCKADDR_SIZE) < 0) {
    libc.close(fd);
    return -1;
  }
  return fd;
}

/** Sends one datagram `bytes` to the socket at `path`: bytes sent or -1 (errno set). */
export function sendFrame(fd: number, path: string, bytes: Uint8Array, flags = 0): number {
  const sa = sockaddr(path);
  return Number(
    libc.sendto(fd, addressOf(bytes), bytes.length, flags, addressOf(sa), SOCKADDR_SIZE),
  );
}
