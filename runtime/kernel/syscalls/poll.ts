// ppoll and pselect6 over host fds: guest fds are translated into a host pollfd array in scratch
// memory and polled without waiting; when nothing is ready the thread parks on those fds, its
// deadline and its temporary signal mask (wait.ts), and polls again when the wait ends.
import { Slot } from "../scratch.ts";
import { libc } from "../../host/libc.ts";
import { E } from "../errno.ts";
import { maskForHandler, signalWaiting, temporaryMask } from "../signal_delivery.ts";
import type { Task } from "../task.ts";
import type { SyscallDef } from "../syscall_def.ts";
import { deadlineIn, ERESTARTNOHAND, msUntil, Outcome } from "../wait.ts";

const POLLIN = 0x1, POLLPRI = 0x2, POLLOUT = 0x4, POLLERR = 0x8, POLLHUP = 0x10, POLLNVAL = 0x20;
const POLLRDNORM = 0x40, POLLRDBAND = 0x80, POLLWRNORM = 0x100, POLLWRBAND = 0x200;
const MAX_FDS = 4096;
/** Scratch layout: the pollfd array in the handler's buffer (8 bytes each), a zero timespec after. */
const FDS = Slot.BUFFER, ZERO = Slot.BUFFER + MAX_FDS * 8;

/** A guest timespec as nanoseconds; Infinity for none (NULL); -errno when invalid. */
function timeoutArg(k: Task, addr: number): number {
  if (addr === 0) return Infinity;
  if (!k.proc.canRead(addr, 16)) return -E.EFAULT;
  const sec = k.proc.readI64(addr), nsec = k.proc.readI64(addr + 8);
  if (sec < 0 || nsec < 0 || nsec >= 1e9) return -E.EINVAL;
  return sec * 1e9 + nsec;
}

/** Linux writes the time left back into the guest's timespec (ppoll and pselect6 do). */
function writeRemaining(k: Task, addr: number, deadline: number): void {
  if (addr === 0 || deadline === Infinity) return;
  const left = Math.round(msUntil(deadline) * 1e6);
  k.proc.writeU64(addr, Math.floor(left / 1e9));
  k.proc.writeU64(addr + 8, left % 1e9);
}

/**
 * The wait shared by ppoll and pselect6, after the `n` host pollfds are in scratch: polls them
 * without waiting; returns the host's ready count (revents filled in), 0 at the deadline,
 * -ERESTARTNOHAND when a signal interrupts (a handler runs with `mask` blocked), or the BLOCKED
 * result of parking. `deadline` is for a first call; a resumed one keeps its wait's.
 */
function pollOrPark(
  k: Task,
  n: number,
  ready: number,
  ns: number,
  mask: [number, number] | undefined,
): { r: number; deadline: number } {
  const w = k.resumed();
  const deadline = w?.deadline ?? (ns === Infinity ? Infinity : deadlineIn(ns));
  const s = k.rt.scratch;
  s.view.setBigInt64(ZERO, 0n, true);
  s.view.setBigInt64(ZERO + 8, 0n, true);
  const r = libc.ppoll(s.address + FDS, n, s.address + ZERO, 0);
  if (r < 0) return { r: k.fail(), deadline };
  if (r + ready > 0 || ns === 0 || w?.outcome === Outcome.Timeout) return { r, deadline };
  if (w?.outcome === Outcome.Signal || signalWaiting(k, mask)) {
    maskForHandler(k, mask);
    return { r: -ERESTARTNOHAND, deadline };
  }
  const fds = [];
  for (let i = 0; i < n; i++) {
    const hostFd = s.view.getInt32(FDS + i * 8, true);
    if (hostFd >= 0) fds.push({ hostFd, events: s.view.getInt16(FDS + i * 8 + 4, true) });
  }
  const parked = k.block({ fds, deadline, mask });
  if (mask !== undefined) k.proc.syncSignals();
  return { r: parked, deadline };
}

function ppoll(k: Task, a: Float64Array): number {
  const fds = a[0], n = a[1];
  if (n < 0 || n > Math.min(MAX_FDS, k.proc.fds.limit)) return -E.EINVAL;
  if (!k.proc.canWrite(fds, n * 8)) return -E.EFAULT;
  const ns = timeoutArg(k, a[2]);
  if (ns < 0) return ns;
  const mask = temporaryMask(k, a[3], a[4]);
  if (typeof mask === "number") return mask;
  const s = k.rt.scratch.view;
  let invalid = 0;
  for (let i = 0; i < n; i++) {
    const fd = k.proc.view.getInt32(fds + i * 8, true);
    const e = fd < 0 ? undefined : k.proc.fds.get(fd);
    if (fd >= 0 && e === undefined) invalid++;
    s.setInt32(FDS + i * 8, e === undefined ? -1 : e.hostFd, true);
    s.setInt16(FDS + i * 8 + 4, k.proc.view.getInt16(fds + i * 8 + 4, true), true);
    s.setInt16(FDS + i * 8 + 6, 0, true);
  }
  const { r, deadline } = pollOrPark(k, n, invalid, ns, mask);
  if (r < 0 && r !== -ERESTARTNOHAND) return r;
  writeRemaining(k, a[2], deadline);
  if (r < 0) return r;
  for (let i = 0; i < n; i++) {
    const fd = k.proc.view.getInt32(fds + i * 8, true);
    const rev = fd >= 0 && k.proc.fds.get(fd) === undefined
      ? POLLNVAL
      : s.getInt16(FDS + i * 8 + 6, true);
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
  const ns = timeoutArg(k, a[4]);
  if (ns < 0) return ns;
  let mask: [number, number] | undefined;
  const sigArg = a[5];
  if (sigArg !== 0) {
    // struct { const sigset_t *ss; size_t ss_len; }
    if (!k.proc.canRead(sigArg, 16)) return -E.EFAULT;
    const m = temporaryMask(k, k.proc.readU64(sigArg), k.proc.readU64(sigArg + 8));
    if (typeof m === "number") return m;
    mask = m;
  }
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
    s.setInt32(FDS + i * 8, e.hostFd, true);
    s.setInt16(FDS + i * 8 + 4, (r ? POLLIN : 0) | (w ? POLLOUT : 0) | (x ? POLLPRI : 0), true);
    s.setInt16(FDS + i * 8 + 6, 0, true);
    polled.push(fd);
  }
  const { r, deadline } = pollOrPark(k, polled.length, 0, ns, mask);
  if (r < 0 && r !== -ERESTARTNOHAND) return r;
  writeRemaining(k, a[4], deadline);
  if (r < 0) return r;
  for (const set of sets) if (set !== 0) k.proc.mem.fill(0, set, set + bytes);
  let count = 0;
  polled.forEach((fd, i) => {
    const rev = s.getInt16(FDS + i * 8 + 6, true);
    const want = s.getInt16(FDS + i * 8 + 4, true);
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
    note: "with the temporary signal mask; a thread that waits lets the others run",
  },
  {
    name: "pselect6",
    handler: pselect6,
    args: ["int", "ptr", "ptr", "ptr", "ptr", "ptr"],
    note: "as ppoll",
  },
];
