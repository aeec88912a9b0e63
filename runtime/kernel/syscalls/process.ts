// New processes and waiting for them. A guest child is a new elfuse host process (kernel/fork.ts);
// guest pids are host pids, so wait4 and waitid are the host's own.
import { Slot } from "../scratch.ts";
import { libc } from "../../host/libc.ts";
import { E } from "../errno.ts";
import type { Task } from "../task.ts";
import type { SyscallDef } from "../syscall_def.ts";
import { spawnChild } from "../fork.ts";
import { forkInline, waitUntilClosed } from "../inline_fork.ts";

import {
  clone3Args,
  CLONE_CHILD_CLEARTID,
  CLONE_CHILD_SETTID,
  CLONE_FILES,
  CLONE_FS,
  CLONE_PARENT_SETTID,
  CLONE_PIDFD,
  CLONE_SETTLS,
  CLONE_SIGHAND,
  CLONE_THREAD,
  CLONE_VM,
  type CloneArgs,
  cloneThread,
} from "./thread.ts";
import { POLLIN } from "../blocking.ts";
import { ERESTARTSYS, Outcome } from "../wait.ts";
import { childStatusInfo } from "../signals.ts";
import { hostIds } from "../../host/credentials.ts";

const CLONE_VFORK = 0x4000, CLONE_PARENT = 0x8000;

/**
 * Flags of a new process that are not offered: sharing handlers, files or fs with another
 * process, CLONE_PARENT, pidfds and namespaces.
 */
const UNSUPPORTED = CLONE_SIGHAND | CLONE_FS | CLONE_FILES | CLONE_PARENT | CLONE_PIDFD |
  0x7e020000;
const WNOHANG = 1, WNOWAIT = 0x01000000;

function clone(k: Task, a: Float64Array): number {
  // aarch64 clone(flags, stack, parent_tid, tls, child_tid)
  return cloneWith(k, { flags: a[0] >>> 0, sp: a[1], parentTid: a[2], tls: a[3], childTid: a[4] });
}

/** clone3(args, size): the same, from struct clone_args. */
function clone3(k: Task, a: Float64Array): number {
  const c = clone3Args(k, a[0], a[1]);
  return typeof c === "number" ? c : cloneWith(k, c);
}

function cloneWith(k: Task, c: CloneArgs): number {
  const flags = c.flags;
  if ((flags & CLONE_THREAD) && !(flags & CLONE_SIGHAND)) return -E.EINVAL;
  if ((flags & CLONE_SIGHAND) && !(flags & CLONE_VM)) return -E.EINVAL;
  if (flags & CLONE_THREAD) return cloneThread(k, c);
  if (flags & UNSUPPORTED) return -E.ENOSYS; // shared handlers or files, pidfds, namespaces
  if ((flags & CLONE_PARENT_SETTID) && !k.proc.canWrite(c.parentTid, 4)) return -E.EFAULT;
  return forkProcess(k, c);
}

/**
 * fork, vfork and clone without CLONE_THREAD. The child runs in this process first, while the
 * parent waits (kernel/inline_fork.ts; a vfork child shares memory as Linux's does); where that
 * is not possible it is a new elfuse host process with a copy of this one (kernel/fork.ts), and
 * a vfork parent waits for the child's exec or exit without seeing what it wrote before.
 */
