// System V IPC: semaphores, message queues and shared memory segments. On a Linux host they are
// the host's own objects (keys, ids, permissions, IPC_RMID and `ipcs` through /proc/sysvipc are
// the host kernel's), so guests in separate elfuse processes share them as Linux processes do.
// The structures are the same on x86_64 and aarch64 (asm-generic ipc64_perm, msqid64_ds,
// shmid64_ds, sembuf, msgbuf, seminfo, msginfo, shminfo64, shm_info) except semid64_ds, which
// x86_64 lays out with a padding word after each time (arch/x86/include/uapi/asm/sembuf.h), so
// semctl's IPC_STAT and IPC_SET are repacked. On a macOS host semaphores and message queues are
// XNU's objects through sysv_ipc_xnu.ts (other layouts and command numbers); shared memory is
// ENOSYS there: attaching a segment over the guest's memory would need the slab's pages replaced
// under the hypervisor's mapping (open work).
import { libc } from "../../host/libc.ts";
import { E } from "../errno.ts";
import type { Task } from "../task.ts";
import type { SyscallDef } from "../syscall_def.ts";
import { RETRY_MS, retrying } from "./sysv_ipc_wait.ts";
import {
  msgctlXnu,
  msggetXnu,
  msgrcvXnu,
  msgsndXnu,
  semctlXnu,
  semgetXnu,
  semtimedopXnu,
} from "./sysv_ipc_xnu.ts";
import { Slot } from "../scratch.ts";

const onLinux = Deno.build.os === "linux";
/** The host's numbers for the calls (x86_64's table, or the guest's own on an arm64 host). */
const HOST_NR = Deno.build.arch === "x86_64"
  ? { semget: 64n, semop: 65n, semctl: 66n, semtimedop: 220n, msgget: 68n, msgsnd: 69n }
  : { semget: 190n, semop: 193n, semctl: 191n, semtimedop: 192n, msgget: 186n, msgsnd: 189n };
const HOST_NR2 = Deno.build.arch === "x86_64"
  ? { msgrcv: 70n, msgctl: 71n, shmget: 29n, shmctl: 31n, shmat: 30n, shmdt: 67n }
  : { msgrcv: 188n, msgctl: 187n, shmget: 194n, shmctl: 195n, shmat: 196n, shmdt: 197n };
const x86Sem = Deno.build.arch === "x86_64";

function sys(nr: bigint, a = 0, b = 0, c = 0, d = 0, e = 0): number {
  return Number(libc.syscall6(nr, BigInt(a), BigInt(b), BigInt(c), BigInt(d), BigInt(e), 0n));
}

const IPC_NOWAIT = 0o4000;
const IPC_RMID = 0, IPC_SET = 1, IPC_STAT = 2, IPC_INFO = 3;

function semget(k: Task, a: Float64Array): number {
  return k.host(sys(HOST_NR.semget, a[0] | 0, a[1] | 0, a[2] | 0));
}

const SEMBUF = 6;

function semtimedop(k: Task, id: number, sops: number, nsops: number, timeout: number): number {
  if (nsops < 1) return -E.EINVAL;
  if (nsops > 500) return -E.E2BIG; // SEMOPM
  if (!k.proc.canRead(sops, nsops * SEMBUF)) return -E.EFAULT;
  if (timeout !== 0 && !k.proc.canRead(timeout, 16)) return -E.EFAULT;
  // It may wait unless every operation has IPC_NOWAIT.
  let blocking = false;
  for (let i = 0; i < nsops; i++) {
    const flg = k.proc.view.getInt16(sops + i * SEMBUF + 4, true);
    if ((flg & IPC_NOWAIT) === 0) blocking = true;
  }
  const until = () =>
    timeout === 0
      ? Infinity
      : performance.now() + k.proc.readI64(timeout) * 1e3 + k.proc.readI64(timeout + 8) / 1e6;
  const host = k.proc.hostBase;
  return retrying(k, blocking, until, (nowait) => {
    if (!nowait) {
      return timeout === 0
        ? sys(HOST_NR.semop, id, host + sops, nsops)
        : sys(HOST_NR.semtimedop, id, host + sops, nsops, host + timeout);
    }
    // Each operation with IPC_NOWAIT, in scratch (the guest's array stays as it is).
    const s = k.rt.scratch, at = Slot.BUFFER;
    s.u8.set(k.proc.mem.subarray(sops, sops + nsops * SEMBUF), at);
    for (let i = 0; i < nsops; i++) {
      const o = at + i * SEMBUF + 4;
      s.view.setInt16(o, s.view.getInt16(o, true) | IPC_NOWAIT, true);
    }
    return sys(HOST_NR.semop, id, s.address + at, nsops);
  }, E.EAGAIN);
}

