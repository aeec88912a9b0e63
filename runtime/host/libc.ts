// The host C library through Deno FFI: one dlopen, shared by every host module. Guest buffers are
// passed as host addresses (`usize` numbers: slab base + guest address), which measured as fast as
// any pointer form and allocates nothing. Only non-variadic signatures are declared where the
// host's calling convention would pass variadic arguments differently (Apple arm64 puts them on
// the stack), so `openat`'s mode and `fcntl`/`ioctl`'s third argument are host-specific.

import type { NumberArgs } from "./ffi_types.ts";

const path = Deno.build.os === "darwin" ? "/usr/lib/libSystem.B.dylib" : "libc.so.6";

const symbols = {
  read: { parameters: ["i32", "usize", "usize"], result: "isize" },
  write: { parameters: ["i32", "usize", "usize"], result: "isize" },
  pread: {
    name: Deno.build.os === "linux" ? "pread64" : "pread",
    parameters: ["i32", "usize", "usize", "i64"],
    result: "isize",
  },
  pwrite: {
    name: Deno.build.os === "linux" ? "pwrite64" : "pwrite",
    parameters: ["i32", "usize", "usize", "i64"],
    result: "isize",
  },
  readv: { parameters: ["i32", "usize", "i32"], result: "isize" },
  writev: { parameters: ["i32", "usize", "i32"], result: "isize" },
  preadv: { parameters: ["i32", "usize", "i32", "i64"], result: "isize" },
  pwritev: { parameters: ["i32", "usize", "i32", "i64"], result: "isize" },
  openat: { parameters: ["i32", "usize", "i32", "u32"], result: "i32" },
  close: { parameters: ["i32"], result: "i32" },
  lseek: { parameters: ["i32", "i64", "i32"], result: "i64" },
  fstatat: { parameters: ["i32", "usize", "usize", "i32"], result: "i32" },
  // mode_t is 16 bits on macOS, 32 on Linux: passed as a register-wide usize. macOS has it since
  // 13, so it is optional (null before).
  mkfifoat: { parameters: ["i32", "usize", "usize"], result: "i32", optional: true },
  fstat: { parameters: ["i32", "usize"], result: "i32" },
  faccessat: { parameters: ["i32", "usize", "i32", "i32"], result: "i32" },
  readlinkat: { parameters: ["i32", "usize", "usize", "usize"], result: "isize" },
  getcwd: { parameters: ["usize", "usize"], result: "usize" },
  chdir: { parameters: ["usize"], result: "i32" },
  fchdir: { parameters: ["i32"], result: "i32" },
  mkdirat: { parameters: ["i32", "usize", "u32"], result: "i32" },
  unlinkat: { parameters: ["i32", "usize", "i32"], result: "i32" },
  renameat: { parameters: ["i32", "usize", "i32", "usize"], result: "i32" },
  symlinkat: { parameters: ["usize", "i32", "usize"], result: "i32" },
  linkat: { parameters: ["i32", "usize", "i32", "usize", "i32"], result: "i32" },
  fchmod: { parameters: ["i32", "u32"], result: "i32" },
  fchmodat: { parameters: ["i32", "usize", "u32", "i32"], result: "i32" },
  fchown: { parameters: ["i32", "u32", "u32"], result: "i32" },
  fchownat: { parameters: ["i32", "usize", "u32", "u32", "i32"], result: "i32" },
  utimensat: { parameters: ["i32", "usize", "usize", "i32"], result: "i32" },
  futimens: { parameters: ["i32", "usize"], result: "i32" },
  truncate: { parameters: ["usize", "i64"], result: "i32" },
  ftruncate: { parameters: ["i32", "i64"], result: "i32" },
  fsync: { parameters: ["i32"], result: "i32" },
  sync: { parameters: [], result: "void" },
  dup: { parameters: ["i32"], result: "i32" },
  dup2: { parameters: ["i32", "i32"], result: "i32" },
  fcntl: { parameters: ["i32", "i32", "i64"], result: "i32" },
  ioctl: { parameters: ["i32", "u64", "usize"], result: "i32" },
  pipe: { parameters: ["usize"], result: "i32" },
  umask: { parameters: ["u32"], result: "u32" },
  poll: { parameters: ["usize", "u64", "i32"], result: "i32" },
  isatty: { parameters: ["i32"], result: "i32" },
  getpid: { parameters: [], result: "i32" },
  fork: { parameters: [], result: "i32" },
  wait4: { parameters: ["i32", "usize", "i32", "usize"], result: "i32" },
  waitid: { parameters: ["i32", "u32", "usize", "i32"], result: "i32" },
  setpgid: { parameters: ["i32", "i32"], result: "i32" },
  setsid: { parameters: [], result: "i32" },
  getppid: { parameters: [], result: "i32" },
  getuid: { parameters: [], result: "u32" },
  geteuid: { parameters: [], result: "u32" },
  getgid: { parameters: [], result: "u32" },
  getegid: { parameters: [], result: "u32" },
  getgroups: { parameters: ["i32", "usize"], result: "i32" },
  getpgid: { parameters: ["i32"], result: "i32" },
  getsid: { parameters: ["i32"], result: "i32" },
  getrusage: { parameters: ["i32", "usize"], result: "i32" },
  getrlimit: { parameters: ["i32", "usize"], result: "i32" },
  setrlimit: { parameters: ["i32", "usize"], result: "i32" },
  clock_gettime: { parameters: ["i32", "usize"], result: "i32" },
  clock_getres: { parameters: ["i32", "usize"], result: "i32" },
  nanosleep: { parameters: ["usize", "usize"], result: "i32" },
  getentropy: { parameters: ["usize", "usize"], result: "i32" },
  mmap: { parameters: ["usize", "usize", "i32", "i32", "i32", "i64"], result: "usize" },
  munmap: { parameters: ["usize", "usize"], result: "i32" },
  madvise: { parameters: ["usize", "usize", "i32"], result: "i32" },
  mincore: { parameters: ["usize", "usize", "usize"], result: "i32" },
  mprotect: { parameters: ["usize", "usize", "i32"], result: "i32" },
  kill: { parameters: ["i32", "i32"], result: "i32" },
  signal: { parameters: ["i32", "usize"], result: "usize" },
  sigaction: { parameters: ["i32", "usize", "usize"], result: "i32" },
  gettid: { parameters: [], result: "i32" },
  alarm: { parameters: ["u32"], result: "u32" },
  setitimer: { parameters: ["i32", "usize", "usize"], result: "i32" },
  getitimer: { parameters: ["i32", "usize"], result: "i32" },
  sigprocmask: {
    name: Deno.build.os === "linux" ? "pthread_sigmask" : "sigprocmask",
    parameters: ["i32", "usize", "usize"],
    result: "i32",
  },
  memcpy: { parameters: ["usize", "usize", "usize"], result: "usize" },
  memcmp: { parameters: ["usize", "usize", "usize"], result: "i32" },
  msync: { parameters: ["usize", "usize", "i32"], result: "i32" },
  uname: { parameters: ["usize"], result: "i32" },
  setuid: { parameters: ["u32"], result: "i32" },
  setgid: { parameters: ["u32"], result: "i32" },
  _exit: { parameters: ["i32"], result: "void" },
  flock: { parameters: ["i32", "i32"], result: "i32" },
  // Sockets: the same calls on both hosts (struct layouts differ: host/darwin.ts translates).
  socket: { parameters: ["i32", "i32", "i32"], result: "i32" },
  socketpair: { parameters: ["i32", "i32", "i32", "usize"], result: "i32" },
  bind: { parameters: ["i32", "usize", "u32"], result: "i32" },
  listen: { parameters: ["i32", "i32"], result: "i32" },
  connect: { parameters: ["i32", "usize", "u32"], result: "i32" },
  getsockname: { parameters: ["i32", "usize", "usize"], result: "i32" },
  getpeername: { parameters: ["i32", "usize", "usize"], result: "i32" },
  sendto: { parameters: ["i32", "usize", "usize", "i32", "usize", "u32"], result: "isize" },
  recvfrom: { parameters: ["i32", "usize", "usize", "i32", "usize", "usize"], result: "isize" },
  sendmsg: { parameters: ["i32", "usize", "i32"], result: "isize" },
  recvmsg: { parameters: ["i32", "usize", "i32"], result: "isize" },
  setsockopt: { parameters: ["i32", "i32", "i32", "usize", "u32"], result: "i32" },
  getsockopt: { parameters: ["i32", "i32", "i32", "usize", "usize"], result: "i32" },
  shutdown: { parameters: ["i32", "i32"], result: "i32" },
  accept: { parameters: ["i32", "usize", "usize"], result: "i32" },
} as const;

