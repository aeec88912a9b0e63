// Passing host fds between elfuse processes with SCM_RIGHTS over a unix socket (Linux layouts:
// struct msghdr is 56 bytes, struct cmsghdr 16 bytes before its int array, on x86_64 and aarch64).
import { hostErrno, libc, Scratch } from "./libc.ts";

const SOL_SOCKET = 1, SCM_RIGHTS = 1;
/** The kernel's SCM_MAX_FD: at most this many fds in one message. */
export const MAX_FDS = 253;

const s = new Scratch(8192);
const MSG = 0, IOV = 64, DATA = 96, CONTROL = 128;

function header(controlLen: number): void {
  const v = s.view;
  s.u8.fill(0, 0, CONTROL);
  v.setBigUint64(IOV, BigInt(s.address + DATA), true); // iov_base
  v.setBigUint64(IOV + 8, 1n, true); // iov_len: one byte of payload
  v.setBigUint64(MSG + 16, BigInt(s.address + IOV), true); // msg_iov
  v.setBigUint64(MSG + 24, 1n, true); // msg_iovlen
  v.setBigUint64(MSG + 32, BigInt(s.address + CONTROL), true); // msg_control
  v.setBigUint64(MSG + 40, BigInt(controlLen), true); // msg_controllen
}

/** Sends `fds` (at most MAX_FDS) and one byte; returns 0 or -1. */
export function sendFds(sock: number, fds: number[]): number {
  const len = 16 + 4 * fds.length;
  header((len + 7) & ~7);
  const v = s.view;
  v.setBigUint64(CONTROL, BigInt(len), true);
  v.setInt32(CONTROL + 8, SOL_SOCKET, true);
  v.setInt32(CONTROL + 12, SCM_RIGHTS, true);
  fds.forEach((fd, i) => v.setInt32(CONTROL + 16 + 4 * i, fd, true));
  s.u8[DATA] = 1;
  return Number(libc.sendmsg(sock, s.address + MSG, 0)) === 1 ? 0 : -1;
}

/** Blocks for one message; returns the fds it carried, or undefined at end of stream. */
export function receiveFds(sock: number): number[] | undefined {
  header(8192 - CONTROL);
  let n: number;
  do n = Number(libc.recvmsg(sock, s.address + MSG, 0x40000000 /* MSG_CMSG_CLOEXEC */)); while (
    n < 0 && hostErrno() === 4 /* EINTR */
  );
  if (n <= 0) return undefined;
  const v = s.view;
  const len = Number(v.getBigUint64(CONTROL, true));
  if (len < 16 || v.getInt32(CONTROL + 8, true) !== SOL_SOCKET) return [];
  const out: number[] = [];
  for (let i = 0; i < (len - 16) / 4; i++) out.push(v.getInt32(CONTROL + 16 + 4 * i, true));
  return out;
}
