// Identity, limits, system information, process startup and exit.
import { hostSyscallNumber } from "../../host/syscall_numbers.ts";
import { Slot } from "../scratch.ts";
import { libc } from "../../host/libc.ts";
import { E } from "../errno.ts";
import type { Task } from "../task.ts";
import type { SyscallDef } from "../syscall_def.ts";
import { NGROUPS_MAX } from "../credentials.ts";

const RLIM_INFINITY = 0xffff_ffff_ffff_ffffn;
const RLIMIT_NOFILE = 7;

function exitGroup(k: Task, a: Float64Array): number {
  k.proc.exit(a[0] | 0);
  return 0;
}

function putU32(k: Task, addr: number, v: number): boolean {
  if (addr === 0) return true;
  const at = k.proc.writable(addr, 4); // slab offset (aliases: Rosetta's image)
  if (at < 0) return false;
  k.proc.view.setUint32(at, v, true);
  return true;
}

function getres(group: boolean) {
  return (k: Task, a: Float64Array): number => {
    const c = k.proc.creds;
    const v = group ? [c.gid, c.egid, c.sgid] : [c.uid, c.euid, c.suid];
    for (let i = 0; i < 3; i++) if (!k.proc.canWrite(a[i], 4)) return -E.EFAULT;
    for (let i = 0; i < 3; i++) putU32(k, a[i], v[i]);
    return 0;
  };
}

function getgroups(k: Task, a: Float64Array): number {
  const size = a[0] | 0, list = a[1];
  if (size < 0) return -E.EINVAL;
  if (size > 0 && !k.proc.canWrite(list, size * 4)) return -E.EFAULT;
  const groups = k.proc.creds.groups;
  if (groups === undefined) {
    return k.host(libc.getgroups(size, size === 0 ? 0 : k.proc.hostBase + list));
  }
  if (size === 0) return groups.length;
  if (size < groups.length) return -E.EINVAL;
  groups.forEach((g, i) => k.proc.view.setUint32(list + i * 4, g, true));
  return groups.length;
}

function setgroups(k: Task, a: Float64Array): number {
  const size = a[0], list = a[1];
  if (size > NGROUPS_MAX) return -E.EINVAL; // a negative size is a huge size_t
  if (size > 0 && !k.proc.canRead(list, size * 4)) return -E.EFAULT;
  const groups: number[] = [];
  for (let i = 0; i < size; i++) groups.push(k.proc.view.getUint32(list + i * 4, true));
  return changed(k, k.proc.creds.setGroups(groups));
}

/** A credentials change: the run's other processes learn of it (kill's permission check). */
function changed(k: Task, r: number): number {
  if (r >= 0) k.proc.creds.publish(k.proc.pid);
  return r;
}

/** setuid and friends: emulated per process (credentials.ts), the host's never change. */
const setIds = {
  uid: (k: Task, a: Float64Array) => changed(k, k.proc.creds.set(a[0] >>> 0, false)),
  gid: (k: Task, a: Float64Array) => changed(k, k.proc.creds.set(a[0] >>> 0, true)),
  reuid: (k: Task, a: Float64Array) =>
    changed(k, k.proc.creds.setRe(a[0] >>> 0, a[1] >>> 0, false)),
  regid: (k: Task, a: Float64Array) => changed(k, k.proc.creds.setRe(a[0] >>> 0, a[1] >>> 0, true)),
  resuid: (k: Task, a: Float64Array) =>
    changed(k, k.proc.creds.setRes(a[0] >>> 0, a[1] >>> 0, a[2] >>> 0, false)),
  resgid: (k: Task, a: Float64Array) =>
    changed(k, k.proc.creds.setRes(a[0] >>> 0, a[1] >>> 0, a[2] >>> 0, true)),
  fsuid: (k: Task, a: Float64Array) => {
    const r = k.proc.creds.setFs(a[0] >>> 0, false);
    changed(k, 0);
    return r;
  },
  fsgid: (k: Task, a: Float64Array) => {
    const r = k.proc.creds.setFs(a[0] >>> 0, true);
    changed(k, 0);
    return r;
  },
};
const CREDS_NOTE = "emulated per guest process as Linux's rules say (root is privileged); " +
  "the host's credentials never change";