const linuxOnly = {
  __errno_location: { parameters: [], result: "pointer" },
  statx: { parameters: ["i32", "usize", "i32", "u32", "usize"], result: "i32" },
  getdents64: { parameters: ["i32", "usize", "usize"], result: "isize" },
  posix_fadvise: { parameters: ["i32", "i64", "i64", "i32"], result: "i32" },
  // macOS has these with extra position/options arguments; xattr.ts checks the host first.
  getxattr: { parameters: ["usize", "usize", "usize", "usize"], result: "isize" },
  lgetxattr: { parameters: ["usize", "usize", "usize", "usize"], result: "isize" },
  fgetxattr: { parameters: ["i32", "usize", "usize", "usize"], result: "isize" },
  listxattr: { parameters: ["usize", "usize", "usize"], result: "isize" },
  llistxattr: { parameters: ["usize", "usize", "usize"], result: "isize" },
  flistxattr: { parameters: ["i32", "usize", "usize"], result: "isize" },
  renameat2: { parameters: ["i32", "usize", "i32", "usize", "u32"], result: "i32" },
  dup3: { parameters: ["i32", "i32", "i32"], result: "i32" },
  pipe2: { parameters: ["usize", "i32"], result: "i32" },
  fallocate: { parameters: ["i32", "i32", "i64", "i64"], result: "i32" },
  fdatasync: { parameters: ["i32"], result: "i32" },
  syncfs: { parameters: ["i32"], result: "i32" },
  memfd_create: { parameters: ["usize", "u32"], result: "i32" },
  epoll_create1: { parameters: ["i32"], result: "i32" },
  epoll_ctl: { parameters: ["i32", "i32", "i32", "usize"], result: "i32" },
  epoll_wait: { parameters: ["i32", "usize", "i32", "i32"], result: "i32" },
  eventfd: { parameters: ["u32", "i32"], result: "i32" },
  accept4: { parameters: ["i32", "usize", "usize", "i32"], result: "i32" },
  timerfd_create: { parameters: ["i32", "i32"], result: "i32" },
  timerfd_settime: { parameters: ["i32", "i32", "usize", "usize"], result: "i32" },
  timerfd_gettime: { parameters: ["i32", "usize"], result: "i32" },
  inotify_init1: { parameters: ["i32"], result: "i32" },
  inotify_add_watch: { parameters: ["i32", "usize", "u32"], result: "i32" },
  inotify_rm_watch: { parameters: ["i32", "i32"], result: "i32" },
  splice: { parameters: ["i32", "usize", "i32", "usize", "usize", "u32"], result: "isize" },
  tee: { parameters: ["i32", "i32", "usize", "u32"], result: "isize" },
  vmsplice: { parameters: ["i32", "usize", "usize", "u32"], result: "isize" },
  posix_spawn: {
    parameters: ["usize", "usize", "usize", "usize", "usize", "usize"],
    result: "i32",
  },
  posix_spawn_file_actions_init: { parameters: ["usize"], result: "i32" },
  posix_spawn_file_actions_adddup2: { parameters: ["usize", "i32", "i32"], result: "i32" },
  posix_spawn_file_actions_destroy: { parameters: ["usize"], result: "i32" },
  posix_spawnattr_init: { parameters: ["usize"], result: "i32" },
  posix_spawnattr_destroy: { parameters: ["usize"], result: "i32" },
  posix_spawnattr_setflags: { parameters: ["usize", "i16"], result: "i32" },
  posix_spawnattr_setsigdefault: { parameters: ["usize", "usize"], result: "i32" },
  posix_spawnattr_setsigmask: { parameters: ["usize", "usize"], result: "i32" },
  sched_rr_get_interval: { parameters: ["i32", "usize"], result: "i32" },
  sched_setaffinity: { parameters: ["i32", "usize", "usize"], result: "i32" },
  setpriority: { parameters: ["i32", "u32", "i32"], result: "i32" },
  getpriority: { parameters: ["i32", "u32"], result: "i32" },
  statfs: { parameters: ["usize", "usize"], result: "i32" },
  fstatfs: { parameters: ["i32", "usize"], result: "i32" },
  sendfile: { parameters: ["i32", "i32", "usize", "usize"], result: "isize" },
  copy_file_range: {
    parameters: ["i32", "usize", "i32", "usize", "usize", "u32"],
    result: "isize",
  },
  ppoll: { parameters: ["usize", "u64", "usize", "usize"], result: "i32" },
  sysinfo: { parameters: ["usize"], result: "i32" },
  getrandom: { parameters: ["usize", "usize", "u32"], result: "isize" },
  sched_getaffinity: { parameters: ["i32", "usize", "usize"], result: "i32" },
  sched_yield: { parameters: [], result: "i32" },
  getcpu: { parameters: ["usize", "usize"], result: "i32" },
  clock_nanosleep: { parameters: ["i32", "i32", "usize", "usize"], result: "i32" },
  getresuid: { parameters: ["usize", "usize", "usize"], result: "i32" },
  getresgid: { parameters: ["usize", "usize", "usize"], result: "i32" },
  prlimit: { parameters: ["i32", "i32", "usize", "usize"], result: "i32" },
  times: { parameters: ["usize"], result: "i64" },
  /** glibc >= 2.34: the spawned child closes every fd from N on before its exec. */
  posix_spawn_file_actions_addclosefrom_np: {
    parameters: ["usize", "i32"],
    result: "i32",
    optional: true,
  },
  syscall6: {
    name: "syscall",
    parameters: ["i64", "i64", "i64", "i64", "i64", "i64", "i64"],
    result: "i64",
  },
} as const;

