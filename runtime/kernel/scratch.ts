// The layout of the runtime's scratch memory (Runtime.scratch): every slot a handler or the
// kernel builds host structs in, declared here so that no two uses overlap by accident. A slot's
// contents live only until the handler that wrote them returns.

/** Size of the scratch area. */
export const SCRATCH_SIZE = 1 << 20;

/** Slot offsets (bytes from the start of scratch memory). */
export const Slot = {
  /** A handler's own working buffer: iovec arrays, pollfds (+ their timespec), uname, pipe fds. */
  BUFFER: 0x0_0000,
  /** statx output, then an empty path for AT_EMPTY_PATH calls. */
  STATX: 0x1_0000,
  EMPTY_PATH: 0x1_0200,
  /** siginfo_t from waitid (the guest's own waitid, SIGCHLD details). */
  WAITID: 0x1_0400,
  /** siginfo_t for a pid holder's state (inline_table.ts). */
  HOLDER_WAITID: 0x1_0480,
  /** Two fds from pipe2 (vfork and release pipes). */
  PIPE: 0x1_0500,
  /** A holder's pipe and socketpair (pid_holder.ts). */
  HOLDER_FDS: 0x1_0520,
  /** A fork spare's socketpair (fork.ts). */
  SPARE_FDS: 0x1_0540,
  /** The timespec POSIX timers read their clocks into (syscalls/timer.ts). */
  TIMER_CLOCK: 0x1_0580,
  /** A host timespec (Runtime.scratchTimespec), then a zero one. */
  TIMESPEC: 0x1_0590,
  /** getrlimit's struct rlimit. */
  RLIMIT: 0x1_05c0,
  /** Offsets copied in and out for sendfile and copy_file_range (two loff_t). */
  OFFSETS: 0x1_05e0,
  /** A byte read to wait for a pipe's EOF. */
  BYTE: 0x1_05f0,
  /** One pollfd and a zero timespec (blocking.ts mayBlock). */
  POLL_ONE: 0x1_0600,
  /** wait4's status when the guest passed none (reaping needs it). */
  WAIT_STATUS: 0x1_0620,
  /** getcwd's buffer. */
  CWD: 0x1_1000,
  /** Runtime.scratchString's default (8 KiB). */
  STRING: 0x1_2000,
  /** Paths pathAt() rewrote (two: rename and link take two). */
  PATH_0: 0x1_4000,
  PATH_1: 0x1_6000,
  /** The host path execve checks. */
  EXEC_PATH: 0x1_8000,
  /** 34 general-register words, then v0-v31/fpsr/fpcr (signal frames, execve). */
  REGS: 0x1_a000,
  FPSIMD: 0x1_a200,
  /** posix_spawn's attributes, file actions, argv and envp (host/spawn.ts). */
  SPAWN: 0x2_0000,
  /** Extended attribute values (up to XATTR_SIZE_MAX, 64 KiB). */
  XATTR_VALUE: 0x4_0000,
  /** The scheduler's pollfd array when every thread waits (scheduler.ts idle). */
  IDLE_POLL: 0x5_0000,
  /** A host sockaddr, then its socklen_t (socket.ts, when the host's layout differs). */
  SOCKADDR: 0x5_8000,
  SOCKLEN: 0x5_8100,
  /** Two fds from socketpair; a socket option value (SO_ERROR, timeouts). */
  SOCKPAIR: 0x5_8110,
  SOCKOPT: 0x5_8120,
  /** The host struct msghdr socket.ts builds for sendmsg and recvmsg. */
  MSGHDR: 0x5_8180,
  /** Host control messages (cmsgs) for sendmsg and recvmsg (64 KiB). */
  CONTROL: 0x6_0000,
} as const;

/** Each slot's size, for the layout test (scratch_test.ts). */
export const slotSizes: Record<keyof typeof Slot, number> = {
  BUFFER: 0x1_0000,
  STATX: 0x200,
  EMPTY_PATH: 0x10,
  WAITID: 0x80,
  HOLDER_WAITID: 0x80,
  PIPE: 0x10,
  HOLDER_FDS: 0x20,
  SPARE_FDS: 0x10,
  TIMER_CLOCK: 0x10,
  TIMESPEC: 0x20,
  RLIMIT: 0x10,
  OFFSETS: 0x10,
  BYTE: 0x10,
  POLL_ONE: 0x20,
  WAIT_STATUS: 0x10,
  CWD: 0x1000,
  STRING: 0x2000,
  PATH_0: 0x2000,
  PATH_1: 0x2000,
  EXEC_PATH: 0x2000,
  REGS: 0x200,
  FPSIMD: 0x220,
  SPAWN: 0x2_0000,
  XATTR_VALUE: 0x1_0000,
  IDLE_POLL: 0x8000,
  SOCKADDR: 0x100,
  SOCKLEN: 0x10,
  SOCKPAIR: 0x10,
  SOCKOPT: 0x40,
  MSGHDR: 0x80,
  CONTROL: 0x1_0000,
};
