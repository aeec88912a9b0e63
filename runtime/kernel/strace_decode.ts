// --strace's decoding of flag and enumeration arguments, as tables: the Linux aarch64 values of
// O_*, PROT_*, MAP_*, AT_*, CLONE_*, F_*, W*, FUTEX_*, MADV_*, clocks, ioctl requests... and which
// argument of which syscall each applies to. strace.ts asks `decoderFor`; nothing here runs on
// the plain (untraced) path, and it is only loaded with --strace.
import { signalName } from "./signals.ts";

/** Bit flags (`A|B|0x40`), optionally with a field of the value that is an enumeration. */
interface Flags {
  kind: "flags";
  /** Single-bit (or multi-bit) flags, tested in order; a flag is shown when all its bits are set. */
  bits: readonly (readonly [number, string])[];
  /** A part of the value that holds one of several values (O_ACCMODE, MAP_TYPE, CSIGNAL). */
  field?: { mask: number; names: Readonly<Record<number, string>> | "signal" };
  /** What a value of 0 shows (default `0`). */
  zero?: string;
}

/** One value out of a list (`SEEK_END`), optionally with flag bits beside it (futex). */
interface Enumeration {
  kind: "enum";
  names: Readonly<Record<number, string>>;
  /** Bits that are flags beside the value (FUTEX_PRIVATE_FLAG). */
  bits?: readonly (readonly [number, string])[];
}

/** How one argument is shown. */
export type Decoder = Flags | Enumeration;

// asm-generic/fcntl.h with arm64's own O_DIRECTORY, O_NOFOLLOW, O_DIRECT and O_LARGEFILE.
const O_BITS = [
  [0o100, "O_CREAT"],
  [0o200, "O_EXCL"],
  [0o400, "O_NOCTTY"],
  [0o1000, "O_TRUNC"],
  [0o2000, "O_APPEND"],
  [0o4000, "O_NONBLOCK"],
  [0o4010000, "O_SYNC"],
  [0o10000, "O_DSYNC"],
  [0o20000, "O_ASYNC"],
  [0o20040000, "O_TMPFILE"],
  [0o40000, "O_DIRECTORY"],
  [0o100000, "O_NOFOLLOW"],
  [0o200000, "O_DIRECT"],
  [0o400000, "O_LARGEFILE"],
  [0o1000000, "O_NOATIME"],
  [0o2000000, "O_CLOEXEC"],
  [0o10000000, "O_PATH"],
] as const;

const OPEN: Flags = {
  kind: "flags",
  bits: O_BITS,
  field: { mask: 3, names: { 0: "O_RDONLY", 1: "O_WRONLY", 2: "O_RDWR" } },
};
/** dup3, pipe2: only O_CLOEXEC, O_NONBLOCK, O_DIRECT matter; no access mode. */
const FD_FLAGS: Flags = { kind: "flags", bits: O_BITS };

const PROT: Flags = {
  kind: "flags",
  bits: [
    [1, "PROT_READ"],
    [2, "PROT_WRITE"],
    [4, "PROT_EXEC"],
    [8, "PROT_SEM"],
    [0x10, "PROT_BTI"],
    [0x20, "PROT_MTE"],
    [0x01000000, "PROT_GROWSDOWN"],
    [0x02000000, "PROT_GROWSUP"],
  ],
  zero: "PROT_NONE",
};

const MAP: Flags = {
  kind: "flags",
  bits: [
    [0x10, "MAP_FIXED"],
    [0x20, "MAP_ANONYMOUS"],
    [0x100, "MAP_GROWSDOWN"],
    [0x800, "MAP_DENYWRITE"],
    [0x1000, "MAP_EXECUTABLE"],
    [0x2000, "MAP_LOCKED"],
    [0x4000, "MAP_NORESERVE"],
    [0x8000, "MAP_POPULATE"],
    [0x10000, "MAP_NONBLOCK"],
    [0x20000, "MAP_STACK"],
    [0x40000, "MAP_HUGETLB"],
    [0x80000, "MAP_SYNC"],
    [0x100000, "MAP_FIXED_NOREPLACE"],
    [0x4000000, "MAP_UNINITIALIZED"],
  ],
  field: { mask: 0xf, names: { 1: "MAP_SHARED", 2: "MAP_PRIVATE", 3: "MAP_SHARED_VALIDATE" } },
};