function forkProcess(k: Task, c: CloneArgs): number {
  const { flags, sp: newSp, parentTid, tls, childTid } = c;
  const tid = (flags & (CLONE_CHILD_SETTID | CLONE_CHILD_CLEARTID)) ? childTid : 0;
  const inline = forkInline(k, {
    sp: (flags & CLONE_VM) ? newSp : 0,
    tls: (flags & CLONE_SETTLS) ? tls : undefined,
    childTid: tid,
    clearTid: (flags & CLONE_CHILD_CLEARTID) !== 0,
    vfork: (flags & CLONE_VFORK) !== 0,
  });
  if (inline !== undefined) {
    k.proc.children.add(inline);
    if (flags & CLONE_PARENT_SETTID) k.proc.view.setInt32(parentTid, inline, true);
    return inline;
  }
  // vfork: the parent sleeps until the child's execve or exit closes the pipe's write end.
  let vforkRead = -1, vforkFd: number | undefined;
  if (flags & CLONE_VFORK) {
    const s = k.rt.scratch;
    if (libc.pipe2(s.address + Slot.PIPE, 0o2000000 /* O_CLOEXEC */) === 0) {
      vforkRead = s.view.getInt32(Slot.PIPE, true);
      vforkFd = s.view.getInt32(Slot.PIPE + 4, true);
    }
  }
  const pid = spawnChild(k, {
    sp: (flags & CLONE_VM) ? newSp : 0,
    tls: (flags & CLONE_SETTLS) ? tls : undefined,
    childTid: tid,
    clearTid: (flags & CLONE_CHILD_CLEARTID) !== 0,
    vforkFd,
  });
  if (vforkFd !== undefined) libc.close(vforkFd);
  if (pid < 0) {
    if (vforkRead >= 0) libc.close(vforkRead);
    return pid;
  }
  k.proc.children.add(pid);
  if (flags & CLONE_PARENT_SETTID) k.proc.view.setInt32(parentTid, pid, true);
  if (vforkRead >= 0) {
    // With other threads the parent thread alone waits (they go on), parked with its result.
    if (k.proc.tasks.length > 1) {
      return k.block({
        fds: [{ hostFd: vforkRead, events: POLLIN }],
        uninterruptible: true,
        done: pid,
        onEnd: () => libc.close(vforkRead),
      });
    }
    waitUntilClosed(k, vforkRead);
    libc.close(vforkRead);
  }
  return pid;
}

/**
 * A wait for a child in a process with other threads: the host call runs with WNOHANG, and when
 * no child has changed state the thread parks until a SIGCHLD arrives (the signal listener
 * routes it for this), so the others go on. `call` returns what the host call found (0: none).
 */
function waitChild(k: Task, options: number, call: (options: number) => number): number {
  const router = k.proc.router;
  if (k.proc.tasks.length === 1 || (options & WNOHANG) || router === undefined) {
    return call(options);
  }
  if (k.resumed()?.outcome === Outcome.Signal) return -ERESTARTSYS;
  router.watchChildren();
  const childCount = router.childSignals();
  const r = call(options | WNOHANG);
  return r !== 0 ? r : k.block({ childCount });
}

function wait4(k: Task, a: Float64Array): number {
  const pid = a[0] | 0, status = a[1], options = a[2] | 0, rusage = a[3];
  if ((options & ~(1 | 2 | 8 | 0x20000000 | 0x40000000 | 0x80000000)) !== 0) return -E.EINVAL;
  if (status !== 0 && !k.proc.canWrite(status, 4)) return -E.EFAULT;
  if (rusage !== 0 && !k.proc.canWrite(rusage, 144)) return -E.EFAULT;
  // The host process may also have a warm spare as a child (kernel/fork.ts): with no guest
  // children, "any child" must not wait for it.
  if (pid <= 0 && k.proc.children.size === 0) return -E.ECHILD;
  // Another host child of this process (a spare, a pid holder, a sibling's) is not the guest's.
  if (pid > 0 && !k.proc.children.has(pid)) return -E.ECHILD;
  // Linux's wait status and struct rusage are the same on every architecture.
  // The status is needed either way: a stopped or continued child is reported, not reaped.
  const s = k.rt.scratch;
  const st = status === 0 ? s.address + Slot.WAIT_STATUS : k.proc.hostBase + status,
    ru = rusage === 0 ? 0 : k.proc.hostBase + rusage;
  return waitChild(k, options, (opts) => {
    let r: number;
    // A warm spare that died (a group kill) is a host child but not the guest's: wait again.
    do r = libc.wait4(pid, st, opts, ru); while (r > 0 && pid <= 0 && !k.proc.children.has(r));
    if (r > 0) {
      const v = status === 0
        ? s.view.getInt32(Slot.WAIT_STATUS, true)
        : k.proc.view.getInt32(status, true);
      k.proc.reaped(childStatusInfo(r, v, hostIds().uid));
    }
    return k.host(r);
  });
}

