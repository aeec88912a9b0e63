// Guest fork as a fresh elfuse host process (DESIGN.md: Hypervisor.framework allows one VM per
// process, and a host fork() of a Deno process cannot run JavaScript in the child). The parent
// writes its state into a memfd: a JSON header, then the contents of every mapping at page-aligned
// offsets. The child maps those pages MAP_PRIVATE (copy-on-write, no second copy) and resumes
// where the parent was, with x0 = 0. Host fds are inherited at the same numbers by posix_spawn
// dup2 actions, so they share open file descriptions exactly as Linux's fork does.
import type { ProcessInfo } from "./process.ts";
import type { Task } from "./task.ts";
import type { Description, DescriptionState } from "./fdtable.ts";
import { Slot } from "./scratch.ts";
import { Reg } from "../backends/backend.ts";
import { libc } from "../host/libc.ts";
import type { Vma } from "../memory/vmas.ts";
import type { SigAction } from "./signals.ts";
import { Credentials, type CredState } from "./credentials.ts";
import { MAX_FDS, sendFds } from "../host/fd_passing.ts";
import { selfCommand, spawnHost } from "../host/spawn.ts";

const REGS_BYTES = 34 * 8 + 520;
const MFD_CLOEXEC = 1;
const enc = new TextEncoder();

/**
 * What a child inherits from its parent besides memory, registers and fds (fork(2)): signal
 * dispositions and mask, the alternate stack, limits, name and prctl state. JSON-safe.
 */
export interface Inherited {
  actions: SigAction[];
  maskLo: number;
  maskHi: number;
  altStack: { sp: number; flags: number; size: number };
  /** [soft, hard]; RLIM_INFINITY as -1 (JSON has no Infinity). */
  rlimits: [number, number][];
  name: string;
  dumpable: number;
  keepCaps: number;
  personality: number;
  noNewPrivs: number;
  creds: CredState;
  /** The working directory under a FUSE mount (Process.fuseCwd), if it is there. */
  fuseCwd?: string;
}

/** `k`'s inheritable state, copied. */
export function inherited(k: Task): Inherited {
  return {
    actions: k.proc.actions.map((a) => ({ ...a })),
    maskLo: k.signals.maskLo,
    maskHi: k.signals.maskHi,
    altStack: { ...k.signals.altStack },
    rlimits: k.proc.rlimits.map(([s, h]) => [s === Infinity ? -1 : s, h === Infinity ? -1 : h]),
    name: k.name,
    dumpable: k.proc.dumpable,
    keepCaps: k.proc.keepCaps,
    personality: k.proc.personality,
    noNewPrivs: k.proc.noNewPrivs,
    creds: k.proc.creds.save(),
    fuseCwd: k.proc.fuseCwd,
  };
}

/** Gives a new child's kernel `from` (as inherited() took it). */
export function inherit(k: Task, from: Inherited): void {
  from.actions.forEach((a, i) => Object.assign(k.proc.actions[i], a));
  k.signals.maskLo = from.maskLo;
  k.signals.maskHi = from.maskHi;
  k.signals.altStack = { ...from.altStack };
  const lim = (v: number) => (v < 0 ? Infinity : v);
  from.rlimits.forEach(([s, h], i) => (k.proc.rlimits[i] = [lim(s), lim(h)]));
  k.proc.fds.limit = k.proc.rlimits[7][0];
  k.name = from.name;
  k.proc.dumpable = from.dumpable;
  k.proc.keepCaps = from.keepCaps;
  k.proc.personality = from.personality;
  k.proc.noNewPrivs = from.noNewPrivs;
  k.proc.creds = new Credentials(from.creds);
  k.proc.creds.publish(k.proc.pid);
  k.proc.fuseCwd = from.fuseCwd;
}

/** The fd table as a fork child rebuilds it: entries, and each emulated description once. */
function savedFds(k: Task): Pick<ForkState, "fds" | "files"> {
  const files: DescriptionState[] = [];
  const index = new Map<Description, number>();
  const fds = k.proc.fds.open().map((fd): ForkState["fds"][number] => {
    const e = k.proc.fds.get(fd)!;
    let i = -1;
    if (e.file !== undefined) {
      i = index.get(e.file) ?? files.push(e.file.save()) - 1;
      index.set(e.file, i);
    }
    return [fd, e.hostFd, e.cloexec, e.path, i];
  });
  return { fds, files };
}