const darwinOnly = {
  __error: { parameters: [], result: "pointer" },
} as const;

/** Each symbol is bound on first use (Deno builds a wrapper per symbol, about 50 µs each, and a
 * plain run uses a fraction of them); the binding then replaces the getter with the function. */
function lazySymbols(defs: Record<string, Deno.ForeignFunction>): Record<string, unknown> {
  const lib: Record<string, unknown> = {};
  const keep: unknown[] = [];
  for (const [name, def] of Object.entries(defs)) {
    Object.defineProperty(lib, name, {
      configurable: true,
      enumerable: true,
      get() {
        const one = Deno.dlopen(path, { [name]: def });
        keep.push(one);
        const fn = withCConversions(one.symbols[name] as AnyFn, def.parameters);
        Object.defineProperty(lib, name, { value: fn, enumerable: true });
        return fn;
      },
    });
  }
  return lib;
}

// deno-lint-ignore no-explicit-any
type AnyFn = (...args: any[]) => any;

/** How a narrow integer parameter takes a Number (index: the parameter type's code below). */
const PASS = 0, I32 = 1, U32 = 2, I16 = 3, U16 = 4, I8 = 5, U8 = 6;
const narrowTypes: Record<string, number> = {
  i32: I32,
  u32: U32,
  i16: I16,
  u16: U16,
  i8: I8,
  u8: U8,
};