const AT_BITS = [
  [0x100, "AT_SYMLINK_NOFOLLOW"],
  [0x400, "AT_SYMLINK_FOLLOW"],
  [0x800, "AT_NO_AUTOMOUNT"],
  [0x1000, "AT_EMPTY_PATH"],
  [0x2000, "AT_STATX_FORCE_SYNC"],
  [0x4000, "AT_STATX_DONT_SYNC"],
  [0x8000, "AT_RECURSIVE"],
] as const;
const AT: Flags = { kind: "flags", bits: AT_BITS };
/** 0x200 is AT_REMOVEDIR for unlinkat and AT_EACCESS for faccessat2. */
const AT_UNLINK: Flags = { kind: "flags", bits: [[0x200, "AT_REMOVEDIR"], ...AT_BITS] };
const AT_ACCESS: Flags = { kind: "flags", bits: [[0x200, "AT_EACCESS"], ...AT_BITS] };

const ACCESS_MODE: Flags = {
  kind: "flags",
  bits: [[4, "R_OK"], [2, "W_OK"], [1, "X_OK"]],
  zero: "F_OK",
};

const CLONE: Flags = {
  kind: "flags",
  bits: [
    [0x100, "CLONE_VM"],
    [0x200, "CLONE_FS"],
    [0x400, "CLONE_FILES"],
    [0x800, "CLONE_SIGHAND"],
    [0x1000, "CLONE_PIDFD"],
    [0x2000, "CLONE_PTRACE"],
    [0x4000, "CLONE_VFORK"],
    [0x8000, "CLONE_PARENT"],
    [0x10000, "CLONE_THREAD"],
    [0x20000, "CLONE_NEWNS"],
    [0x40000, "CLONE_SYSVSEM"],
    [0x80000, "CLONE_SETTLS"],
    [0x100000, "CLONE_PARENT_SETTID"],
    [0x200000, "CLONE_CHILD_CLEARTID"],
    [0x400000, "CLONE_DETACHED"],
    [0x800000, "CLONE_UNTRACED"],
    [0x1000000, "CLONE_CHILD_SETTID"],
    [0x2000000, "CLONE_NEWCGROUP"],
    [0x4000000, "CLONE_NEWUTS"],
    [0x8000000, "CLONE_NEWIPC"],
    [0x10000000, "CLONE_NEWUSER"],
    [0x20000000, "CLONE_NEWPID"],
    [0x40000000, "CLONE_NEWNET"],
    [0x80000000, "CLONE_IO"],
  ],
  // The low byte is the signal sent to the parent when the child ends (CSIGNAL).
  field: { mask: 0xff, names: "signal" },
};

const WAIT_OPTIONS: Flags = {
  kind: "flags",
  bits: [
    [1, "WNOHANG"],
    [2, "WUNTRACED"],
    [4, "WEXITED"],
    [8, "WCONTINUED"],
    [0x1000000, "WNOWAIT"],
    [0x20000000, "__WNOTHREAD"],
    [0x40000000, "__WALL"],
    [0x80000000, "__WCLONE"],
  ],
};

const enumeration = (names: Record<number, string>, bits?: Enumeration["bits"]): Enumeration => ({
  kind: "enum",
  names,
  bits,
});

const FCNTL_CMD = enumeration({
  0: "F_DUPFD",
  1: "F_GETFD",
  2: "F_SETFD",
  3: "F_GETFL",
  4: "F_SETFL",
  5: "F_GETLK",
  6: "F_SETLK",
  7: "F_SETLKW",
  8: "F_SETOWN",
  9: "F_GETOWN",
  10: "F_SETSIG",
  11: "F_GETSIG",
  36: "F_OFD_GETLK",
  37: "F_OFD_SETLK",
  38: "F_OFD_SETLKW",
  1024: "F_SETLEASE",
  1025: "F_GETLEASE",
  1030: "F_DUPFD_CLOEXEC",
  1031: "F_SETPIPE_SZ",
  1032: "F_GETPIPE_SZ",
  1033: "F_ADD_SEALS",
  1034: "F_GET_SEALS",
});

const SEEK = enumeration({
  0: "SEEK_SET",
  1: "SEEK_CUR",
  2: "SEEK_END",
  3: "SEEK_DATA",
  4: "SEEK_HOLE",
});

const SIGPROCMASK_HOW = enumeration({ 0: "SIG_BLOCK", 1: "SIG_UNBLOCK", 2: "SIG_SETMASK" });

const CLOCK = enumeration({
  0: "CLOCK_REALTIME",
  1: "CLOCK_MONOTONIC",
  2: "CLOCK_PROCESS_CPUTIME_ID",
  3: "CLOCK_THREAD_CPUTIME_ID",
  4: "CLOCK_MONOTONIC_RAW",
  5: "CLOCK_REALTIME_COARSE",
  6: "CLOCK_MONOTONIC_COARSE",
  7: "CLOCK_BOOTTIME",
  8: "CLOCK_REALTIME_ALARM",
  9: "CLOCK_BOOTTIME_ALARM",
  11: "CLOCK_TAI",
});