const GETPID = 11, GETVAL = 12, GETALL = 13, GETNCNT = 14, GETZCNT = 15, SETVAL = 16;
const SETALL = 17, SEM_STAT = 18, SEM_INFO = 19, SEM_STAT_ANY = 20;
const SEMID_DS = 88, SEMINFO = 40, PERM = 48;

/** semid64_ds: the guest's (asm-generic) and the host's offsets of otime, ctime and nsems. */
const SEM_FIELDS: [number, number][] = x86Sem ? [[48, 48], [56, 64], [64, 80]] : [];

function semctl(k: Task, a: Float64Array): number {
  const id = a[0] | 0, num = a[1] | 0, cmd = a[2] | 0, arg = a[3];
  const s = k.rt.scratch, at = Slot.BUFFER, host = s.address + at;
  const stat = (c: number, to: number) => sys(HOST_NR.semctl, id, num, c, to);
  switch (cmd & ~0x100) {
    case IPC_STAT:
    case SEM_STAT:
    case SEM_STAT_ANY: {
      if (!k.proc.canWrite(arg, SEMID_DS)) return -E.EFAULT;
      if (SEM_FIELDS.length === 0) return k.host(stat(cmd, k.proc.hostBase + arg));
      s.u8.fill(0, at, at + 112);
      const r = stat(cmd, host);
      if (r < 0) return k.fail();
      k.proc.mem.fill(0, arg, arg + SEMID_DS);
      k.proc.mem.set(s.u8.subarray(at, at + PERM), arg);
      for (const [g, h] of SEM_FIELDS) {
        k.proc.view.setBigUint64(arg + g, s.view.getBigUint64(at + h, true), true);
      }
      return r;
    }
    case IPC_SET: {
      if (!k.proc.canRead(arg, SEMID_DS)) return -E.EFAULT;
      if (SEM_FIELDS.length === 0) return k.host(stat(cmd, k.proc.hostBase + arg));
      s.u8.fill(0, at, at + 112);
      s.u8.set(k.proc.mem.subarray(arg, arg + PERM), at);
      for (const [g, h] of SEM_FIELDS) {
        s.view.setBigUint64(at + h, k.proc.view.getBigUint64(arg + g, true), true);
      }
      return k.host(stat(cmd, host));
    }
    case IPC_INFO:
    case SEM_INFO:
      if (!k.proc.canWrite(arg, SEMINFO)) return -E.EFAULT;
      return k.host(stat(cmd, k.proc.hostBase + arg));
    case GETALL:
    case SETALL: {
      // An array of nsems unsigned shorts: how many the set has, first.
      s.u8.fill(0, at, at + 112);
      if (stat(IPC_STAT, host) < 0) return k.fail();
      const nsems = Number(s.view.getBigUint64(at + (x86Sem ? 80 : 64), true));
      const ok = cmd === GETALL ? k.proc.canWrite(arg, nsems * 2) : k.proc.canRead(arg, nsems * 2);
      if (!ok) return -E.EFAULT;
      return k.host(stat(cmd, k.proc.hostBase + arg));
    }
    case SETVAL:
      return k.host(stat(cmd, arg >>> 0)); // the union's int
    case IPC_RMID:
    case GETPID:
    case GETVAL:
    case GETNCNT:
    case GETZCNT:
      return k.host(stat(cmd, 0));
    default:
      return -E.EINVAL;
  }
}

