// execve and execveat: the new program replaces the image in this same host process, as on
// Linux. Everything that can fail is checked before the old image is torn down; after that
// point the exec cannot fail back to the caller.
import { publish } from "../procfs/registry.ts";
import { Slot } from "../scratch.ts";
import { batchMappings } from "../../memory/mapping_batch.ts";
import { Reg } from "../../backends/backend.ts";
import { resolve } from "../../path.ts";
import { ElfError, type ElfImage, EM_AARCH64, EM_X86_64, parseElf } from "../../elf/parse.ts";
import { findTranslator, handOver, translatorProblem } from "../../x86/translator.ts";
import { answerVzIoctls, installExecFd, openExecFile } from "../../x86/rosetta_process.ts";
import { libc } from "../../host/libc.ts";
import { buildImage } from "../../image.ts";
import { programFileProblem } from "../../program.ts";
import { ProgramFile } from "../../program_file.ts";
import { E } from "../errno.ts";
import { type Task, TaskState } from "../task.ts";
import { RESULT_SET } from "../syscall_def.ts";
import { pathAt } from "../paths.ts";
import type { SyscallDef } from "../syscall_def.ts";

const ARG_MAX = 2 * 1024 * 1024; // Linux: a quarter of the 8 MiB stack limit
const MAX_ARGS = 0x7fffffff;
const MAX_SHEBANG_DEPTH = 4; // Linux's BINPRM_MAX_RECURSION
const AT_EMPTY_PATH = 0x1000, AT_SYMLINK_NOFOLLOW = 0x100;
const X_OK = 1;
const dec = new TextDecoder();

/** Reads a NULL-terminated array of guest string pointers; -errno on a bad pointer or E2BIG. */
function stringArray(k: Task, addr: number, total: { bytes: number }): string[] | number {
  const out: string[] = [];
  if (addr === 0) return out; // Linux treats a NULL argv/envp as empty
  for (let i = 0; i < MAX_ARGS; i++) {
    if (!k.proc.canRead(addr + i * 8, 8)) return -E.EFAULT;
    const p = k.proc.readU64(addr + i * 8);
    if (p === 0) return out;
    const s = k.proc.string(p, ARG_MAX);
    if (typeof s === "number") return s === -E.ENAMETOOLONG ? -E.E2BIG : s;
    total.bytes += s.length + 1 + 8;
    if (total.bytes > ARG_MAX) return -E.E2BIG;
    out.push(s);
  }
  return -E.E2BIG;
}

/** The host path pathAt() chose, as a string. */
function hostPathOf(k: Task, hostAddr: number): string {
  if (hostAddr >= k.proc.hostBase && hostAddr < k.proc.hostBase + k.proc.mem.length) {
    const a = hostAddr - k.proc.hostBase;
    return dec.decode(k.proc.mem.subarray(a, k.proc.mem.indexOf(0, a)));
  }
  const off = hostAddr - k.rt.scratch.address;
  return dec.decode(k.rt.scratch.u8.subarray(off, k.rt.scratch.u8.indexOf(0, off)));
}

interface Target {
  hostPath: string;
  guestPath: string;
  elf: ElfImage;
  argv: string[];
  /** AT_EXECFN when it is not guestPath: the x86-64 program a translator was handed. */
  execfn?: string;
  /** The x86-64 program's host path when the translator is handed it open (AT_EXECFD). */
  execFile?: string;
  /** The translator is Rosetta (or its stand-in): it gets the VZ ioctl answers. */
  rosetta?: boolean;
}

