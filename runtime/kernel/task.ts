// A guest thread (gVisor's Task): what is its own — the thread id, the syscall arguments being
// served, the signal mask and thread-directed pending signals, the alternate stack, the
// clear_child_tid and robust-list addresses, its name, and the per-call records handlers leave
// for each other. Everything shared lives on its Process; run-wide state on the Runtime.
// Syscall handlers receive the calling Task.
import { errno as hostErrno } from "../host/mod.ts";
import { setHostErrno } from "../host/libc.ts";
import type { Process } from "./process.ts";
import type { Runtime } from "./runtime.ts";
import { TaskSignals } from "./signals.ts";
import type { VcpuContext } from "../backends/backend.ts";
import { BLOCKED, Outcome, type Wait } from "./wait.ts";
import type { TaskFuse } from "./fuse/client.ts";

/** Where a thread is in its life (the scheduler's view, scheduler.ts). */
export const enum TaskState {
  /** Its registers are on the vCPU. */
  Running,
  /** Waiting in the run queue. */
  Runnable,
  /** Parked on `wait`. */
  Blocked,
  /** Gone: exit, or its process ended. */
  Exited,
}

/** What pathAt() decided for the last path it resolved (paths.ts). */
export interface PathResult {
  /** The host dirfd the resolved path is relative to. */
  atDir: number;
  /** The part after /proc/self when the path names a file elfuse renders, else undefined. */
  procRest: string | undefined;
  /**
   * The canonical guest path when the path led into this process's /proc or /dev/fd view (which
   * elfuse rewrites); openat records it as the fd's path, so a directory fd there is known.
   */
  shown: string | undefined;
}

export class Task {
  readonly proc: Process;
  readonly rt: Runtime;
  /** The thread id; the thread-group leader's is the process's pid. */
  tid: number;
  /** x0..x5 of the syscall being served. */
  readonly args = new Float64Array(6);
  readonly signals = new TaskSignals();
  /** clear_child_tid (set_tid_address, CLONE_CHILD_CLEARTID): zeroed and woken at thread exit. */
  tidAddress = 0;
  /** set_robust_list's head. */
  robustList = 0;
  /** The thread's name (PR_SET_NAME, /proc/.../comm); "" means the program's. */
  name = "";
  readonly path: PathResult = { atDir: -100, procRest: undefined, shown: undefined };
  /** The syscall being served (set by the dispatcher). */
  nr = -1;
  state: TaskState = TaskState.Running;
  /** What it is parked on (state Blocked). */
  wait: Wait | undefined;
  /** A wait that ended: its syscall runs again and takes it with resumed(). */
  ended: Wait | undefined;
  /** Its registers while another thread runs (created at the first switch away). */
  context: VcpuContext | undefined;
  /** performance.now() when it last got the vCPU (time slices). */
  since = 0;
  /** Its FUSE reply socket and the replies of the syscall in progress (fuse/client.ts). */
  fuse: TaskFuse | undefined;

  constructor(proc: Process, tid: number) {
    this.proc = proc;
    this.rt = proc.rt;
    this.tid = tid;
  }

  /**
   * Parks this thread until `w` ends (wait.ts); the handler returns what this returns. `deadline`
   * defaults to none.
   */
  block(w: Omit<Wait, "nr" | "outcome" | "deadline"> & { deadline?: number }): number {
    this.wait = { deadline: Infinity, ...w, nr: this.nr, outcome: Outcome.Pending };
    return -BLOCKED;
  }

  /** The wait this syscall parked on, now ended (its outcome says why), or undefined. Taken once. */
  resumed(): Wait | undefined {
    const w = this.ended;
    if (w === undefined || w.nr !== this.nr) return undefined;
    this.ended = undefined;
    return w;
  }

  /** Whether `sig` is blocked for this thread now: its wait's mask while it waits with one. */
  blocks(sig: number): boolean {
    const m = this.wait?.mask;
    if (m === undefined) return this.signals.isBlocked(sig);
    return sig <= 32 ? (m[0] & (1 << (sig - 1))) !== 0 : (m[1] & (1 << (sig - 33))) !== 0;
  }

  /** A host call's return value as a guest result: -errno on failure. */
  host(r: number): number {
    return r < 0 ? -hostErrno() : r;
  }

  /** The last host errno as a negative guest result. */
  fail(): number {
    return -hostErrno();
  }

  clearErrno(): void {
    setHostErrno(0);
  }

  errnoNow(): number {
    return hostErrno();
  }
}