function msgget(k: Task, a: Float64Array): number {
  return k.host(sys(HOST_NR.msgget, a[0] | 0, a[1] | 0));
}

const MSGMAX_ANY = 0x7fffffff;

function msgsnd(k: Task, a: Float64Array): number {
  const id = a[0] | 0, msgp = a[1], size = a[2], flg = a[3] | 0;
  if (size < 0 || size > MSGMAX_ANY) return -E.EINVAL;
  if (!k.proc.canRead(msgp, 8 + size)) return -E.EFAULT;
  return retrying(k, (flg & IPC_NOWAIT) === 0, () => Infinity, (nowait) => {
    return sys(HOST_NR.msgsnd, id, k.proc.hostBase + msgp, size, flg | (nowait ? IPC_NOWAIT : 0));
  }, E.EAGAIN);
}

function msgrcv(k: Task, a: Float64Array): number {
  const id = a[0] | 0, msgp = a[1], size = a[2], type = a[3], flg = a[4] | 0;
  if (size < 0 || size > MSGMAX_ANY) return -E.EINVAL;
  if (!k.proc.canWrite(msgp, 8 + size)) return -E.EFAULT;
  return retrying(k, (flg & IPC_NOWAIT) === 0, () => Infinity, (nowait) => {
    const f = flg | (nowait ? IPC_NOWAIT : 0);
    return sys(HOST_NR2.msgrcv, id, k.proc.hostBase + msgp, size, type, f);
  }, E.ENOMSG);
}

const MSG_STAT = 11, MSG_INFO = 12, MSG_STAT_ANY = 13;
const MSQID_DS = 120, MSGINFO = 32;

function msgctl(k: Task, a: Float64Array): number {
  const id = a[0] | 0, cmd = a[1] | 0, buf = a[2];
  const size: Record<number, [number, boolean]> = {
    [IPC_STAT]: [MSQID_DS, true],
    [MSG_STAT]: [MSQID_DS, true],
    [MSG_STAT_ANY]: [MSQID_DS, true],
    [IPC_SET]: [MSQID_DS, false],
    [IPC_INFO]: [MSGINFO, true],
    [MSG_INFO]: [MSGINFO, true],
  };
  const c = cmd & ~0x100;
  if (c === IPC_RMID) return k.host(sys(HOST_NR2.msgctl, id, cmd, 0));
  const want = size[c];
  if (want === undefined) return -E.EINVAL;
  const ok = want[1] ? k.proc.canWrite(buf, want[0]) : k.proc.canRead(buf, want[0]);
  if (!ok) return -E.EFAULT;
  return k.host(sys(HOST_NR2.msgctl, id, cmd, k.proc.hostBase + buf));
}

function shmget(k: Task, a: Float64Array): number {
  return k.host(sys(HOST_NR2.shmget, a[0] | 0, a[1], a[2] | 0));
}

const SHM_LOCK = 11, SHM_UNLOCK = 12, SHM_STAT = 13, SHM_INFO = 14, SHM_STAT_ANY = 15;
const SHMID_DS = 112, SHMINFO64 = 72, SHM_INFO_SIZE = 48;

function shmctl(k: Task, a: Float64Array): number {
  const id = a[0] | 0, cmd = a[1] | 0, buf = a[2];
  const size: Record<number, [number, boolean]> = {
    [IPC_STAT]: [SHMID_DS, true],
    [SHM_STAT]: [SHMID_DS, true],
    [SHM_STAT_ANY]: [SHMID_DS, true],
    [IPC_SET]: [SHMID_DS, false],
    [IPC_INFO]: [SHMINFO64, true],
    [SHM_INFO]: [SHM_INFO_SIZE, true],
  };
  const c = cmd & ~0x100;
  if (c === IPC_RMID || c === SHM_LOCK || c === SHM_UNLOCK) {
    return k.host(sys(HOST_NR2.shmctl, id, cmd, 0));
  }
  const want = size[c];
  if (want === undefined) return -E.EINVAL;
  const ok = want[1] ? k.proc.canWrite(buf, want[0]) : k.proc.canRead(buf, want[0]);
  if (!ok) return -E.EFAULT;
  return k.host(sys(HOST_NR2.shmctl, id, cmd, k.proc.hostBase + buf));
}