/**
 * C's conversion of a value to a narrow integer parameter: modulo 2^bits, as a C caller's cast
 * does (and NaN as 0). Deno's FFI throws a TypeError instead for a Number out of the type's range
 * (getpriority's id_t who given -1: "Invalid FFI u32 type"), which would end elfuse with an
 * internal error on a guest's garbage argument. 64-bit parameters need nothing: a Number out of
 * their range saturates (measured), and callers pass BigInts there too.
 */
function convert(kind: number, v: number): number {
  switch (kind) {
    case I32:
      return v | 0;
    case U32:
      return v >>> 0;
    case I16:
      return (v << 16) >> 16;
    case U16:
      return v & 0xffff;
    case I8:
      return (v << 24) >> 24;
    case U8:
      return v & 0xff;
  }
  return v;
}

/**
 * `fn` with convert() applied to its narrow integer parameters, or `fn` itself when it has none.
 * One fixed-arity wrapper per parameter count, so calls allocate nothing; convert() is a single
 * function, so V8 inlines it at every call site.
 */
function withCConversions(fn: AnyFn, parameters: readonly Deno.NativeType[]): AnyFn {
  const k = parameters.map((p) => narrowTypes[p as string] ?? PASS);
  if (k.every((x) => x === PASS)) return fn;
  const [k0, k1, k2, k3, k4, k5, k6] = k;
  const c = convert;
  switch (k.length) {
    case 1:
      return (a) => fn(c(k0, a));
    case 2:
      return (a, b) => fn(c(k0, a), c(k1, b));
    case 3:
      return (a, b, d) => fn(c(k0, a), c(k1, b), c(k2, d));
    case 4:
      return (a, b, d, e) => fn(c(k0, a), c(k1, b), c(k2, d), c(k3, e));
    case 5:
      return (a, b, d, e, f) => fn(c(k0, a), c(k1, b), c(k2, d), c(k3, e), c(k4, f));
    case 6:
      return (a, b, d, e, f, g) => fn(c(k0, a), c(k1, b), c(k2, d), c(k3, e), c(k4, f), c(k5, g));
    default:
      return (a, b, d, e, f, g, h) =>
        fn(c(k0, a), c(k1, b), c(k2, d), c(k3, e), c(k4, f), c(k5, g), c(k6, h));
  }
}

