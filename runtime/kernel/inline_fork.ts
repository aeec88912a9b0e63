// In-process fork children. Starting a host process for every guest fork costs a Deno start-up
// (tens of milliseconds), yet most children of a shell live for a millisecond: a `$(...)`, a
// pipeline stage, a fork that execs a short program. So a fork child first runs right here, on
// the parent's vCPU and memory, while the parent waits (a parent that is not running cannot
// tell), and the parent's memory is put back when it is done (memory/snapshot.ts). Its pid is a
// real host process's: a pid holder (pid_holder.ts) that then ends exactly as the child ended,
// so wait4, SIGCHLD and kill stay the host's own.
//
// A child that would block, or needs a process of its own (it forks, changes its process group,
// arms a timer, sleeps), moves out: its state goes to its holder, which execs this elfuse as a
// fork spare and goes on from the same syscall (fork.ts's state, with the syscall restarted),
// and the parent resumes at once. "Would block" is found without guessing per call: while the
// child runs, a timer kicks this thread every few milliseconds (host/kick_timer.ts), so a host
// call that blocks fails with EINTR and the child moves out.
import { Reg } from "../backends/backend.ts";
import { KickTimer } from "../host/kick_timer.ts";
import { libc } from "../host/libc.ts";
import { Snapshot } from "../memory/snapshot.ts";
import { dupEntry } from "./fdtable.ts";
import { hostPipe, inherit, inherited, sharedFileFds, writeState } from "./fork.ts";
import { type ExitStatus, newProcess, type Process } from "./process.ts";
import { publish, withdraw } from "./procfs/registry.ts";
import { unmapLive } from "./procfs/live.ts";
import { RESULT_SET } from "./syscall_def.ts";
import { SLICE_MS } from "./wait.ts";
import { Slot } from "./scratch.ts";
import type { Task } from "./task.ts";
import {
  finishHolder,
  holdersAvailable,
  migrateToHolder,
  type PidHolder,
  spareCommand,
  startHolder,
} from "./pid_holder.ts";

const REGS_BYTES = 34 * 8 + 520;
/** How long a host call of an in-process child may block before it moves out. */
const KICK_PERIOD_MS = 10;

/** On an in-process child's kernel. */
export interface InlineChild {
  holder: PidHolder;
  vfork: boolean;
  /** It moved to its own process; for vfork, the pipe its exec or exit closes. */
  moved: boolean;
  /** Read ends the parent waits on after the child moved out (vfork's, the release pipe). */
  waits: number[];
  /** After it moved out: the read end of its ready pipe (ForkState.ready), for the parent. */
  ready?: number;
  /** The parent's host-signal flags: set when a signal reached this host process. */
  parentSignals: Int32Array;
  /** The pending words last looked at, and a syscall count (signalNews). */
  seen: [number, number, number];
  /** When it started (performance.now()), and its syscalls so far (the clock is read every 32). */
  startedAt: number;
  calls: number;
}

/** Set on the parent by clone; the run loop starts the child (runInline). */
export interface InlineStart {
  /** The child's only thread. */
  child: Task;
  regs: DataView;
  tpidr: bigint;
  childTid: number;
}

/** In-process children need the kick timer and pid holders; ELFUSE_FORK=process turns them off. */
function inlineForksEnabled(k: Task): boolean {
  k.rt.inlineForks ??= Deno.env.get("ELFUSE_FORK") !== "process" && KickTimer.available() &&
    holdersAvailable();
  return k.rt.inlineForks;
}

/**
 * Starts an in-process child for fork/vfork/clone, or returns undefined when this fork needs a
 * host process (shared mappings, which a snapshot cannot give back; no holder).
 */
export function forkInline(
  k: Task,
  flags: { sp: number; tls?: number; childTid: number; clearTid: boolean; vfork: boolean },
): number | undefined {
  if (!inlineForksEnabled(k) || k.proc.inline !== undefined) return undefined;
  if (k.proc.as.vmas.list.some((v) => v.shared)) return undefined;
  const holder = k.proc.nextHolder ?? startHolder(k.rt.scratch, spareCommand(k.rt.options.backend));
  k.proc.nextHolder = undefined;
  if (holder === undefined) return undefined;
  const child = childProcess(k, holder, flags.vfork);
  if (flags.clearTid) child.tidAddress = flags.childTid;
  const regs = new DataView(new ArrayBuffer(REGS_BYTES));
  k.proc.vcpu.saveGeneral(regs, 0);
  k.proc.vcpu.saveFpsimd(regs, 34 * 8);
  regs.setBigUint64(0, 0n, true); // the child's fork returns 0
  if (flags.sp !== 0) regs.setBigUint64(31 * 8, BigInt(flags.sp), true);
  const tpidr = flags.tls !== undefined ? BigInt(flags.tls) : k.proc.vcpu.getBig(Reg.TPIDR_EL0);
  k.proc.inlineStart = { child, regs, tpidr, childTid: flags.childTid };
  k.proc.vcpu.stop(); // the run loop starts the child once this syscall has returned
  // Ready for the next fork; its /bin/sh starts up on another core while the child runs.
  k.proc.nextHolder = startHolder(k.rt.scratch, spareCommand(k.rt.options.backend));
  return holder.pid;
}