const FUTEX_OP = enumeration({
  0: "FUTEX_WAIT",
  1: "FUTEX_WAKE",
  2: "FUTEX_FD",
  3: "FUTEX_REQUEUE",
  4: "FUTEX_CMP_REQUEUE",
  5: "FUTEX_WAKE_OP",
  6: "FUTEX_LOCK_PI",
  7: "FUTEX_UNLOCK_PI",
  8: "FUTEX_TRYLOCK_PI",
  9: "FUTEX_WAIT_BITSET",
  10: "FUTEX_WAKE_BITSET",
  11: "FUTEX_WAIT_REQUEUE_PI",
  12: "FUTEX_CMP_REQUEUE_PI",
  13: "FUTEX_LOCK_PI2",
}, [[128, "FUTEX_PRIVATE_FLAG"], [256, "FUTEX_CLOCK_REALTIME"]]);

const MADVISE = enumeration({
  0: "MADV_NORMAL",
  1: "MADV_RANDOM",
  2: "MADV_SEQUENTIAL",
  3: "MADV_WILLNEED",
  4: "MADV_DONTNEED",
  8: "MADV_FREE",
  9: "MADV_REMOVE",
  10: "MADV_DONTFORK",
  11: "MADV_DOFORK",
  12: "MADV_MERGEABLE",
  13: "MADV_UNMERGEABLE",
  14: "MADV_HUGEPAGE",
  15: "MADV_NOHUGEPAGE",
  16: "MADV_DONTDUMP",
  17: "MADV_DODUMP",
  18: "MADV_WIPEONFORK",
  19: "MADV_KEEPONFORK",
  20: "MADV_COLD",
  21: "MADV_PAGEOUT",
});

const MREMAP: Flags = {
  kind: "flags",
  bits: [[1, "MREMAP_MAYMOVE"], [2, "MREMAP_FIXED"], [4, "MREMAP_DONTUNMAP"]],
};

const IDTYPE = enumeration({ 0: "P_ALL", 1: "P_PID", 2: "P_PGID", 3: "P_PIDFD" });

const GETRANDOM: Flags = {
  kind: "flags",
  bits: [[1, "GRND_NONBLOCK"], [2, "GRND_RANDOM"], [4, "GRND_INSECURE"]],
};

const RENAME: Flags = {
  kind: "flags",
  bits: [[1, "RENAME_NOREPLACE"], [2, "RENAME_EXCHANGE"], [4, "RENAME_WHITEOUT"]],
};

const TIMER_FLAGS: Flags = { kind: "flags", bits: [[1, "TIMER_ABSTIME"]] };

const ITIMER = enumeration({ 0: "ITIMER_REAL", 1: "ITIMER_VIRTUAL", 2: "ITIMER_PROF" });

const IOCTL_REQUEST = enumeration({
  0x5401: "TCGETS",
  0x5402: "TCSETS",
  0x5403: "TCSETSW",
  0x5404: "TCSETSF",
  0x540e: "TIOCSCTTY",
  0x540f: "TIOCGPGRP",
  0x5410: "TIOCSPGRP",
  0x5413: "TIOCGWINSZ",
  0x5414: "TIOCSWINSZ",
  0x541b: "FIONREAD",
  0x5421: "FIONBIO",
  0x5422: "TIOCNOTTY",
  0x5429: "TIOCGSID",
  0x5450: "FIONCLEX",
  0x5451: "FIOCLEX",
  0x5452: "FIOASYNC",
});

const PRCTL_OPTION = enumeration({
  1: "PR_SET_PDEATHSIG",
  2: "PR_GET_PDEATHSIG",
  3: "PR_GET_DUMPABLE",
  4: "PR_SET_DUMPABLE",
  7: "PR_GET_KEEPCAPS",
  8: "PR_SET_KEEPCAPS",
  15: "PR_SET_NAME",
  16: "PR_GET_NAME",
  22: "PR_SET_SECCOMP",
  23: "PR_CAPBSET_READ",
  36: "PR_SET_CHILD_SUBREAPER",
  37: "PR_GET_CHILD_SUBREAPER",
  38: "PR_SET_NO_NEW_PRIVS",
  39: "PR_GET_NO_NEW_PRIVS",
  1398164801: "PR_SET_VMA",
});

const RLIMIT = enumeration({
  0: "RLIMIT_CPU",
  1: "RLIMIT_FSIZE",
  2: "RLIMIT_DATA",
  3: "RLIMIT_STACK",
  4: "RLIMIT_CORE",
  5: "RLIMIT_RSS",
  6: "RLIMIT_NPROC",
  7: "RLIMIT_NOFILE",
  8: "RLIMIT_MEMLOCK",
  9: "RLIMIT_AS",
  10: "RLIMIT_LOCKS",
  11: "RLIMIT_SIGPENDING",
  12: "RLIMIT_MSGQUEUE",
  13: "RLIMIT_NICE",
  14: "RLIMIT_RTPRIO",
  15: "RLIMIT_RTTIME",
});