function uname(k: Task, a: Float64Array): number {
  const out = k.proc.writable(a[0], 390);
  if (out < 0) return -E.EFAULT;
  const s = k.rt.scratch;
  libc.uname(s.address);
  const field = (i: number) => {
    const f = s.u8.subarray(i * 65, i * 65 + 65);
    return new TextDecoder().decode(f.subarray(0, f.indexOf(0)));
  };
  const linux = Deno.build.os === "linux";
  // A Linux guest sees a Linux kernel: on a Linux host its release; elsewhere a fixed one.
  const fields = [
    "Linux",
    field(1),
    linux ? field(2) : "6.1.0-elfuse",
    linux ? field(3) : "#1 SMP",
    "aarch64",
    linux ? field(5) : "(none)",
  ];
  k.proc.mem.fill(0, out, out + 390);
  const enc = new TextEncoder();
  fields.forEach((f, i) =>
    enc.encodeInto(f.slice(0, 64), k.proc.mem.subarray(out + i * 65, out + i * 65 + 64))
  );
  return 0;
}

function sysinfo(k: Task, a: Float64Array): number {
  const out = k.proc.writable(a[0], 112);
  if (out < 0) return -E.EFAULT;
  return k.host(libc.sysinfo(k.proc.hostBase + out));
}

function writeRlimit(k: Task, addr: number, r: [number, number]): void {
  const enc = (v: number) => (v === Infinity ? RLIM_INFINITY : BigInt(v));
  k.proc.view.setBigUint64(addr, enc(r[0]), true);
  k.proc.view.setBigUint64(addr + 8, enc(r[1]), true);
}

function readRlimit(k: Task, addr: number): [number, number] {
  const dec = (v: bigint) => (v >= 0x7fff_ffff_ffff_ffffn ? Infinity : Number(v));
  return [dec(k.proc.view.getBigUint64(addr, true)), dec(k.proc.view.getBigUint64(addr + 8, true))];
}

function prlimit(k: Task, resource: number, newArg: number, oldArg: number): number {
  if (resource < 0 || resource >= k.proc.rlimits.length) return -E.EINVAL;
  // Slab offsets (aliases: Rosetta's image); 0 stays "none".
  const newAddr = newArg === 0 ? 0 : k.proc.readable(newArg, 16);
  const oldAddr = oldArg === 0 ? 0 : k.proc.writable(oldArg, 16);
  if (newAddr < 0 || oldAddr < 0) return -E.EFAULT;
  const cur = k.proc.rlimits[resource];
  let next: [number, number] | undefined;
  if (newAddr !== 0) {
    next = readRlimit(k, newAddr);
    if (next[0] > next[1]) return -E.EINVAL;
    if (next[1] > cur[1] && !k.proc.creds.privileged) return -E.EPERM;
    if (resource === RLIMIT_NOFILE && next[0] > 1024 * 1024) return -E.EPERM;
  }
  if (oldAddr !== 0) writeRlimit(k, oldAddr, cur);
  if (next !== undefined) {
    k.proc.rlimits[resource] = next;
    if (resource === RLIMIT_NOFILE) k.proc.fds.limit = Math.min(next[0], 1 << 20);
  }
  return 0;
}

function getrandom(k: Task, a: Float64Array): number {
  const len = Math.min(a[1], 0x1ffffff), flags = a[2] >>> 0;
  if ((flags & ~7) !== 0 || (flags & 6) === 6) return -E.EINVAL; // GRND_RANDOM|GRND_INSECURE
  const buf = k.proc.writable(a[0], len);
  if (buf < 0) return -E.EFAULT;
  return k.host(Number(libc.getrandom(k.proc.hostBase + buf, len, flags)));
}

