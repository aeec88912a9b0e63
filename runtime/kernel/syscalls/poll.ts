// ppoll and pselect6 over host fds: guest fds are translated into a host pollfd array in scratch
// memory, the wait goes through blocking.ts, and the results are translated back.
import { Slot } from "../scratch.ts";
import { waitFds } from "../blocking.ts";
import { E } from "../errno.ts";
import type { Task } from "../task.ts";
import type { SyscallDef } from "../syscall_def.ts";

const POLLIN = 0x1, POLLPRI = 0x2, POLLOUT = 0x4, POLLERR = 0x8, POLLHUP = 0x10, POLLNVAL = 0x20;
const POLLRDNORM = 0x40, POLLRDBAND = 0x80, POLLWRNORM = 0x100, POLLWRBAND = 0x200;
const MAX_FDS = 4096;
/** Scratch layout: pollfd array at 0 (8 bytes each), timespec after it. */
const TIMEOUT_SLOT = Slot.BUFFER + MAX_FDS * 8;

/** Copies a guest timespec for the wait; 0 means "no timeout"; -errno when invalid. */
function timeoutArg(k: Task, addr: number): number {
  if (addr === 0) return 0;
  if (!k.proc.canRead(addr, 16)) return -E.EFAULT;
  const sec = k.proc.readI64(addr), nsec = k.proc.readI64(addr + 8);
  if (sec < 0 || nsec < 0 || nsec >= 1e9) return -E.EINVAL;
  const v = k.rt.scratch.view;
  v.setBigInt64(TIMEOUT_SLOT, BigInt(sec), true);
  v.setBigInt64(TIMEOUT_SLOT + 8, BigInt(nsec), true);
  return k.rt.scratch.address + TIMEOUT_SLOT;
}

/** Linux writes the time left back into the guest's timespec (ppoll and pselect6 do). */
function writeRemaining(k: Task, addr: number, startMs: number): void {
  if (addr === 0) return;
  const total = k.proc.readI64(addr) * 1e9 + k.proc.readI64(addr + 8);
  const left = Math.max(0, total - Math.round((performance.now() - startMs) * 1e6));
  k.proc.writeU64(addr, Math.floor(left / 1e9));
  k.proc.writeU64(addr + 8, left % 1e9);
}

function zeroTimeout(k: Task): number {
  k.rt.scratch.view.setBigInt64(TIMEOUT_SLOT, 0n, true);
  k.rt.scratch.view.setBigInt64(TIMEOUT_SLOT + 8, 0n, true);
  return k.rt.scratch.address + TIMEOUT_SLOT;
}

function ppoll(k: Task, a: Float64Array): number {
  const fds = a[0], n = a[1];
  if (n < 0 || n > Math.min(MAX_FDS, k.proc.fds.limit)) return -E.EINVAL;
  if (!k.proc.canWrite(fds, n * 8)) return -E.EFAULT;
  let timeout = timeoutArg(k, a[2]);
  if (timeout < 0) return timeout;
  if (a[3] !== 0 && a[4] !== 8) return -E.EINVAL; // sizeof(sigset_t) in the kernel
  const start = performance.now();
  const s = k.rt.scratch.view;
  let invalid = 0;
  for (let i = 0; i < n; i++) {
    const fd = k.proc.view.getInt32(fds + i * 8, true);
    const e = fd < 0 ? undefined : k.proc.fds.get(fd);
    if (fd >= 0 && e === undefined) invalid++;
    s.setInt32(i * 8, e === undefined ? -1 : e.hostFd, true);
    s.setInt16(i * 8 + 4, k.proc.view.getInt16(fds + i * 8 + 4, true), true);
    s.setInt16(i * 8 + 6, 0, true);
  }
  if (invalid > 0) timeout = zeroTimeout(k); // POLLNVAL counts as ready: do not wait
  const r = waitFds(k, k.rt.scratch.address, n, timeout);
  if (a[2] !== 0 && invalid === 0) writeRemaining(k, a[2], start);
  if (r < 0) return r;
  for (let i = 0; i < n; i++) {
    const fd = k.proc.view.getInt32(fds + i * 8, true);
    const rev = fd >= 0 && k.proc.fds.get(fd) === undefined
      ? POLLNVAL
      : s.getInt16(i * 8 + 6, true);
    k.proc.view.setInt16(fds + i * 8 + 6, rev, true);
  }
  return r + invalid;
}