/** The child: the parent's fds (host dups), signal state, limits and identity. */
function childProcess(k: Task, holder: PidHolder, vfork: boolean): Task {
  const p = k.proc;
  const child = newProcess(k.rt, p.as, { ...p.info }, holder.pid);
  const c = child.proc;
  c.parentPid = p.pid;
  c.inline = {
    holder,
    vfork,
    moved: false,
    waits: [],
    parentSignals: p.hostSignals,
    seen: [0, 0, 0],
    startedAt: 0,
    calls: 0,
  };
  for (const fd of p.fds.open()) {
    const e = p.fds.get(fd)!;
    const dup = libc.fcntl(e.hostFd, 1030, /* F_DUPFD_CLOEXEC */ 3);
    if (dup >= 0) c.fds.set(fd, dupEntry(e, dup, e.cloexec));
  }
  inherit(child, inherited(k));
  publish(c);
  return child;
}

/**
 * Runs the child the parent's clone started until it ends or moves out, then gives the parent
 * back its memory, registers, working directory and umask. `run` is the run loop.
 */
export async function runInline(
  parent: Process,
  run: (child: Process) => Promise<ExitStatus>,
): Promise<void> {
  const start = parent.inlineStart!;
  parent.inlineStart = undefined;
  const child = start.child.proc;
  const state = child.inline!;
  const v = parent.vcpu;
  // The parent as it is now: its fork has returned the pid (and it may be in a signal handler).
  const regs = new DataView(new ArrayBuffer(REGS_BYTES));
  v.saveGeneral(regs, 0);
  v.saveFpsimd(regs, 34 * 8);
  const tpidr = v.getBig(Reg.TPIDR_EL0);
  const cwd = Deno.cwd(), umask = Deno.umask();
  const snapshot = new Snapshot(parent.as, state.vfork);

  v.loadGeneral(start.regs, 0);
  v.loadFpsimd(start.regs, 34 * 8);
  v.setBig(Reg.TPIDR_EL0, start.tpidr);
  child.vcpu = v;
  if (start.childTid !== 0 && child.canWrite(start.childTid, 4)) {
    child.view.setInt32(start.childTid, child.pid, true); // CLONE_CHILD_SETTID
  }
  const timer = parent.rt.kickTimer ??= new KickTimer();
  timer.start(KICK_PERIOD_MS);
  // Interrupts too, so that a child that computes without syscalls can be moved out (runKernel).
  parent.router?.slice(SLICE_MS);
  state.startedAt = performance.now();
  let status: ExitStatus;
  try {
    status = await run(child);
  } finally {
    timer.stop();
    parent.router?.slice(parent.tasks.length > 1 ? SLICE_MS : 0);
  }
  if (!state.moved) {
    closeFds(child);
    withdraw(child);
    finishHolder(state.holder, status);
  } else if (child.live !== undefined) {
    // Its host process maps the same live page file now; this mapping is left over.
    unmapLive(child.live);
    child.live = undefined;
  }
  if (state.ready !== undefined) parent.notReady(child.pid, state.ready);
  snapshot.restore();
  try {
    Deno.chdir(cwd);
  } catch { /* the child removed it: the parent's cwd is gone on Linux too */ }
  Deno.umask(umask);
  v.loadGeneral(regs, 0);
  v.loadFpsimd(regs, 34 * 8);
  v.setBig(Reg.TPIDR_EL0, tpidr);
  // vfork: the parent sleeps until the child's execve or exit closes the pipe's write end; a
  // release pipe: until the child's first syscall in its own process has returned.
  for (const fd of state.waits) {
    waitUntilClosed(parent.current, fd);
    libc.close(fd);
  }
}

/** Blocks until every write end of the pipe `fd` reads from is closed (EOF), through EINTR. */
export function waitUntilClosed(k: Task, fd: number): void {
  const at = BigInt(k.rt.scratch.address + Slot.BYTE);
  while (Number(libc.read(fd, at, 1n)) < 0 && k.errnoNow() === 4);
}

export function closeFds(proc: Process): void {
  for (const fd of proc.fds.open()) proc.fds.close(fd);
}

/**
 * The child moves to its own process (its holder) and will run this syscall again there.
 * Returns RESULT_SET (the registers are left alone), or undefined when it cannot move.
 */
export function moveOut(
  k: Task,
  release = false,
  between = false,
): number | undefined {
  const state = k.proc.inline!;
  const vfork = state.vfork ? hostPipe(k) : undefined;
  const released = release ? hostPipe(k) : undefined;
  const ready = hostPipe(k);
  const stateFd = writeState(k, {
    sp: 0,
    childTid: k.tidAddress,
    clearTid: k.tidAddress !== 0,
    vforkFd: vfork?.[1],
    releaseFd: released?.[1],
    readyFd: ready?.[1],
    restart: between ? "as-is" : true,
  });
  const pipes = [vfork, released].filter((p) => p !== undefined);
  if (stateFd < 0) {
    for (const p of [...pipes, ready]) p?.forEach((fd) => libc.close(fd));
    return undefined;
  }
  const hostFds = k.proc.fds.open().map((g) => k.proc.fds.get(g)!.hostFd);
  const ok = migrateToHolder(state.holder, [
    stateFd,
    ...hostFds,
    ...pipes.map((p) => p[1]),
    ...(ready !== undefined ? [ready[1]] : []),
    ...sharedFileFds(k),
  ]);
  libc.close(stateFd);
  for (const [read, write] of pipes) {
    libc.close(write);
    state.waits.push(read);
  }
  if (ready !== undefined) {
    libc.close(ready[1]);
    state.ready = ready[0];
  }
  closeFds(k.proc);
  state.moved = true;
  if (!ok) {
    // The holder is gone (killed): so is the child, as far as anyone can see.
    if (k.rt.verbose) k.rt.note(`fork child ${k.proc.pid} could not move to its own process`);
  } else if (k.rt.verbose) {
    k.rt.note(`fork child ${k.proc.pid} moves to a process of its own`);
  }
  k.proc.vcpu.stop();
  return RESULT_SET;
}