function schedGetaffinity(k: Task, a: Float64Array): number {
  const pid = a[0] | 0, len = a[1] >>> 0, mask = a[2];
  if (pid !== 0 && pid !== k.proc.pid) return -E.ESRCH;
  if (len < 8 || len % 8 !== 0) return -E.EINVAL;
  if (!k.proc.canWrite(mask, 8)) return -E.EFAULT;
  if (libc.sched_getaffinity(0, 8, k.proc.hostBase + mask) < 0) return k.fail();
  return 8; // the kernel returns the size of its cpumask (one long for <= 64 CPUs)
}

function getcpu(k: Task, a: Float64Array): number {
  const cpu = a[0], node = a[1];
  if (!putU32(k, cpu, 0) || !putU32(k, node, 0)) return -E.EFAULT;
  const s = k.rt.scratch;
  if (libc.getcpu(s.address, s.address + 4) < 0) return k.fail();
  putU32(k, cpu, s.view.getUint32(0, true));
  putU32(k, node, s.view.getUint32(4, true));
  return 0;
}

const PR_SET_PDEATHSIG = 1, PR_GET_PDEATHSIG = 2, PR_GET_DUMPABLE = 3, PR_SET_DUMPABLE = 4;
const PR_SET_NAME = 15, PR_GET_NAME = 16, PR_SET_NO_NEW_PRIVS = 38, PR_GET_NO_NEW_PRIVS = 39;
const PR_GET_TID_ADDRESS = 40, PR_SET_VMA = 0x53564d41;
const PR_GET_KEEPCAPS = 7, PR_SET_KEEPCAPS = 8;

function prctl(k: Task, a: Float64Array): number {
  const op = a[0] | 0, arg = a[1];
  switch (op) {
    case PR_SET_NAME: {
      const n = k.proc.strlen(arg, 4096);
      if (n < 0 && n !== -E.ENAMETOOLONG) return -E.EFAULT;
      const bytes = k.proc.mem.subarray(arg, arg + Math.min(n < 0 ? 15 : n, 15));
      k.name = new TextDecoder().decode(bytes);
      return 0;
    }
    case PR_GET_NAME: {
      if (!k.proc.canWrite(arg, 16)) return -E.EFAULT;
      k.proc.mem.fill(0, arg, arg + 16);
      new TextEncoder().encodeInto(k.name, k.proc.mem.subarray(arg, arg + 15));
      return 0;
    }
    case PR_GET_DUMPABLE:
      return k.proc.dumpable;
    case PR_SET_DUMPABLE:
      if (arg !== 0 && arg !== 1) return -E.EINVAL;
      k.proc.dumpable = arg;
      return 0;
    case PR_SET_PDEATHSIG:
      if (arg < 0 || arg > 64) return -E.EINVAL;
      k.proc.pdeathsig = arg;
      return 0;
    case PR_GET_PDEATHSIG:
      return putU32(k, arg, k.proc.pdeathsig) ? 0 : -E.EFAULT;
    case PR_SET_NO_NEW_PRIVS:
      if (arg !== 1) return -E.EINVAL;
      k.proc.noNewPrivs = 1;
      return 0;
    case PR_GET_NO_NEW_PRIVS:
      return k.proc.noNewPrivs;
    case PR_GET_TID_ADDRESS:
      if (!k.proc.canWrite(arg, 8)) return -E.EFAULT;
      k.proc.writeU64(arg, k.tidAddress);
      return 0;
    case PR_GET_KEEPCAPS:
      return k.proc.keepCaps;
    case PR_SET_KEEPCAPS:
      if (arg !== 0 && arg !== 1) return -E.EINVAL;
      k.proc.keepCaps = arg;
      return 0;
    case PR_SET_VMA:
      return -E.EINVAL; // naming anonymous VMAs is optional (CONFIG_ANON_VMA_NAME); glibc ignores it
  }
  return -E.EINVAL;
}