/** Follows #! lines (binfmt_script) to an aarch64 ELF; -errno when it cannot run. */
function resolveTarget(
  k: Task,
  hostPath: string,
  guestPath: string,
  argv: string[],
  depth: number,
): Target | number {
  if (depth > MAX_SHEBANG_DEPTH) return -E.ELOOP;
  let st;
  try {
    st = Deno.statSync(hostPath);
  } catch (e) {
    return e instanceof Deno.errors.PermissionDenied
      ? -E.EACCES
      : e instanceof Deno.errors.NotADirectory
      ? -E.ENOTDIR
      : -E.ENOENT;
  }
  if (!st.isFile) return -E.EACCES;
  // The guest's own ids when they are not the host's (kernel/file_permission.ts).
  const creds = k.proc.creds;
  if (
    !creds.filesAsHost(false) && !creds.permits(st.mode ?? 0, st.uid ?? 0, st.gid ?? 0, 1, false)
  ) {
    return -E.EACCES;
  }
  if (
    libc.faccessat(
      -100,
      k.rt.scratchString(hostPath, Slot.EXEC_PATH),
      X_OK,
      0x200, /* AT_EACCESS */
    ) !== 0
  ) {
    return -E.EACCES;
  }
  // A shell execs the same few programs over and over: keep what was read, keyed by the file's
  // identity and version, so an unchanged file is neither read nor parsed again.
  const key = `${st.dev}:${st.ino}:${st.size}:${st.mtime?.getTime()}:${hostPath}`;
  const programCache = k.rt.programs;
  const cached = programCache.get(key);
  if (cached !== undefined) return { hostPath, guestPath, ...cached, argv };
  // Only the headers are read: the loader maps the segments from the file (program_file.ts).
  const file = ProgramFile.open(hostPath);
  if (!(file instanceof ProgramFile)) return -E.EACCES;
  let elf: ElfImage;
  try {
    const head = file.read(0, 4096);
    if (head[0] === 0x23 && head[1] === 0x21) {
      // "#!interpreter [one argument]": the rest of the line is a single argument, as on Linux.
      const end = head.indexOf(0x0a);
      const line = dec.decode(head.subarray(2, end < 0 ? Math.min(head.length, 256) : end)).trim();
      if (line === "") return -E.ENOEXEC;
      const sp = line.search(/[ \t]/);
      const interp = sp < 0 ? line : line.slice(0, sp);
      const arg = sp < 0 ? "" : line.slice(sp).trim();
      const next = [interp, ...(arg ? [arg] : []), guestPath, ...argv.slice(1)];
      const p = pathFor(k, interp);
      return resolveTarget(k, p, interp, next, depth + 1);
    }
    elf = parseElf(file);
  } catch (e) {
    if (e instanceof ElfError) return -E.ENOEXEC;
    throw e;
  } finally {
    file.close();
  }
  if (elf.machine === EM_X86_64) return x86Target(k, elf, hostPath, guestPath, argv, depth);
  if (elf.machine !== EM_AARCH64) return -E.ENOEXEC;
  if (programCache.size >= PROGRAM_CACHE_SIZE) {
    programCache.delete(programCache.keys().next().value!); // the oldest
  }
  programCache.set(key, { elf });
  return { hostPath, guestPath, elf, argv };
}

const PROGRAM_CACHE_SIZE = 8;

/**
 * An x86-64 program runs through the translator the command line's would (x86/translator.ts),
 * handed over as binfmt_misc does; with none (or one that cannot run it) execve fails with
 * ENOEXEC, as Linux's does for a format no binfmt handler takes.
 */
function x86Target(
  k: Task,
  elf: ElfImage,
  hostPath: string,
  guestPath: string,
  argv: string[],
  depth: number,
): Target | number {
  const t = findTranslator(k.rt.options, {
    sysroot: k.proc.info.sysroot,
    os: Deno.build.os,
    arch: Deno.build.arch,
    backend: k.rt.options.backend,
  });
  const problem = "error" in t ? t.error : translatorProblem(t, elf);
  if (problem !== undefined || "error" in t) {
    if (k.rt.verbose) k.rt.note(`execve ${guestPath}: is an x86-64 program: ${problem}`);
    return -E.ENOEXEC;
  }
  const h = handOver(t, guestPath, argv);
  const target = resolveTarget(k, t.hostPath, t.guestPath, h.argv, depth + 1);
  if (typeof target === "number") return target;
  // A translator that is not an AArch64 program (or another x86-64 one) cannot run.
  if (target.elf.machine !== EM_AARCH64) return -E.ENOEXEC;
  // One linked above the slab (Rosetta at 128 TiB) is placed through hvf aliases, which only a
  // run that starts with it sets up (run.ts): execve cannot load it.
  if (target.elf.phdrs.some((p) => p.type === 1 && p.vaddr >= k.proc.as.size)) {
    if (k.rt.verbose) k.rt.note(`execve ${guestPath}: ${t.guestPath} is linked above the slab`);
    return -E.ENOEXEC;
  }
  return {
    ...target,
    execfn: guestPath,
    execFile: h.openProgram ? hostPath : undefined,
    rosetta: t.kind === "rosetta",
  };
}