const SHM_RDONLY = 0o10000, SHM_RND = 0o20000, SHM_REMAP = 0o40000, SHM_EXEC = 0o100000;
/** arm64's SHMLBA is PAGE_SIZE (asm/shmparam.h: only compat tasks use 16 KiB). */
const SHMLBA = 4096;

/**
 * shmat: the host attaches the segment right over the slab at the chosen guest range
 * (SHM_REMAP at its host address), so guest, backend and other processes all see the same
 * pages and shm_nattch counts the attach. A host fd of the attached memory (its
 * /proc/self/map_files entry, which needs CAP_SYS_ADMIN) lets fork children share it; without
 * one a host-process fork child gets a copy (open work).
 */
function shmat(k: Task, a: Float64Array): number {
  const id = a[0] | 0, flg = a[2] | 0;
  let addr = a[1];
  const s = k.rt.scratch, at = Slot.BUFFER;
  // The segment's size and key, and a first check of the id and read permission.
  if (sys(HOST_NR2.shmctl, id, IPC_STAT, s.address + at) < 0) return k.fail();
  const key = s.view.getUint32(at, true);
  const len = Math.ceil(Number(s.view.getBigUint64(at + 48, true)) / 4096) * 4096;
  const as = k.proc.as;
  if (addr === 0) {
    addr = as.freeArea(len);
    if (addr < 0) return -E.ENOMEM;
  } else {
    if ((flg & SHM_RND) !== 0) addr -= addr % SHMLBA;
    if (addr % SHMLBA !== 0 || addr + len > as.size) return -E.EINVAL;
    if ((flg & SHM_REMAP) === 0 && as.vmas.list.some((v) => v.start < addr + len && v.end > addr)) {
      return -E.EINVAL;
    }
  }
  const prot = (flg & SHM_RDONLY ? 1 : 3) | (flg & SHM_EXEC ? 4 : 0);
  const host = k.proc.hostBase + addr;
  const name = `/SYSV${key.toString(16).padStart(8, "0")} (deleted)`;
  let err = 0;
  const ok = as.attachShared(addr, len, prot, name, () => {
    const r = sys(HOST_NR2.shmat, id, host, (flg & (SHM_RDONLY | SHM_EXEC)) | SHM_REMAP);
    if (r === host) return true;
    err = r < 0 ? k.fail() : -E.EINVAL;
    return false;
  }, () => {
    const path = `/proc/self/map_files/${host.toString(16)}-${(host + len).toString(16)}`;
    const fd = libc.openat(
      -100,
      k.rt.scratchString(path),
      (flg & SHM_RDONLY ? 0 : 2) | 0o2000000,
      0,
    );
    return fd < 0 ? undefined : { hostFd: fd, base: -addr };
  });
  return ok ? addr : err;
}

/** shmdt: the attach that starts at `addr` (every piece of it, however mprotect split it). */
function shmdt(k: Task, a: Float64Array): number {
  const addr = a[0];
  const list = k.proc.as.vmas.list;
  const i = list.findIndex((v) => v.start === addr);
  if (i < 0 || !list[i].shared || !list[i].name.startsWith("/SYSV")) return -E.EINVAL;
  let end = list[i].end;
  for (let j = i + 1; j < list.length; j++) {
    const v = list[j];
    if (v.start !== end || v.name !== list[i].name || v.backing !== list[i].backing) break;
    end = v.end;
  }
  return k.proc.as.munmap(addr, end - addr);
}