function open() {
  const lib = lazySymbols({
    ...symbols,
    ...(Deno.build.os === "linux" ? linuxOnly : darwinOnly),
  } as Record<string, Deno.ForeignFunction>);
  const errno = (Deno.build.os === "linux" ? lib.__errno_location : lib.__error) as () =>
    Deno.PointerValue;
  return { lib: lib as unknown as LinuxLib, errnoPtr: errno() };
}

type LinuxLib = NumberArgs<Deno.DynamicLibrary<typeof symbols & typeof linuxOnly>["symbols"]>;
const opened = open();

/** The host libc. On macOS the Linux-only symbols are absent; host/darwin.ts never calls them. */
export const libc: LinuxLib = opened.lib;

// errno is thread-local; elfuse calls libc from one thread, so one view of the main thread's errno
// stays valid (read it right after the failing call, before other JS can call into libc).
const errnoView = new Int32Array(Deno.UnsafePointerView.getArrayBuffer(opened.errnoPtr!, 4));

export function setHostErrno(v: number): void {
  errnoView[0] = v;
}

/** The host errno of the last failed libc call. */
export function hostErrno(): number {
  return errnoView[0];
}

/**
 * mmap's result as a number, or -1 for MAP_FAILED. Deno returns a `usize` result as a Number, so
 * MAP_FAILED ((void *)-1) arrives as 2^64, never as -1; no mapping ever sits in the top page.
 */
export function mmapAddress(result: number | bigint): number {
  const n = Number(result);
  return n >= 2 ** 64 - 4096 ? -1 : n;
}

/** Scratch memory outside the guest slab for host structs (iovecs, stat buffers, pollfds). */
export class Scratch {
  readonly address: number;
  readonly u8: Uint8Array;
  readonly view: DataView;
  constructor(readonly size: number) {
    // PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS (0x22 on Linux, 0x1002 on macOS).
    const flags = Deno.build.os === "darwin" ? 0x1002 : 0x22;
    const addr = mmapAddress(libc.mmap(0, size, 3, flags, -1, 0));
    if (addr === -1 || addr === 0) throw new Error("cannot allocate host scratch memory");
    this.address = addr;
    const ptr = Deno.UnsafePointer.create(BigInt(addr))!;
    const buf = Deno.UnsafePointerView.getArrayBuffer(ptr, size);
    this.u8 = new Uint8Array(buf);
    this.view = new DataView(buf);
  }
}