const SCHED_OTHER = 0, SCHED_FIFO = 1, SCHED_RR = 2, SCHED_BATCH = 3, SCHED_IDLE = 5;

/** `pid` names the caller: 0, its process, or one of its threads (the sched_* calls take tids). */
function selfOnly(k: Task, pid: number): boolean {
  return pid === 0 || pid === k.proc.pid || k.proc.tasks.some((t) => t.tid === pid);
}

function schedPriorityLimit(max: boolean) {
  return (_k: Task, a: Float64Array): number => {
    const p = a[0] | 0;
    if (p === SCHED_FIFO || p === SCHED_RR) return max ? 99 : 1;
    if (p === SCHED_OTHER || p === SCHED_BATCH || p === SCHED_IDLE) return 0;
    return -E.EINVAL;
  };
}

function getpriority(k: Task, a: Float64Array): number {
  const which = a[0] | 0, who = a[1] | 0;
  if (which < 0 || which > 2) return -E.EINVAL;
  if (which === 0 && !selfOnly(k, who)) return -E.ESRCH;
  // The raw syscall returns 20 - nice so that the value is never negative; -1 is a valid nice,
  // so errno tells failure apart.
  k.clearErrno();
  const nice = libc.getpriority(which, which === 0 ? 0 : who);
  if (nice === -1 && k.errnoNow() !== 0) return k.fail();
  return 20 - nice;
}

/** struct sched_attr (uapi/linux/sched/types.h): VER0 is 48 bytes, VER1 (util clamps) 56. */
const SCHED_ATTR_SIZE_VER0 = 48, SCHED_ATTR_SIZE = 56;

/**
 * sched_getattr(pid, attr, size, flags), argument checks in Linux's order: the thread runs under
 * SCHED_OTHER (as sched_getscheduler says) at its nice value; deadline and clamp fields are 0.
 * `size` is what the caller's struct holds: the kernel writes min(size, its own) and says so.
 */
function schedGetattr(k: Task, a: Float64Array): number {
  const pid = a[0] | 0, attr = a[1], size = a[2] >>> 0, flags = a[3] >>> 0;
  if (attr === 0 || pid < 0 || size > 4096 || size < SCHED_ATTR_SIZE_VER0 || flags !== 0) {
    return -E.EINVAL;
  }
  if (!selfOnly(k, pid)) return -E.ESRCH;
  const n = Math.min(size, SCHED_ATTR_SIZE);
  if (!k.proc.canWrite(attr, n)) return -E.EFAULT;
  k.clearErrno();
  const nice = libc.getpriority(0, 0);
  if (nice === -1 && k.errnoNow() !== 0) return k.fail();
  k.proc.mem.fill(0, attr, attr + n);
  const v = k.proc.view;
  v.setUint32(attr, n, true); // size
  v.setUint32(attr + 4, SCHED_OTHER, true); // sched_policy
  v.setInt32(attr + 16, nice, true); // sched_nice (after the u64 sched_flags)
  return 0;
}

/**
 * ioprio_set(which, who, ioprio) / ioprio_get(which, who): the host's own, on Linux hosts (the
 * guest's pids are the host's).
 */
function ioprio(set: boolean) {
  const nr = Deno.build.os === "linux"
    ? hostSyscallNumber(set ? "ioprio_set" : "ioprio_get")
    : undefined;
  return (k: Task, a: Float64Array): number => {
    if (nr === undefined) return -E.ENOSYS;
    const r = libc.syscall6(nr, BigInt(a[0] | 0), BigInt(a[1] | 0), BigInt(a[2] | 0), 0n, 0n, 0n);
    return k.host(Number(r));
  };
}

const CAP_V1 = 0x19980330, CAP_V2 = 0x20071026, CAP_V3 = 0x20080522;

/**
 * capget(hdr, data): the host's capabilities, which are the guest's (elfuse runs with them and
 * never changes them). struct __user_cap_header_struct and _data_struct are the same everywhere.
 */