const READ_EVENTS = POLLIN | POLLRDNORM | POLLRDBAND | POLLHUP | POLLERR;
const WRITE_EVENTS = POLLOUT | POLLWRNORM | POLLWRBAND | POLLERR;

function pselect6(k: Task, a: Float64Array): number {
  const nfds = a[0] | 0;
  const sets = [a[1], a[2], a[3]];
  if (nfds < 0 || nfds > MAX_FDS) return -E.EINVAL;
  const bytes = Math.ceil(nfds / 64) * 8;
  for (const set of sets) if (set !== 0 && !k.proc.canWrite(set, bytes)) return -E.EFAULT;
  const timeout = timeoutArg(k, a[4]);
  if (timeout < 0) return timeout;
  const sigArg = a[5];
  if (sigArg !== 0) {
    // struct { const sigset_t *ss; size_t ss_len; }
    if (!k.proc.canRead(sigArg, 16)) return -E.EFAULT;
    if (k.proc.readU64(sigArg) !== 0 && k.proc.readU64(sigArg + 8) !== 8) return -E.EINVAL;
  }
  const start = performance.now();
  const s = k.rt.scratch.view;
  const polled: number[] = [];
  const bit = (set: number, fd: number) =>
    set !== 0 && (k.proc.mem[set + (fd >> 3)] & (1 << (fd & 7))) !== 0;
  for (let fd = 0; fd < nfds; fd++) {
    const r = bit(sets[0], fd), w = bit(sets[1], fd), x = bit(sets[2], fd);
    if (!r && !w && !x) continue;
    const e = k.proc.fds.get(fd);
    if (e === undefined) return -E.EBADF;
    const i = polled.length;
    s.setInt32(i * 8, e.hostFd, true);
    s.setInt16(i * 8 + 4, (r ? POLLIN : 0) | (w ? POLLOUT : 0) | (x ? POLLPRI : 0), true);
    s.setInt16(i * 8 + 6, 0, true);
    polled.push(fd);
  }
  const r = waitFds(k, k.rt.scratch.address, polled.length, timeout);
  writeRemaining(k, a[4], start);
  if (r < 0) return r;
  for (const set of sets) if (set !== 0) k.proc.mem.fill(0, set, set + bytes);
  let count = 0;
  polled.forEach((fd, i) => {
    const rev = s.getInt16(i * 8 + 6, true);
    const want = s.getInt16(i * 8 + 4, true);
    const marks: [number, boolean][] = [
      [sets[0], (want & POLLIN) !== 0 && (rev & READ_EVENTS) !== 0],
      [sets[1], (want & POLLOUT) !== 0 && (rev & WRITE_EVENTS) !== 0],
      [sets[2], (want & POLLPRI) !== 0 && (rev & POLLPRI) !== 0],
    ];
    for (const [set, on] of marks) {
      if (!on) continue;
      k.proc.mem[set + (fd >> 3)] |= 1 << (fd & 7);
      count++;
    }
  });
  return count;
}

export const pollSyscalls: SyscallDef[] = [
  {
    name: "ppoll",
    handler: ppoll,
    args: ["ptr", "uint", "ptr", "ptr", "uint"],
    status: "partial",
    note: "the temporary signal mask is ignored until signals are delivered",
  },
  {
    name: "pselect6",
    handler: pselect6,
    args: ["int", "ptr", "ptr", "ptr", "ptr", "ptr"],
    status: "partial",
    note: "as ppoll",
  },
];