/**
 * Which argument (by position) of which syscall each decoder shows, beyond what the syscall
 * table's argument kinds say (`oflags` and `signal` are decoded wherever they appear).
 */
export const SYSCALL_ARGUMENTS: Readonly<Record<string, Readonly<Record<number, Decoder>>>> = {
  openat: { 2: OPEN },
  dup3: { 2: FD_FLAGS },
  pipe2: { 1: FD_FLAGS },
  fcntl: { 1: FCNTL_CMD },
  ioctl: { 1: IOCTL_REQUEST },
  lseek: { 2: SEEK },
  mmap: { 2: PROT, 3: MAP },
  mprotect: { 2: PROT },
  mremap: { 3: MREMAP },
  madvise: { 2: MADVISE },
  clone: { 0: CLONE },
  wait4: { 2: WAIT_OPTIONS },
  waitid: { 0: IDTYPE, 3: WAIT_OPTIONS },
  rt_sigprocmask: { 0: SIGPROCMASK_HOW },
  futex: { 1: FUTEX_OP },
  newfstatat: { 3: AT },
  statx: { 2: AT },
  fchownat: { 4: AT },
  linkat: { 4: AT },
  utimensat: { 3: AT },
  execveat: { 4: AT },
  unlinkat: { 2: AT_UNLINK },
  faccessat: { 2: ACCESS_MODE },
  faccessat2: { 2: ACCESS_MODE, 3: AT_ACCESS },
  renameat2: { 4: RENAME },
  getrandom: { 2: GETRANDOM },
  clock_gettime: { 0: CLOCK },
  clock_getres: { 0: CLOCK },
  clock_settime: { 0: CLOCK },
  clock_nanosleep: { 0: CLOCK, 1: TIMER_FLAGS },
  timer_create: { 0: CLOCK },
  timer_settime: { 1: TIMER_FLAGS },
  setitimer: { 0: ITIMER },
  getitimer: { 0: ITIMER },
  prctl: { 0: PRCTL_OPTION },
  getrlimit: { 0: RLIMIT },
  setrlimit: { 0: RLIMIT },
  prlimit64: { 1: RLIMIT },
};

/** Decoders by the syscall table's argument kind, wherever the kind appears. */
export const KIND_DECODERS: Readonly<Record<string, Decoder>> = { oflags: OPEN };

/** The decoder for argument `index` of syscall `name` with table kind `kind`, if any. */
export function decoderFor(name: string, index: number, kind: string): Decoder | undefined {
  return SYSCALL_ARGUMENTS[name]?.[index] ?? KIND_DECODERS[kind];
}

const hex = (v: number) => "0x" + v.toString(16);

function flagNames(
  bits: readonly (readonly [number, string])[],
  value: number,
): { names: string[]; rest: number } {
  const names: string[] = [];
  let rest = value;
  for (const [bit, name] of bits) {
    // Compared as unsigned 32-bit: CLONE_IO and __WCLONE are bit 31.
    if (bit !== 0 && ((value & bit) >>> 0) === bit >>> 0 && (rest & bit) !== 0) {
      names.push(name);
      rest = (rest & ~bit) >>> 0;
    }
  }
  return { names, rest };
}

/**
 * A flag or enumeration argument as strace shows it: `O_RDWR|O_CREAT|O_CLOEXEC`,
 * `PROT_READ|PROT_WRITE`, `CLONE_VM|CLONE_VFORK|SIGCHLD`, `SEEK_END`; bits or values the table
 * does not know are kept as hex (`O_RDONLY|0x80000000`).
 */
export function decode(d: Decoder, raw: number): string {
  const value = raw >>> 0; // flags and commands are 32-bit in the kernel's ABI
  if (d.kind === "enum") {
    if (d.bits === undefined) return d.names[value] ?? hex(value);
    const { names, rest } = flagNames(d.bits, value);
    const base = d.names[rest];
    return [base ?? hex(rest), ...names].join("|");
  }
  const parts: string[] = [];
  let rest = value;
  if (d.field) {
    const f = value & d.field.mask;
    rest = (rest & ~d.field.mask) >>> 0;
    const name = d.field.names === "signal" ? (f ? signalName(f) : undefined) : d.field.names[f];
    if (name !== undefined) parts.push(name);
    else if (f !== 0) rest = (rest | f) >>> 0;
  }
  const flags = flagNames(d.bits, rest);
  // A field shows after the flags for clone (strace: CLONE_VM|SIGCHLD), first elsewhere.
  if (d.field?.names === "signal") parts.unshift(...flags.names);
  else parts.push(...flags.names);
  if (flags.rest !== 0) parts.push(hex(flags.rest));
  if (parts.length === 0) return d.zero ?? "0";
  return parts.join("|");
}