/** Everything a fork child needs besides memory contents and fds. */
export interface ForkState extends Inherited {
  regs: string; // base64 of saveGeneral + saveFpsimd
  tpidr: string;
  /**
   * The parent's VMAs: private ones with their pages' offset in the memfd; shared ones with the
   * position of their host file among the shared files passed (sharedFiles) and its base.
   */
  vmas: (Omit<Vma, "backing" | "tail"> & {
    offset: number;
    sharedFile?: { index: number; base: number };
    /** A private file mapping's first guest address past the file's end (FileTail). */
    eof?: number;
  })[];
  /** The parent's fd numbers of the shared mappings' host files (passed after every other fd). */
  sharedFiles: number[];
  brkStart: number;
  brkEnd: number;
  /** [guest fd, host fd, cloexec, path, index in `files` or -1]. */
  fds: [number, number, boolean, string, number][];
  /** The emulated descriptions the fds refer to (fdtable.ts), each once. */
  files: DescriptionState[];
  parentPid: number;
  childTid: number;
  clearTid: boolean;
  /** vfork: the parent's number of the fd the child closes at its execve or exit (passed last). */
  vfork?: number;
  /** The fd the child closes once its first syscall has returned (passed after vfork's). */
  release?: number;
  /**
   * The fd the child closes once its host process takes signals as the guest would (its signal
   * router is set up): passed after release's. Its parent's kill waits for that (Process.unready).
   */
  ready?: number;
  /** ProcessInfo, with the sysroot as its root path. */
  info: Omit<ProcessInfo, "sysroot"> & { sysroot?: string };
  run: { backend: string; strace?: boolean; verbose?: boolean };
  cwd: string;
  umask: number;
}

/** How the new process starts, as clone(2) asked for it. */
export interface ForkFlags {
  /** The child's stack pointer (0: the parent's). */
  sp: number;
  tls?: number;
  childTid: number;
  clearTid: boolean;
  vforkFd?: number;
  /** The parent waits for the child's first syscall (kernel/inline_fork.ts): closed after it. */
  releaseFd?: number;
  /** Closed once the child takes signals (ForkState.ready). */
  readyFd?: number;
  /**
   * The state is taken in the middle of a syscall that must run again in the new process (an
   * in-process child moving out, kernel/inline_fork.ts): x0 is kept and pc put back on the svc.
   * "as-is": the child was stopped between instructions (an interrupt): registers stay as they are.
   */
  restart?: boolean | "as-is";
}

function b64(bytes: Uint8Array): string {
  let s = "";
  for (let i = 0; i < bytes.length; i += 0x8000) {
    s += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  }
  return btoa(s);
}

/**
 * The host files of the process's shared mappings, each once, in mapping order: a fork passes
 * them after the guest's fds and its pipes (fork_child.ts maps them shared).
 */
export function sharedFileFds(k: Task): number[] {
  const out: number[] = [];
  for (const v of k.proc.as.vmas.list) {
    if (v.backing !== undefined && !out.includes(v.backing.hostFd)) out.push(v.backing.hostFd);
  }
  return out;
}

/** Writes the parent's state to a new memfd; returns its host fd or -errno. */
export function writeState(
  k: Task,
  flags: ForkFlags,
): number {
  const debug = k.proc.debugger;
  return debug === undefined ? stateToMemfd(k, flags) : debug.withoutBreakpoints(
    () => stateToMemfd(k, flags),
  );
}

function stateToMemfd(
  k: Task,
  flags: ForkFlags,
): number {
  const name = k.rt.scratchString("elfuse-fork");
  const fd = libc.memfd_create(name, MFD_CLOEXEC);
  if (fd < 0) return k.fail();
  const regs = new DataView(new ArrayBuffer(REGS_BYTES));
  k.proc.vcpu.saveGeneral(regs, 0);
  k.proc.vcpu.saveFpsimd(regs, 34 * 8);
  if (flags.restart === true) {
    regs.setBigUint64(32 * 8, regs.getBigUint64(32 * 8, true) - 4n, true); // back onto the svc
  } else if (flags.restart === undefined || flags.restart === false) {
    regs.setBigUint64(0, 0n, true); // the child's fork returns 0
  }
  if (flags.sp !== 0) regs.setBigUint64(31 * 8, BigInt(flags.sp), true);
  let offset = 0;
  const sharedFiles = sharedFileFds(k);
  const vmas: ForkState["vmas"] = k.proc.as.vmas.list.map(({ backing, tail, ...v }) => {
    if (backing !== undefined) {
      // Shared: the child maps the same host file, so the pages stay shared (fork(2)).
      const index = sharedFiles.indexOf(backing.hostFd);
      return { ...v, offset: -1, sharedFile: { index, base: backing.base } };
    }
    // Pages past a private file mapping's end: the child raises SIGBUS there too.
    const entry = tail === undefined ? { ...v, offset } : { ...v, offset, eof: tail.eof };
    offset += v.end - v.start;
    return entry;
  });
  const state: ForkState = {
    regs: b64(new Uint8Array(regs.buffer)),
    tpidr: String(flags.tls !== undefined ? BigInt(flags.tls) : k.proc.vcpu.getBig(Reg.TPIDR_EL0)),
    vmas,
    sharedFiles,
    brkStart: k.proc.as.brkStart,
    brkEnd: k.proc.as.brkEnd,
    ...inherited(k),
    ...savedFds(k),
    parentPid: k.proc.pid,
    childTid: flags.childTid,
    clearTid: flags.clearTid,
    vfork: flags.vforkFd,
    release: flags.releaseFd,
    ready: flags.readyFd,
    info: { ...k.proc.info, sysroot: k.proc.info.sysroot?.root },
    run: k.rt.options,
    cwd: Deno.cwd(),
    umask: Deno.umask(),
  };
  const header = enc.encode(JSON.stringify(state));
  const headerPages = Math.ceil((8 + header.length) / 4096) * 4096;
  const prefix = new Uint8Array(8 + header.length);
  new DataView(prefix.buffer).setBigUint64(0, BigInt(header.length), true);
  prefix.set(header, 8);
  const p = Number(Deno.UnsafePointer.value(Deno.UnsafePointer.of(prefix)));
  if (Number(libc.pwrite(fd, BigInt(p), BigInt(prefix.length), 0n)) !== prefix.length) {
    libc.close(fd);
    return -28; // ENOSPC
  }
  // Memory, mapping by mapping; pages the guest never touched stay holes (zeros) in the memfd,
  // which is sized first so that the child's mappings never reach past its end (SIGBUS).
  let failed = libc.ftruncate(fd, BigInt(headerPages + offset)) !== 0;
  for (const v of vmas) {
    if (v.sharedFile !== undefined) continue;
    k.proc.as.dataRuns(v.start, v.end, (start, len) => {
      let done = 0;
      while (!failed && done < len) {
        const n = Number(
          libc.pwrite(
            fd,
            BigInt(k.proc.hostBase + start + done),
            BigInt(len - done),
            BigInt(headerPages + v.offset + start - v.start + done),
          ),
        );
        if (n <= 0) failed = true;
        else done += n;
      }
    });
  }
  if (failed) {
    libc.close(fd);
    return -28; // ENOSPC
  }
  return fd;
}

