// The syscall table of an in-process fork child (inline_fork.ts): which syscalls make it move to
// a process of its own first, and the checks every one of its syscalls makes (a signal that
// killed its holder, the time it has kept its parent waiting, a host call that blocked).
import { libc } from "../host/libc.ts";
import type { Task } from "./task.ts";
import { RESULT_SET } from "./syscall_def.ts";
import { Slot } from "./scratch.ts";
import type { Process } from "./process.ts";
import { closeFds, type InlineChild, moveOut } from "./inline_fork.ts";
import type { SyscallHandler } from "./syscall_def.ts";
import type { TableRow } from "./table.ts";
import { BLOCKED } from "./wait.ts";

const EINTR = -4;
/** SIGSTOP, SIGTSTP, SIGTTIN, SIGTTOU. */
const STOPS = new Set([19, 20, 21, 22]);
/**
 * How long a child may keep its parent waiting: at its first syscall after that it moves out, or
 * at the first interrupt (time slices run while it does) if it makes no syscall (run.ts).
 */
export const INLINE_SLICE_MS = 200;

/**
 * Syscalls an in-process child cannot make here (they would act on the shared host process, or
 * wait): it moves out first and makes them there. For these the parent waits until it has.
 */
const MOVE_FIRST_AND_WAIT = new Set([
  "setpgid",
  "setsid",
  "setitimer",
  "getitimer",
  "timer_create",
  "timer_settime",
  "timer_gettime",
  "timer_getoverrun",
  "timer_delete",
  "getrusage",
  "times",
  "setrlimit",
  "setpriority",
  "sched_setaffinity",
  "sched_setscheduler",
  "sched_setparam",
  "chroot",
  "unshare",
  "setns",
  "ptrace",
]);
/** Syscalls that may wait (or fork again): the child moves out first; the parent goes on. */
const MOVE_FIRST = new Set([
  "clone",
  "clone3",
  "nanosleep",
  "clock_nanosleep",
  "rt_sigsuspend",
  "rt_sigtimedwait",
]);

/**
 * The handler table of an in-process child: the MOVE_FIRST sets, new resource limits and kills
 * of a process group move out first; any host call that fails with EINTR (it blocked past a kick) moves out.
 */
export function inlineTable(
  rows: TableRow[],
  base: (SyscallHandler | undefined)[],
): (SyscallHandler | undefined)[] {
  return base.map((plain, nr) => {
    if (plain === undefined) return undefined;
    const name = rows.find((r) => r.nr === nr)?.name ?? "";
    // A signal reached this host process (Ctrl-C reaches the whole foreground group): if it
    // killed the child's holder, the child is dead too, even if it never blocks.
    const ending = name === "exit" || name === "exit_group";
    const h: SyscallHandler = (k, a) => {
      const st = k.proc.inline!;
      if (st.parentSignals[0] !== 0 && signalNews(st) && holderGone(k)) return endKilled(k);
      // Its parent has waited long enough: the child goes on in a process of its own.
      if (
        !ending && (++st.calls & 31) === 0 && performance.now() - st.startedAt > INLINE_SLICE_MS
      ) {
        return moveOut(k) ?? plain(k, a);
      }
      return plain(k, a);
    };
    if (MOVE_FIRST.has(name)) return (k, a) => moveOut(k) ?? h(k, a);
    if (MOVE_FIRST_AND_WAIT.has(name)) return (k, a) => moveOut(k, true) ?? h(k, a);
    if (name === "prlimit64") {
      return (k, a) => (a[2] !== 0 ? moveOut(k, true) ?? h(k, a) : h(k, a));
    }
    if (name === "ioctl") {
      // Taking or giving up a controlling terminal acts on the host process's session.
      const ctty = (a: Float64Array) => (a[1] >>> 0) === 0x540e || (a[1] >>> 0) === 0x5422;
      return (k, a) => (ctty(a) ? moveOut(k, true) ?? h(k, a) : h(k, a));
    }
    if (name === "kill") {
      // A group, or itself with a stop signal (which stops its own host process).
      const move = (k: Task, a: Float64Array) =>
        ((a[0] | 0) <= 0 && (a[0] | 0) !== -1) ||
        ((a[0] | 0) === k.proc.pid && STOPS.has(a[1] | 0));
      return (k, a) => (move(k, a) ? moveOut(k, true) ?? h(k, a) : h(k, a));
    }
    if (name === "tgkill" || name === "tkill") {
      const sig = name === "tgkill" ? 2 : 1;
      return (k, a) => (STOPS.has(a[sig] | 0) ? moveOut(k, true) ?? h(k, a) : h(k, a));
    }
    return (k, a) => {
      const r = h(k, a);
      return r === EINTR && k.proc.inline !== undefined && !k.proc.inline.moved
        ? moveOut(k) ?? r
        : r;
    };
  });
}

/**
 * Whether to look at the holder again: a signal not seen before arrived, or (the holder may die
 * a moment after the signal that reached us) every 256th syscall while signals are pending.
 */
function signalNews(state: InlineChild): boolean {
  const f = state.parentSignals;
  const news = f[1] !== state.seen[0] || f[2] !== state.seen[1] || (++state.seen[2] & 255) === 0;
  state.seen[0] = f[1];
  state.seen[1] = f[2];
  return news;
}

/** The holder has ended (killed by a signal sent to it or its group): waitid without reaping. */
function holderGone(k: Task): boolean {
  const s = k.rt.scratch, at = Slot.HOLDER_WAITID;
  s.u8.fill(0, at, at + 128);
  // P_PID, WEXITED | WNOHANG | WNOWAIT; si_pid at 16 is set only when it has changed state.
  const r = libc.waitid(1, k.proc.inline!.holder.pid, s.address + at, 4 | 1 | 0x01000000);
  return r === 0 && s.view.getInt32(at + 16, true) !== 0;
}

/** The child's holder was killed: the child ends here; the parent reaps the holder's status. */
function endKilled(k: Task): number {
  const state = k.proc.inline!;
  closeFds(k.proc);
  libc.close(state.holder.command);
  libc.close(state.holder.sock);
  state.moved = true; // nothing more to tell the holder
  k.proc.vcpu.stop();
  return RESULT_SET;
}

/**
 * How long a fork child in a process of its own runs before its parent's kill stops waiting for
 * it (Process.awaitReady), unless it waits for something first.
 */
const READY_MS = 200;

/**
 * A fork child's first syscalls in a process of its own. With a release pipe (an in-process
 * child that moved out to make a syscall its parent waits for), its first syscall closes it once
 * it returns, so its parent sees that syscall's effect (a new process group, say) when it goes
 * on. Its ready pipe it closes once it has run up to its first wait, or for READY_MS: Linux may
 * run a child first, and one that starts up slower than its parent's next kill (a host process
 * takes a Deno start-up) would otherwise meet that signal before its handlers are in place.
 */
export function startingTable(
  k: Process,
  base: (SyscallHandler | undefined)[],
): (SyscallHandler | undefined)[] {
  const readyBy = performance.now() + READY_MS;
  return base.map((h) =>
    h === undefined ? undefined : (kk, a) => {
      const r = h(kk, a);
      if (k.releaseFd >= 0) {
        libc.close(k.releaseFd);
        k.releaseFd = -1;
      }
      if (k.readyFd >= 0 && (r === -BLOCKED || performance.now() > readyBy)) {
        libc.close(k.readyFd);
        k.readyFd = -1;
      }
      if (k.readyFd < 0) k.table = base;
      return r;
    }
  );
}