type Handler = (k: Task, a: Float64Array) => number;
const linuxOnly = (h: Handler) => onLinux ? h : () => -E.ENOSYS;
/** The Linux host's handler, or XNU's on macOS. */
const perHost = (linux: Handler, xnu: Handler): Handler =>
  onLinux ? linux : Deno.build.os === "darwin" ? xnu : () => -E.ENOSYS;
const NOTE = "the host's objects; on macOS XNU's, structures and commands translated (no " +
  "IPC_INFO/*_INFO/*_STAT listings, no MSG_EXCEPT/MSG_COPY: EINVAL)";
const SHM_NOTE = "the host's objects (Linux hosts); ENOSYS on macOS (attaching over the slab " +
  "under the hypervisor's mapping is open work)";

export const sysvIpcSyscalls: SyscallDef[] = [
  {
    name: "semget",
    handler: perHost(semget, semgetXnu),
    args: ["hex", "int", "octal"],
    status: "partial",
    note: NOTE,
  },
  {
    name: "semop",
    handler: perHost(
      (k, a) => semtimedop(k, a[0] | 0, a[1], a[2] >>> 0, 0),
      (k, a) => semtimedopXnu(k, a[0] | 0, a[1], a[2] >>> 0, 0),
    ),
    args: ["int", "ptr", "uint"],
    status: "partial",
    note: `${NOTE}; with other threads a wait looks again every ${RETRY_MS} ms`,
  },
  {
    name: "semtimedop",
    handler: perHost(
      (k, a) => semtimedop(k, a[0] | 0, a[1], a[2] >>> 0, a[3]),
      (k, a) => semtimedopXnu(k, a[0] | 0, a[1], a[2] >>> 0, a[3]),
    ),
    args: ["int", "ptr", "uint", "ptr"],
    status: "partial",
    note: `${NOTE}; with other threads a wait looks again every ${RETRY_MS} ms`,
  },
  {
    name: "semctl",
    handler: perHost(semctl, semctlXnu),
    args: ["int", "int", "int", "hex"],
    status: "partial",
    note: `${NOTE}; semid64_ds repacked for x86_64 hosts`,
  },
  {
    name: "msgget",
    handler: perHost(msgget, msggetXnu),
    args: ["hex", "octal"],
    status: "partial",
    note: NOTE,
  },
  {
    name: "msgsnd",
    handler: perHost(msgsnd, msgsndXnu),
    args: ["int", "ptr", "uint", "octal"],
    status: "partial",
    note: `${NOTE}; with other threads a wait looks again every ${RETRY_MS} ms`,
  },
  {
    name: "msgrcv",
    handler: perHost(msgrcv, msgrcvXnu),
    args: ["int", "ptr", "uint", "int", "octal"],
    status: "partial",
    note: `${NOTE}; with other threads a wait looks again every ${RETRY_MS} ms`,
  },
  {
    name: "msgctl",
    handler: perHost(msgctl, msgctlXnu),
    args: ["int", "int", "ptr"],
    status: "partial",
    note: NOTE,
  },
  {
    name: "shmget",
    handler: linuxOnly(shmget),
    args: ["hex", "uint", "octal"],
    status: "partial",
    note: SHM_NOTE,
  },
  {
    name: "shmctl",
    handler: linuxOnly(shmctl),
    args: ["int", "int", "ptr"],
    status: "partial",
    note: SHM_NOTE,
  },
  {
    name: "shmat",
    handler: linuxOnly(shmat),
    args: ["int", "ptr", "octal"],
    hexResult: true,
    status: "partial",
    note:
      `${SHM_NOTE}; a host-process fork child shares the segment only where elfuse may open /proc/self/map_files (CAP_SYS_ADMIN), else it gets a copy`,
  },
  { name: "shmdt", handler: linuxOnly(shmdt), args: ["ptr"], status: "partial", note: SHM_NOTE },
];