/** Starts this elfuse with internal `args`, inheriting exactly `keep` (same fd numbers). */
function spawnSelf(k: Task, args: string[], keep: number[]): number {
  const fds = keep.map((fd): [number, number] => [fd, fd]);
  return spawnHost(k.rt.scratch, Slot.SPAWN, Deno.execPath(), selfCommand(args), fds);
}

/**
 * A warm spare: an elfuse started ahead of time that has loaded Deno, the runtime and the CPU
 * backend, and waits on a socket for a fork's state and fds (fork_child.ts). A fork that finds
 * one pays only for the state transfer; the next spare is started right after.
 */
function startSpare(k: Task): void {
  const s = k.rt.scratch;
  // AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC
  if (libc.socketpair(1, 1 | 0o2000000, 0, s.address + Slot.SPARE_FDS) < 0) return;
  const mine = s.view.getInt32(Slot.SPARE_FDS, true);
  const theirs = s.view.getInt32(Slot.SPARE_FDS + 4, true);
  // In the parent's process group, like the child it becomes; a group kill that ends an idle
  // spare only costs the next fork its head start (sendFds fails, posix_spawn is used).
  const pid = spawnSelf(k, ["--fork-spare", String(theirs), k.rt.options.backend], [theirs]);
  libc.close(theirs);
  if (pid < 0) libc.close(mine);
  else k.proc.spare = { pid, sock: mine };
}

/** A host pipe (O_CLOEXEC): [read end, write end], or undefined when the host refuses. */
export function hostPipe(k: Task): [number, number] | undefined {
  const s = k.rt.scratch;
  if (libc.pipe2(s.address + Slot.PIPE, 0o2000000 /* O_CLOEXEC */) !== 0) return undefined;
  return [s.view.getInt32(Slot.PIPE, true), s.view.getInt32(Slot.PIPE + 4, true)];
}

/** Starts the child process; returns its pid or -errno. */
export function spawnChild(k: Task, flags: ForkFlags): number {
  const ready = hostPipe(k);
  const stateFd = writeState(k, { ...flags, readyFd: ready?.[1] });
  if (stateFd < 0) {
    ready?.forEach((fd) => libc.close(fd));
    return stateFd;
  }
  const hostFds = k.proc.fds.open().map((g) => k.proc.fds.get(g)!.hostFd);
  if (flags.vforkFd !== undefined) hostFds.push(flags.vforkFd);
  if (ready !== undefined) hostFds.push(ready[1]);
  hostFds.push(...sharedFileFds(k));
  let pid: number;
  const spare = k.proc.spare;
  k.proc.spare = undefined;
  if (
    spare !== undefined && hostFds.length < MAX_FDS &&
    sendFds(spare.sock, [stateFd, ...hostFds]) === 0
  ) {
    pid = spare.pid; // it maps the fds it receives in the order of state.fds
  } else {
    if (spare !== undefined) libc.kill(spare.pid, 9);
    pid = spawnSelf(k, ["--fork-child", String(stateFd)], [stateFd, ...hostFds]);
  }
  if (spare !== undefined) libc.close(spare.sock);
  libc.close(stateFd);
  if (ready !== undefined) {
    libc.close(ready[1]);
    if (pid > 0) k.proc.notReady(pid, ready[0]);
    else libc.close(ready[0]);
  }
  if (pid > 0) k.proc.creds.publishFor(pid);
  if (pid > 0) startSpare(k);
  return pid;
}