function waitid(k: Task, a: Float64Array): number {
  const idtype = a[0] | 0, id = a[1] >>> 0, info = a[2], options = a[3] | 0, rusage = a[4];
  if (info !== 0 && !k.proc.canWrite(info, 128)) return -E.EFAULT;
  if (rusage !== 0) {
    if (!k.proc.canWrite(rusage, 144)) return -E.EFAULT;
    k.proc.mem.fill(0, rusage, rusage + 144); // not reported by the libc waitid wrapper
  }
  if ((idtype === 0 /* P_ALL */ || idtype === 2 /* P_PGID */) && k.proc.children.size === 0) {
    return -E.ECHILD;
  }
  // WEXITED | WSTOPPED | WCONTINUED: one is needed; any other bit but WNOHANG, WNOWAIT and the
  // __W* flags is invalid (waitid(2)).
  if ((options & 0xe) === 0 || (options & ~(0xf | 0x01000000 | 0xe0000000)) !== 0) {
    return -E.EINVAL;
  }
  if (idtype === 1 /* P_PID */ && !k.proc.children.has(id)) return -E.ECHILD;
  const s = k.rt.scratch;
  const at = Slot.WAITID;
  const r = waitChild(k, options, (opts) => {
    s.u8.fill(0, at, at + 128);
    if (libc.waitid(idtype, id, s.address + at, opts) < 0) return k.fail();
    // With WNOHANG and nothing to report, si_pid stays 0.
    return (opts & WNOHANG) && !(options & WNOHANG) ? s.view.getInt32(at + 16, true) : 1;
  });
  if (r <= 0) return r;
  // siginfo_t for SIGCHLD (si_pid, si_uid, si_status) has one layout on every Linux.
  if (info !== 0) k.proc.mem.set(s.u8.subarray(at, at + 128), info);
  const child = s.view.getInt32(at + 16, true);
  if (child > 0 && !(options & WNOWAIT)) {
    k.proc.reaped({
      code: s.view.getInt32(at + 8, true),
      pid: child,
      uid: s.view.getUint32(at + 20, true),
      value: BigInt(s.view.getInt32(at + 24, true) >>> 0),
    });
  }
  return 0;
}

export const processSyscalls: SyscallDef[] = [
  {
    name: "clone",
    handler: clone,
    args: ["hex", "ptr", "ptr", "hex", "ptr"],
    status: "partial",
    note:
      "threads (CLONE_THREAD with CLONE_VM, FS, FILES, SIGHAND; SETTLS, PARENT_SETTID, CHILD_SETTID, CHILD_CLEARTID; at most 4096 per process, then EAGAIN; on Unicorn their stacks' memory regions run out near 890) share their process's vCPU; new processes (fork, vfork, posix_spawn's CLONE_VM|CLONE_VFORK) run in-process first; threads without shared files or fs, processes sharing handlers or files, pidfds and namespaces give ENOSYS",
  },
  {
    name: "clone3",
    handler: clone3,
    args: ["ptr", "uint"],
    status: "partial",
    note: "as clone, from struct clone_args; set_tid gives EPERM, and cgroup is not used",
  },
  {
    name: "wait4",
    handler: wait4,
    args: ["int", "outbuf", "hex", "outbuf"],
  },
  {
    name: "waitid",
    handler: waitid,
    args: ["int", "int", "outbuf", "hex", "outbuf"],
    status: "partial",
    note: "the rusage argument is zeroed (the host libc wrapper does not report it)",
  },
  {
    name: "setpgid",
    handler: (k, a) => k.host(libc.setpgid(a[0] | 0, a[1] | 0)),
    args: ["int", "int"],
    status: "partial",
    note:
      "the host's: a parent's setpgid(child) fails with EACCES once the child runs in a host process of its own (it exec'd elfuse); the child's own setpgid completes before its parent goes on",
  },
  { name: "setsid", handler: (k) => k.host(libc.setsid()) },
];