/** A guest path (from a #! line) as a host path, through the same rules as every path syscall. */
function pathFor(k: Task, guest: string): string {
  const sysroot = k.proc.info.sysroot;
  if (sysroot !== undefined && guest.startsWith("/")) {
    const h = sysroot.hostPath(guest);
    if (typeof h === "string") return h;
  }
  return resolve(Deno.cwd(), guest);
}

function exec(
  k: Task,
  dirfd: number,
  pathAddr: number,
  argvAddr: number,
  envpAddr: number,
  flags: number,
): number {
  if ((flags & ~(AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW)) !== 0) return -E.EINVAL;
  let guestPath = k.proc.string(pathAddr);
  if (typeof guestPath === "number") return guestPath;
  let hostPath: string;
  if (guestPath === "" && (flags & AT_EMPTY_PATH)) {
    const e = k.proc.fds.get(dirfd | 0);
    if (e === undefined) return -E.EBADF;
    hostPath = `/proc/self/fd/${e.hostFd}`;
    // Linux names the file "/dev/fd/N" (fs/exec.c alloc_bprm): what a script's interpreter gets.
    guestPath = `/dev/fd/${dirfd | 0}`;
  } else {
    const p = pathAt(k, dirfd, pathAddr);
    if (p < 0) return p;
    const h = hostPathOf(k, p);
    hostPath = h.startsWith("/")
      ? h
      : resolve(k.path.atDir === -100 ? Deno.cwd() : `/proc/self/fd/${k.path.atDir}`, h);
  }
  const total = { bytes: 0 };
  const argv = stringArray(k, argvAddr, total);
  if (typeof argv === "number") return argv;
  const envp = stringArray(k, envpAddr, total);
  if (typeof envp === "number") return envp;
  const target = resolveTarget(k, hostPath, guestPath, argv, 0);
  if (typeof target === "number") return target;
  const interp = target.elf.interpreter;
  if (interp !== undefined) {
    // Linux opens the loader before the point of no return (load_elf_binary's open_exec), so a
    // missing or unrunnable one (a device, a FIFO, no execute bit) fails the execve itself.
    const sysroot = k.proc.info.sysroot;
    const host = sysroot === undefined ? interp : sysroot.hostPath(interp);
    if (typeof host === "number") return host;
    const problem = programFileProblem(host);
    if (problem !== undefined) return -E[problem.errno];
  }

  // Point of no return: the old image goes. One batch, so that a program exec'ing itself (a
  // shell and its applets) keeps the backend's translated code (memory/mapping_batch.ts).
  let image: ReturnType<typeof buildImage> | undefined, failure: unknown;
  // The file is opened before then, as Linux's open_exec does: execveat of a close-on-exec
  // descriptor names it by /proc/self/fd/N, which commitExec closes.
  const file = ProgramFile.open(target.hostPath);
  if (!(file instanceof ProgramFile)) return -E.EACCES;
  // Rosetta's hand-over opens the x86-64 program too, before the point of no return.
  const execHost = target.execFile === undefined ? -1 : openExecFile(target.execFile);
  if (target.execFile !== undefined && execHost < 0) {
    file.close();
    return -E.EACCES;
  }
  let execFd: number | undefined;
  batchMappings(k.proc.as, () => {
    commitExec(k);
    // The lowest free fd after close-on-exec ones went (fs/exec.c begin_new_exec).
    execFd = execHost < 0 ? undefined : k.proc.fds.lowestFree();
    if (execFd !== undefined) {
      installExecFd(
        k.proc.fds,
        execFd,
        execHost,
        k.proc.info.sysroot?.guestPath(target.execFile!) ?? target.execFile!,
      );
    }
    try {
      image = buildImage(k.proc.as, {
        program: { hostPath: target.hostPath, elf: target.elf, file },
        shownName: target.execfn ?? target.guestPath,
        argv: target.argv,
        envp,
        hwcap: k.rt.hwcap,
        hwcap2: k.rt.hwcap2,
        monotonicCounter: k.rt.monotonicCounter,
        sysroot: k.proc.info.sysroot,
        ids: k.proc.creds,
        execFd,
      });
    } catch (e) {
      failure = e;
    } finally {
      file.close();
    }
  });
  if (image === undefined) {
    // Linux kills the process when exec fails after the old image is gone.
    if (k.rt.verbose) k.rt.note(`execve ${target.guestPath}: ${(failure as Error).message}`);
    k.proc.killedBy(11, false);
    return RESULT_SET;
  }
  Object.assign(k.proc.info, {
    // /proc/self/exe shows the guest's path: without the sysroot's prefix, as at start-up.
    exePath: k.proc.info.sysroot?.guestPath(target.hostPath) ?? target.hostPath,
    hostExePath: target.hostPath,
    argv: target.argv,
    envp,
    auxvAddress: image.auxvAddress,
    auxvLength: image.auxvLength,
    stackStart: image.sp,
  });
  if (target.rosetta) {
    answerVzIoctls(k.proc, k.rt.options.x86StandIn === true, target.argv[1], execFd ?? -1);
  }
  // comm: the basename of the file execve was given (Linux's __set_task_comm in begin_new_exec),
  // which for a translated program is the program, not its translator.
  k.name = (target.execfn ?? target.guestPath).split("/").pop()!.slice(0, 15);
  publish(k.proc);
  const v = k.proc.vcpu, g = k.rt.scratch.view;
  k.rt.scratch.u8.fill(0, Slot.REGS, Slot.REGS + 34 * 8);
  k.rt.scratch.u8.fill(0, Slot.FPSIMD, Slot.FPSIMD + 528);
  g.setBigUint64(Slot.REGS + 31 * 8, BigInt(image.sp), true);
  g.setBigUint64(Slot.REGS + 32 * 8, BigInt(image.entry), true);
  v.loadGeneral(g, Slot.REGS);
  v.loadFpsimd(g, Slot.FPSIMD);
  v.set(Reg.TPIDR_EL0, 0);
  return RESULT_SET;
}