function capget(k: Task, a: Float64Array): number {
  const hdr = a[0], data = a[1];
  if (!k.proc.canWrite(hdr, 8)) return -E.EFAULT;
  const version = k.proc.view.getUint32(hdr, true), pid = k.proc.view.getInt32(hdr + 4, true);
  if (version !== CAP_V1 && version !== CAP_V2 && version !== CAP_V3) {
    k.proc.view.setUint32(hdr, CAP_V3, true); // Linux reports the version it prefers
    return data === 0 ? 0 : -E.EINVAL;
  }
  if (pid < 0) return -E.EINVAL;
  if (pid !== 0 && !selfOnly(k, pid)) return -E.ESRCH;
  const words = version === CAP_V1 ? 1 : 2;
  if (data === 0) return 0;
  if (!k.proc.canWrite(data, words * 12)) return -E.EFAULT;
  const s = k.rt.scratch;
  s.view.setUint32(Slot.BUFFER, version, true);
  s.view.setInt32(Slot.BUFFER + 4, 0, true);
  const nr = Deno.build.arch === "x86_64" ? 125n : 90n; // capget
  const r = Number(
    libc.syscall6(nr, BigInt(s.address), BigInt(k.proc.hostBase + data), 0n, 0n, 0n, 0n),
  );
  return r < 0 ? k.fail() : 0;
}

/**
 * capset: the guest may set what it already has and nothing else. elfuse runs as the host user
 * and does not drop or gain capabilities for a guest (reporting, never granting), so any change
 * is refused with EPERM.
 */
function capset(k: Task, a: Float64Array): number {
  const hdr = a[0], data = a[1];
  if (!k.proc.canRead(hdr, 8)) return -E.EFAULT;
  const version = k.proc.view.getUint32(hdr, true), pid = k.proc.view.getInt32(hdr + 4, true);
  if (version !== CAP_V1 && version !== CAP_V2 && version !== CAP_V3) return -E.EINVAL;
  if (pid !== 0 && pid !== k.tid && pid !== k.proc.pid) return -E.EPERM;
  const words = version === CAP_V1 ? 1 : 2;
  if (!k.proc.canRead(data, words * 12)) return -E.EFAULT;
  const s = k.rt.scratch, at = Slot.BUFFER;
  s.view.setUint32(at, version, true);
  s.view.setInt32(at + 4, 0, true);
  const nr = Deno.build.arch === "x86_64" ? 125n : 90n; // capget: what the process has now
  if (
    Number(libc.syscall6(nr, BigInt(s.address + at), BigInt(s.address + at + 8), 0n, 0n, 0n, 0n)) <
      0
  ) {
    return k.fail();
  }
  for (let i = 0; i < words * 3; i++) {
    if (s.view.getUint32(at + 8 + i * 4, true) !== k.proc.view.getUint32(data + i * 4, true)) {
      return -E.EPERM;
    }
  }
  return 0;
}

