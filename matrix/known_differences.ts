/**
 * THE list of known differences: cases that are expected to differ from a reference, and why.
 *
 * A listed case that differs counts as "known" (it does not fail the run). A listed case that no
 * longer differs is reported "fixed — remove the entry" and fails the run, and so does an entry
 * naming no case at all, so this list stays true. `reference` is a runner name (`qemu-user`,
 * `native`) or `*` for any. `judgeAlone` marks the reference's own bug: the case is judged on
 * elfuse alone (its self-check), and the entry is reported fixed once the reference gets it right.
 *
 * Example entry:
 * ```ts
 * { case: "busybox/uname-m", reference: "*", reason: "uname -m says x86_64 (issue #12)" },
 * ```
 *
 * @module
 */

import type { KnownDifference } from "./types.ts";

/** Every known difference. Keep each reason short and say what would fix it. */
export const knownDifferences: KnownDifference[] = [
  // qemu-user 7.2 (Debian bookworm) fails these fixtures' own self-checks; elfuse passes them.
  {
    case: "fixture/fcntl",
    reference: "qemu-user",
    reason: "qemu-user's F_GETFL does not report O_LARGEFILE",
  },
  {
    case: "fixture/sigqueue_limit",
    reference: "qemu-user",
    judgeAlone: true,
    reason:
      "Linux counts RLIMIT_SIGPENDING per user, and qemu-user queues the guest's signals on " +
      "the host: other processes of the same user (a busy CI runner's) use up the limit of 4 " +
      "first; elfuse counts the guest process's own",
  },
  {
    case: "fixture/mlock",
    reference: "qemu-user",
    judgeAlone: true,
    reason: "qemu-user 7.2 has no mlock2 (ENOSYS), so it neither rejects a bad flag nor locks",
  },
  {
    case: "fixture/job_control",
    reference: "qemu-user",
    reason: "qemu-user sends SIGCHLD for a stopped or continued child whatever SA_NOCLDSTOP says",
    judgeAlone: true,
  },
  {
    case: "fixture/proc_wait",
    reference: "qemu-user",
    reason: "qemu-user runs a vfork child without suspending the parent until its exec or exit, " +
      "so whether its check passes depends on scheduling",
    intermittent: true,
  },

  // qemu-user's own bugs in programs it starts through binfmt_misc: with a faithful entry
  // (matrix/binfmt.ts) these cases run on qemu-user but are judged on elfuse alone.
  {
    case: "fixture/exec_self",
    reference: "qemu-user",
    judgeAlone: true,
    reason: "qemu-user hands a program its environment in reverse order, so the exec'd copy " +
      "sees envp[0] as the last variable",
  },
  {
    case: "fixture/thread_fork",
    reference: "qemu-user",
    judgeAlone: true,
    reason: "qemu-user 7.2 aborts when the forked child of a threaded process starts a thread " +
      "(assertion in plugins/core.c qemu_plugin_vcpu_init_hook)",
  },
  {
    case: "fixture/proc_files",
    reference: "qemu-user",
    judgeAlone: true,
    reason: "qemu-user 7.2 passes the host's /proc through (an x86_64 cpuinfo, its own helper " +
      "thread in /proc/self/task, fdinfo flags in x86_64's numbers), all of the host's /sys, " +
      "and renders /proc/self/stat " +
      "with vsize 0",
  },
  {
    case: "fixture/mqueue",
    reference: "qemu-user",
    judgeAlone: true,
    reason: "qemu-user 7.2 answers mq_notify with ENOSYS (linux-user has no mq_notify)",
  },
  {
    case: "fixture/proc_pids",
    reference: "qemu-user",
    judgeAlone: true,
    reason: "qemu-user shows another process's /proc as the host's: its cmdline, comm and exe " +
      "are qemu-aarch64's, and its SigCgt has every signal (qemu catches them all on the host)",
  },
  {
    case: "fixture/spawn",
    reference: "qemu-user",
    judgeAlone: true,
    reason: "qemu-user runs a CLONE_VM|CLONE_VFORK child as a plain fork, so posix_spawn " +
      "cannot see that the exec of a missing file failed and returns 0, not ENOENT",
  },

  {
    case: "fixture/vdso",
    reference: "qemu-user",
    reason:
      "qemu-user 7.2 maps no vDSO for aarch64 guests (AT_SYSINFO_EHDR unset; qemu 8.1 has one)",
  },
  {
    case: "fixture/sig_handler",
    reference: "*",
    reason:
      "elfuse: signals from other processes carry no siginfo (si_code SI_KERNEL, si_pid 0); " +
      "see knownFailures in fixtures/catalog.ts",
  },
  {
    case: "fixture/startup_misc",
    reference: "qemu-user",
    reason: "qemu-user implements neither set_robust_list nor get_robust_list (ENOSYS)",
  },
  {
    case: "fixture/exec_loader",
    reference: "qemu-user",
    reason: "under binfmt_misc the execve has succeeded before qemu-user looks for PT_INTERP, " +
      "so a missing or unrunnable loader ends the new process (exit 255) instead of failing " +
      "execve; without binfmt_misc the reference is not run (needsExec), hence intermittent",
    intermittent: true,
  },
  {
    case: "fixture/proc_self",
    reference: "qemu-user",
    reason: "qemu-user serves /proc/self/maps from a file it opened read-write, so a write, " +
      "ftruncate or fallocate on the guest's read-only fd succeeds",
  },
  {
    case: "fixture/exec_fd",
    reference: "qemu-user",
    reason: "qemu-user 7.2 has no execveat (ENOSYS), so fexecve fails; without binfmt_misc the " +
      "reference is not run (needsExec), hence intermittent",
    judgeAlone: true,
    intermittent: true,
  },
  {
    case: "debian/base-system",
    reference: "qemu-user",
    reason: "qemu-aarch64 -L reads the host's /etc/alternatives/awk (mawk) where the sysroot has " +
      "its own (gawk); without binfmt_misc the reference is not run (needsExec), hence " +
      "intermittent",
    judgeAlone: true,
    intermittent: true,
  },
  {
    case: "fixture/sysroot_paths",
    reference: "qemu-user",
    reason: "qemu-aarch64 -L falls back to the host's file when the sysroot lacks it (/etc/passwd)",
  },
  {
    case: "fixture/thread_proc",
    reference: "qemu-user",
    reason: "qemu-user shows the host's /proc/self/status (its own threads counted) and a " +
      "/proc/self/stat without num_threads",
  },
  {
    case: "fixture/thread_locks",
    reference: "qemu-user",
    reason: "qemu-user has no set_robust_list, so a robust mutex whose owner thread exited " +
      "stays locked instead of giving EOWNERDEAD",
  },
  {
    case: "fixture/ioctl",
    reference: "qemu-user",
    reason: "qemu-user answers an unknown ioctl on a pipe with ENOSYS, not ENOTTY",
  },
  {
    case: "fixture/mmap_anon",
    reference: "qemu-user",
    reason: "qemu-user ignores MAP_FIXED_NOREPLACE over an existing mapping (no EEXIST)",
  },
  {
    case: "fixture/munmap_mprotect",
    reference: "qemu-user",
    reason: "qemu-user fails mprotect of length 0 with ENOMEM",
  },
  {
    case: "fixture/mremap_madvise",
    reference: "qemu-user",
    reason:
      "qemu-user: mremap to size 0 gives ENOMEM, madvise accepts bad advice and unmapped ranges, " +
      "mincore over a PROT_NONE page gives ENOMEM (Linux answers it: the page is mapped)",
  },
  {
    case: "fixture/socket_unix",
    reference: "qemu-user",
    reason: "qemu-user 7.2 accepts unknown SOCK_ type flags, never sets MSG_CTRUNC, passes a " +
      "cmsg_len shorter than a cmsghdr, and garbles SCM_CREDENTIALS",
  },
  {
    case: "fixture/event_objects",
    reference: "qemu-user",
    reason: "qemu-user 7.2 has no epoll_pwait2 (ENOSYS) and accepts a signalfd4 sizemask of 4",
  },
  {
    case: "fixture/sleep",
    reference: "qemu-user",
    reason: "qemu-user's nanosleep accepts a bad pointer (no EFAULT)",
  },
  {
    case: "fixture/sigaction",
    reference: "qemu-user",
    reason: "qemu-user keeps SIGKILL/SIGSTOP in sa_mask and unsupported sa_flags bits, and " +
      "rejects sigaltstack's SS_AUTODISARM",
  },
  {
    case: "fixture/sigprocmask",
    reference: "qemu-user",
    reason: "qemu-user drops signal 64 and RT signals from the blocked mask",
  },
];