/**
 * What execve resets (execve(2)): the other threads (the caller becomes the only one, with the
 * thread-group id), close-on-exec fds, caught signals, the alternate stack, POSIX timers, memory.
 */
function commitExec(k: Task): void {
  endOtherThreads(k);
  k.proc.creds.exec();
  k.proc.locks.clear();
  k.proc.creds.publish(k.proc.pid);
  for (const fd of k.proc.fds.open()) {
    const e = k.proc.fds.get(fd)!;
    if (e.cloexec) k.proc.fds.close(fd);
  }
  for (const a of k.proc.actions) {
    if (a.handler > 1) {
      a.handler = 0;
      a.flags = 0;
    }
  }
  k.signals.altStack = { sp: 0, flags: 2, size: 0 };
  k.proc.syncSignals();
  k.proc.timers?.clear();
  // The new image is not Rosetta unless exec() says so once it is built.
  k.proc.vzIoctl = undefined;
  k.proc.rosettadConnect = undefined;
  k.proc.as.dropAliases();
  k.proc.as.munmap(0, k.proc.as.size);
  k.tidAddress = 0;
  k.robustList = 0;
  if (k.proc.vforkWriteFd >= 0) {
    libc.close(k.proc.vforkWriteFd); // lets a vfork parent go on
    k.proc.vforkWriteFd = -1;
  }
  // An in-process vfork child: from here on its parent no longer waits for it (vfork(2)).
  if (k.proc.inline !== undefined) k.proc.inline.vfork = false;
}

/** de_thread: every other thread of the process ends at once; the caller takes the leader's tid. */
function endOtherThreads(k: Task): void {
  const p = k.proc;
  if (p.tasks.length === 1 && k.tid === p.pid) return;
  for (const t of p.tasks) {
    if (t === k) continue;
    t.state = TaskState.Exited;
    t.wait?.onEnd?.();
    if (t.context !== undefined) p.vcpu.freeContext(t.context);
    t.context = undefined;
  }
  p.tasks.length = 0;
  p.tasks.push(k);
  p.runQueue.length = 0;
  p.blocked.clear();
  p.futexes.clear();
  k.tid = p.pid;
  p.router?.slice(0);
}

export const execSyscalls: SyscallDef[] = [
  {
    name: "execve",
    handler: (k, a) => exec(k, -100, a[0], a[1], a[2], 0),
    args: ["path", "ptr", "ptr"],
    status: "partial",
    note:
      "static aarch64 programs and #! scripts (dynamic ones with --sysroot); x86-64 programs through the run's translator (box64), as binfmt_misc hands them over; the image is replaced in this host process",
  },
  {
    name: "execveat",
    handler: (k, a) => exec(k, a[0], a[1], a[2], a[3], a[4] >>> 0),
    args: ["dirfd", "path", "ptr", "ptr", "hex"],
    status: "partial",
    note: "as execve; AT_EMPTY_PATH runs the file dirfd refers to",
  },
];