export const systemSyscalls: SyscallDef[] = [
  { name: "capget", handler: capget, args: ["ptr", "outbuf"] },
  {
    name: "capset",
    handler: capset,
    args: ["ptr", "ptr"],
    status: "partial",
    note: "only the capabilities the process already has: elfuse reports, never grants or drops",
  },
  { name: "exit_group", handler: exitGroup, args: ["int"] },
  {
    name: "rseq",
    errno: "ENOSYS",
    status: "errno",
    note: "restartable sequences are not offered; glibc falls back to plain code when rseq fails",
  },
  { name: "getpid", handler: (k) => k.proc.pid },
  // The host's answer: a guest whose parent exits is reparented exactly as its host process is.
  { name: "getppid", handler: (k) => k.proc.ppid() },
  { name: "getuid", handler: (k) => k.proc.creds.uid },
  { name: "geteuid", handler: (k) => k.proc.creds.euid },
  { name: "getgid", handler: (k) => k.proc.creds.gid },
  { name: "getegid", handler: (k) => k.proc.creds.egid },
  { name: "getresuid", handler: getres(false), args: ["outbuf", "outbuf", "outbuf"] },
  { name: "getresgid", handler: getres(true), args: ["outbuf", "outbuf", "outbuf"] },
  { name: "getgroups", handler: getgroups, args: ["int", "outbuf"] },
  {
    name: "setgroups",
    handler: setgroups,
    args: ["int", "ptr"],
    status: "partial",
    note: "emulated as setuid is: root only, as Linux's CAP_SETGID",
  },
  { name: "setuid", handler: setIds.uid, args: ["int"], status: "partial", note: CREDS_NOTE },
  { name: "setgid", handler: setIds.gid, args: ["int"], status: "partial", note: "as setuid" },
  {
    name: "setreuid",
    handler: setIds.reuid,
    args: ["int", "int"],
    status: "partial",
    note: "as setuid",
  },
  {
    name: "setregid",
    handler: setIds.regid,
    args: ["int", "int"],
    status: "partial",
    note: "as setuid",
  },
  {
    name: "setresuid",
    handler: setIds.resuid,
    args: ["int", "int", "int"],
    status: "partial",
    note: "as setuid",
  },
  {
    name: "setresgid",
    handler: setIds.resgid,
    args: ["int", "int", "int"],
    status: "partial",
    note: "as setuid",
  },
  {
    name: "getpgid",
    handler: (k, a) => k.host(libc.getpgid(a[0] | 0)), // guest pids are host pids
    args: ["int"],
  },
  {
    name: "getsid",
    handler: (k, a) => k.host(libc.getsid(a[0] | 0)),
    args: ["int"],
  },
  { name: "uname", handler: uname, args: ["outbuf"] },
  { name: "sysinfo", handler: sysinfo, args: ["outbuf"] },
  {
    name: "getrlimit",
    handler: (k, a) => prlimit(k, a[0] | 0, 0, a[1]),
    args: ["int", "outbuf"],
  },
  {
    name: "setrlimit",
    handler: (k, a) => prlimit(k, a[0] | 0, a[1], 0),
    args: ["int", "ptr"],
    status: "partial",
    note: "limits are recorded and reported; RLIMIT_NOFILE is enforced, the others are not",
  },
  {
    name: "prlimit64",
    handler: (
      k,
      a,
    ) => ((a[0] | 0) !== 0 && (a[0] | 0) !== k.proc.pid
      ? -E.ESRCH
      : prlimit(k, a[1] | 0, a[2], a[3])),
    args: ["int", "int", "ptr", "outbuf"],
    status: "partial",
    note: "as setrlimit",
  },
  {
    name: "getrusage",
    handler: (k, a) => {
      const who = a[0] | 0;
      if (who !== 0 && who !== -1 && who !== 1) return -E.EINVAL;
      if (!k.proc.canWrite(a[1], 144)) return -E.EFAULT;
      return k.host(libc.getrusage(who, k.proc.hostBase + a[1]));
    },
    args: ["int", "outbuf"],
  },
  { name: "umask", handler: (_k, a) => libc.umask((a[0] >>> 0) & 0o777), args: ["octal"] },
  { name: "getrandom", handler: getrandom, args: ["outbuf", "uint", "hex"] },
  { name: "sched_getaffinity", handler: schedGetaffinity, args: ["int", "uint", "outbuf"] },
  {
    name: "sched_setaffinity",
    handler: (k, a) => {
      const len = a[1] >>> 0, mask = a[2];
      if (!selfOnly(k, a[0] | 0)) return -E.ESRCH;
      if (len === 0 || !k.proc.canRead(mask, Math.min(len, 128))) return -E.EFAULT;
      return k.host(libc.sched_setaffinity(0, Math.min(len, 128), k.proc.hostBase + mask));
    },
    args: ["int", "uint", "ptr"],
  },
  {
    name: "sched_getscheduler",
    handler: (
      k,
      a,
    ) => ((a[0] | 0) < 0 ? -E.EINVAL : selfOnly(k, a[0] | 0) ? SCHED_OTHER : -E.ESRCH),
    args: ["int"],
    status: "partial",
    note: "the process always runs under SCHED_OTHER",
  },
  {
    name: "sched_getparam",
    handler: (k, a) => {
      if ((a[0] | 0) < 0) return -E.EINVAL;
      if (!selfOnly(k, a[0] | 0)) return -E.ESRCH;
      if (!k.proc.canWrite(a[1], 4)) return -E.EFAULT;
      k.proc.view.setInt32(a[1], 0, true); // SCHED_OTHER has priority 0
      return 0;
    },
    args: ["int", "outbuf"],
    status: "partial",
    note: "as sched_getscheduler",
  },
  {
    name: "sched_rr_get_interval",
    handler: (k, a) => {
      if ((a[0] | 0) < 0) return -E.EINVAL;
      if (!selfOnly(k, a[0] | 0)) return -E.ESRCH;
      if (!k.proc.canWrite(a[1], 16)) return -E.EFAULT;
      return k.host(libc.sched_rr_get_interval(0, k.proc.hostBase + a[1]));
    },
    args: ["int", "outbuf"],
  },
  {
    name: "ioprio_set",
    handler: ioprio(true),
    args: ["int", "int", "hex"],
    status: "partial",
    note: "the host's (Linux hosts; ENOSYS on macOS)",
  },
  {
    name: "ioprio_get",
    handler: ioprio(false),
    args: ["int", "int"],
    status: "partial",
    note: "the host's (Linux hosts; ENOSYS on macOS)",
  },
  {
    name: "sched_getattr",
    handler: schedGetattr,
    args: ["int", "outbuf", "uint", "hex"],
    status: "partial",
    note: "as sched_getscheduler: SCHED_OTHER at the thread's nice value",
  },
  { name: "sched_get_priority_max", handler: schedPriorityLimit(true), args: ["int"] },
  { name: "sched_get_priority_min", handler: schedPriorityLimit(false), args: ["int"] },
  { name: "getpriority", handler: getpriority, args: ["int", "int"] },
  {
    name: "setpriority",
    handler: (k, a) => {
      const which = a[0] | 0, who = a[1] | 0;
      if (which < 0 || which > 2) return -E.EINVAL;
      if (which === 0 && !selfOnly(k, who)) return -E.ESRCH;
      return k.host(libc.setpriority(which, which === 0 ? 0 : who, a[2] | 0));
    },
    args: ["int", "int", "int"],
  },
  {
    name: "personality",
    handler: (k, a) => {
      const p = a[0] >>> 0;
      if (p === 0xffffffff) return k.proc.personality; // a query
      if ((p & 0xff) !== 0) return -E.EINVAL; // only PER_LINUX (with flag bits) is offered
      const old = k.proc.personality;
      k.proc.personality = p;
      return old;
    },
    args: ["hex"],
    status: "partial",
    note: "PER_LINUX with its flag bits is recorded; other execution domains give EINVAL",
  },
  {
    name: "setfsuid",
    // Returns the previous fsuid; Linux reports no error from setfsuid either way.
    handler: setIds.fsuid,
    args: ["int"],
    status: "partial",
    note: "as setuid; the fsuid is recorded (file access checks use the host's)",
  },
  {
    name: "setfsgid",
    handler: setIds.fsgid,
    args: ["int"],
    status: "partial",
    note: "as setfsuid",
  },
  { name: "getcpu", handler: getcpu, args: ["outbuf", "outbuf", "ptr"] },
  {
    name: "prctl",
    handler: prctl,
    args: ["int", "hex", "hex", "hex", "hex"],
    status: "partial",
    note:
      "PR_SET/GET_NAME, PR_SET/GET_DUMPABLE, PR_SET/GET_KEEPCAPS, PR_SET/GET_PDEATHSIG, PR_SET/GET_NO_NEW_PRIVS, PR_GET_TID_ADDRESS; others EINVAL",
  },
];
