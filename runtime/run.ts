// Running one guest program from start to exit: load, set up the address space and vCPU, serve
// syscalls until the guest exits or faults.
import { type Backend, type Exit, Reg } from "./backends/backend.ts";
import { deliverFault, takeHostSignals } from "./kernel/signal_delivery.ts";
import { preempted } from "./kernel/scheduler.ts";
import { SignalRouter } from "./host/signal_router.ts";
import { type BackendName, createBackend, defaultBackend } from "./backends/select.ts";
import { ElfuseError, printable } from "./errors.ts";
import { libc } from "./host/libc.ts";
import { type ExitStatus, newProcess, type Process } from "./kernel/process.ts";
import { publish, withdraw } from "./kernel/procfs/registry.ts";
import { Runtime } from "./kernel/runtime.ts";
import { syscallEntry } from "./kernel/dispatch.ts";
import { errnoNames } from "./kernel/errno.ts";
import { aarch64SyscallNames } from "./kernel/aarch64_numbers.ts";
import { handlerTable, tableRows } from "./kernel/table.ts";
import { AddressSpace } from "./memory/address_space.ts";
import { findProgram, type Program, readTarget } from "./program.ts";
import { EM_X86_64 } from "./elf/parse.ts";
import { buildImage } from "./image.ts";
import { moveOut, runInline } from "./kernel/inline_fork.ts";
import { INLINE_SLICE_MS, inlineTable, startingTable } from "./kernel/inline_table.ts";
import { Sysroot } from "./sysroot/resolve.ts";
import { cpuNow } from "./kernel/syscalls/time.ts";
import { endTree, startTree } from "./kernel/fuse/mounts.ts";
// Small, and loaded with execve's handler anyway (kernel/syscalls/exec.ts).
import { answerVzIoctls, installExecFd, openExecFile } from "./x86/rosetta_process.ts";

export interface RunOptions {
  /** Program path or bare name (looked up in the guest environment's PATH). */
  program: string;
  /** Arguments after argv[0]. */
  args?: string[];
  /** argv[0]; defaults to `program` as given. */
  argv0?: string;
  /** The guest environment as KEY=VALUE strings; defaults to the host's. */
  env?: string[];
  backend?: BackendName;
  /** One line per syscall on stderr. */
  strace?: boolean;
  /** Diagnostics on stderr (backend choice, unknown syscalls, faults, timing). */
  verbose?: boolean;
  /** Guest working directory (host directory). */
  workdir?: string;
  /** Host directory holding the guest's system files (docs/sysroot.md). */
  sysroot?: string;
  /** x86-64 programs: the translator's host path (default: the sysroot's box64; docs/x86_64.md). */
  x86Translator?: string;
  /** Refuse x86-64 programs. */
  noX86?: boolean;
  /** ELFUSE_X86_STANDIN=rosetta: the x86Translator plays Rosetta's role (docs/x86_64.md). */
  x86StandIn?: boolean;
  /** Serve the GDB remote protocol here: PORT, HOST:PORT or a unix socket path (docs/gdb.md). */
  gdb?: string;
  /** With `gdb`: wait for the debugger before the first instruction. */
  gdbStopOnEntry?: boolean;
}

export type { ExitStatus };

export function note(msg: string): void {
  const b = new TextEncoder().encode(`elfuse: ${printable(msg)}\n`);
  libc.write(2, Number(Deno.UnsafePointer.value(Deno.UnsafePointer.of(b))), b.length);
}

/**
 * Runs an aarch64 Linux program (static, or dynamic with its loader) to completion in this process and returns how it ended.
 * Guest stdin/stdout/stderr are this process's.
 */
export async function runProgram(opts: RunOptions): Promise<ExitStatus> {
  const t0 = performance.now();
  const closedStdio = takeClosedStdio();
  // ELFUSE_TREE is elfuse's own (set below; a library caller's earlier run left it set).
  const env = opts.env ??
    Object.entries(Deno.env.toObject()).flatMap(([k, v]) =>
      k === "ELFUSE_TREE" ? [] : [`${k}=${v}`]
    );
  // A new process tree: every host process it starts shares its FUSE mounts (fuse/mounts.ts).
  Deno.env.set("ELFUSE_TREE", String(Deno.pid));
  if (opts.workdir !== undefined) {
    try {
      Deno.chdir(opts.workdir);
    } catch {
      throw new ElfuseError(`--workdir ${opts.workdir}: no such directory`, 1);
    }
  }
  let sysroot: Sysroot | undefined;
  if (opts.sysroot !== undefined) {
    try {
      sysroot = new Sysroot(opts.sysroot);
    } catch (e) {
      throw new ElfuseError(`--sysroot ${(e as Error).message}`, 2);
    }
  }
  const pathVar = env.find((e) => e.startsWith("PATH="))?.slice(5) ?? Deno.env.get("PATH");
  const found = findProgram(opts.program, pathVar, Deno.cwd(), sysroot);
  // A script goes by the name it was started with, or by its path when found in PATH (execve's
  // filename, as a shell passes it).
  const started = opts.program.includes("/") ? opts.program : sysroot?.guestPath(found) ?? found;
  const target = readTarget(
    found,
    started,
    [opts.argv0 ?? opts.program, ...(opts.args ?? [])],
    sysroot,
    Deno.cwd(),
    true,
  );
  let prog = target.program;
  let argv = target.argv;
  let x86Kind: string | undefined;
  /** Rosetta's hand-over: the x86-64 program opened for AT_EXECFD, and the guest fd it gets. */
  let execFile: { hostFd: number; fd: number; guestPath: string } | undefined;
  if (prog.elf.machine === EM_X86_64) {
    // The translator is what runs, handed the program as binfmt_misc would (docs/x86_64.md).
    const { startX86 } = await import("./x86/start.ts");
    // The program's path as execve would get it (a bare name: where PATH found it), which
    // binfmt_misc hands over.
    const x86 = await startX86(prog, target.shown, argv, {
      ...opts,
      backend: opts.backend ?? defaultBackend().name,
    }, sysroot);
    sysroot = x86.sysroot;
    if (opts.verbose) {
      note(
        `x86-64 program: running it through ${x86.translator.guestPath} (${x86.translator.source})`,
      );
    }
    if (x86.openProgram) execFile = openForTranslator(prog.hostPath, sysroot, closedStdio);
    prog = x86.program;
    argv = x86.argv;
    x86Kind = x86.translator.kind;
  }
  const hostPath = prog.hostPath;

  const backendName = opts.backend ?? defaultBackend().name;
  if (opts.verbose && opts.backend === undefined) {
    note(`backend ${backendName}: ${defaultBackend().reason}`);
  }
  const tProgram = performance.now();
  const as = new AddressSpace();
  const tSlab = performance.now();
  const backend = await createBackend(backendName, { hostBase: as.slab.base, size: as.slab.size });
  const tBackend = performance.now();
  if (opts.verbose) note(backend.description);
  const limits = (backend as { limitations?: string }).limitations;
  if (limits) note(limits);
  as.mapper = backend;

  // Rosetta (only ever chosen on macOS/arm64 with hvf, and refused before this for now: see
  // x86/rosetta.ts rosettaUnavailable) is placed at its 128 TiB link address through hvf aliases;
  // so is a stand-in for it linked there (hvf and hvf-sim only).
  const placeMain = x86Kind === "rosetta" && linkedAbove(prog, as.size)
    ? await rosettaPlacement(backend, prog)
    : undefined;
  const image = buildImage(as, {
    program: prog,
    placeMain,
    shownName: target.shown === started ? opts.program : target.shown,
    argv,
    envp: env,
    hwcap: backend.hwcap,
    hwcap2: backend.hwcap2,
    monotonicCounter: backend.monotonicCounter === true,
    sysroot,
    execFd: execFile?.fd,
  });
  const leader = newProcess(new Runtime(), as, {
    exePath: sysroot?.guestPath(hostPath) ?? hostPath,
    hostExePath: hostPath,
    argv,
    envp: env,
    auxvAddress: image.auxvAddress,
    auxvLength: image.auxvLength,
    stackStart: image.sp,
    sysroot,
  });
  const proc = leader.proc;
  startTree(proc.rt);
  publish(proc);
  installStdio(proc, closedStdio);
  if (execFile !== undefined) {
    installExecFd(proc.fds, execFile.fd, execFile.hostFd, execFile.guestPath);
  }
  // Rosetta checks its VZ environment with ioctls on its own binary (x86/rosetta.ts); -v says
  // where Apple's signature came from (runKernel sets the same again).
  if (x86Kind === "rosetta") {
    proc.rt.verbose = opts.verbose === true;
    proc.rt.note = note;
    answerVzIoctls(proc, opts.x86StandIn === true, argv[1], execFile?.fd ?? -1);
  }
  const vcpu = backend.createVcpu();
  proc.vcpu = vcpu;
  vcpu.set(Reg.SP, image.sp);
  vcpu.set(Reg.PC, image.entry);
  if (opts.verbose) {
    // Start-up by phase (docs/internals.md, "Start-up"): time origin is the process's start.
    const ms = (a: number, b: number) => (b - a).toFixed(1);
    const now = performance.now();
    note(
      `loaded in ${ms(t0, now)} ms (after ${t0.toFixed(1)} ms of Deno and elfuse's modules: ` +
        `program ${ms(t0, tProgram)}, slab ${ms(tProgram, tSlab)}, ` +
        `backend ${ms(tSlab, tBackend)}, image and vCPU ${ms(tBackend, now)}); ` +
        `starting at 0x${image.entry.toString(16)}`,
    );
  }
  if (opts.gdb !== undefined) proc.debugger = await startDebugger(proc, backend, opts);
  const status = await runKernel(proc, backend, opts);
  withdraw(proc);
  if (opts.verbose) note(`guest ran for ${(performance.now() - t0).toFixed(1)} ms in total`);
  proc.router?.close();
  proc.rt.rosettad?.close();
  endTree(proc.rt);
  backend.close();
  return status;
}

/**
 * Serves the guest until it exits: the syscall table, diagnostics, --strace, and faults turned
 * into signal frames. Shared by a fresh run and by a fork child resuming its parent's image.
 */
export async function runKernel(
  proc: Process,
  backend: Backend,
  opts: RunOptions,
): Promise<ExitStatus> {
  const inline = proc.inline !== undefined;
  const rt = proc.rt;
  rt.hwcap = backend.hwcap;
  rt.hwcap2 = backend.hwcap2;
  rt.midr = backend.midr ?? 0;
  rt.counterHz = backend.counterHz ?? 0;
  rt.monotonicCounter = backend.monotonicCounter === true;
  rt.verbose = opts.verbose === true;
  rt.note = note;
  rt.options = {
    backend: backend.name as BackendName,
    strace: opts.strace,
    verbose: opts.verbose,
    x86Translator: opts.x86Translator,
    noX86: opts.noX86,
    x86StandIn: opts.x86StandIn,
  };
  const rows = tables.rows;
  proc.table = inline ? tables.inline : tables.base;
  if (proc.releaseFd >= 0 || proc.readyFd >= 0) proc.table = startingTable(proc, proc.table);
  if (opts.verbose) {
    const seen = new Set<number>();
    rt.onUnknown = (nr) => {
      if (seen.has(nr)) return;
      seen.add(nr);
      note(`syscall ${aarch64SyscallNames[nr] ?? nr} (${nr}) is not implemented: returning ENOSYS`);
    };
  }
  const vcpu = proc.vcpu;
  proc.cpuBase = cpuNow(rt);
  // An in-process child leaves host signals to its waiting parent (kernel/inline_fork.ts).
  if (!inline) {
    proc.router = new SignalRouter();
    proc.hostSignals = proc.router.flags;
    proc.router.useInterrupt(vcpu.interruptCall());
    // A fork child arrives with its parent's dispositions and mask: mirror them on the host.
    proc.actions.forEach((a, sig) => {
      if (a.handler !== 0) proc.router!.disposition(sig, a.handler);
    });
    proc.syncSignals();
  }
  const tracer = opts.strace ? (await import("./kernel/strace.ts")).straceTracer(rows) : undefined;
  const entry = syscallEntry(proc, tracer);
  const debug = proc.debugger;
  for (;;) {
    const exit = debug === undefined ? vcpu.run(entry, 0) : await debug.run(entry);
    if (proc.inlineStart !== undefined) {
      await runInline(proc, (child) => runKernel(child, backend, opts));
      if (proc.exitStatus === undefined) continue;
    }
    if (inline && proc.inline!.moved) return { code: 0 }; // it goes on in its own process
    if (exit.kind === "interrupted") {
      // An in-process child that computes past its slice moves to a process of its own, from
      // the instruction it was stopped at.
      const child = proc.inline;
      if (child !== undefined && performance.now() - child.startedAt > INLINE_SLICE_MS) {
        moveOut(proc.current, false, true);
        if (child.moved) return { code: 0 };
      }
      takeHostSignals(proc);
      preempted(proc);
      if (proc.exitStatus === undefined) continue;
    }
    const k = proc.current;
    // A fault with a handler becomes a signal frame, and the guest goes on in the handler.
    const f = faultSignal(exit, proc);
    if (f === "retry") continue; // a file grew under a mapping's past-the-end pages
    if (f && debug !== undefined && proc.exitStatus === undefined) {
      // The debugger sees the fault first, and says which signal the guest gets (0: none; the
      // instruction runs again).
      f.sig = await debug.signalled(f.sig);
      if (f.sig === 0 || proc.exitStatus !== undefined) continue;
    }
    if (f && proc.exitStatus === undefined && deliverFault(k, f.sig, f.code, f.address)) {
      continue;
    }
    proc.creds.withdraw(proc.pid, rt);
    const status = statusOf(exit, proc, opts.verbose === true, f);
    if (debug !== undefined) await debug.exited(status);
    return status;
  }
}

/** Rosetta's placement at 128 TiB (hvf only), loaded only for a Rosetta start. */
async function rosettaPlacement(backend: Backend, prog: Program) {
  const m = await import("./backends/hvf/rosetta_install.ts");
  return m.rosettaPlacement(backend, prog);
}

/** Whether a program's lowest PT_LOAD lies above the slab (Rosetta, linked at 128 TiB). */
function linkedAbove(prog: Program, slabSize: number): boolean {
  const loads = prog.elf.phdrs.filter((p) => p.type === 1 && p.memsz > 0);
  return loads.length > 0 && Math.min(...loads.map((p) => p.vaddr)) >= slabSize;
}

/**
 * The x86-64 program opened for a translator handed it as AT_EXECFD. Its guest fd is the lowest
 * free one once the standard fds are in (3, or a standard fd the caller closed), as Linux's
 * get_unused_fd_flags(0) picks it.
 */
function openForTranslator(hostPath: string, sysroot: Sysroot | undefined, closed: string) {
  const hostFd = openExecFile(hostPath);
  if (hostFd < 0) throw new ElfuseError(`${hostPath}: cannot open it for the translator`, 126);
  const fd = [0, 1, 2].find((n) => closed.includes(String(n))) ?? 3;
  return { hostFd, fd, guestPath: sysroot?.guestPath(hostPath) ?? hostPath };
}

/** Loads and starts the GDB stub (runtime/gdb/: only under --gdb). */
async function startDebugger(proc: Process, backend: Backend, opts: RunOptions) {
  const { parseEndpoint } = await import("./gdb/endpoint.ts");
  const endpoint = parseEndpoint(opts.gdb!);
  if (typeof endpoint === "string") throw new ElfuseError(endpoint, 2);
  const { startGdbStub } = await import("./gdb/stub.ts");
  try {
    return await startGdbStub(proc, backend, {
      endpoint,
      stopOnEntry: opts.gdbStopOnEntry === true,
      note,
    });
  } catch (e) {
    throw new ElfuseError((e as Error).message, 1);
  }
}

/** The handler tables, built once per host process (fork children run many kernels). */
const tables = (() => {
  const rows = tableRows();
  const base = handlerTable(rows);
  let inlined: ReturnType<typeof handlerTable> | undefined;
  return {
    rows,
    base,
    get inline() {
      return (inlined ??= inlineTable(rows, base));
    },
  };
})();

/**
 * Guest fds 0-2 are duplicates of the host's, so the guest closing them leaves ours intact. One
 * the caller closed (`>&-`) stays closed for the guest, as on Linux (EBADF).
 */
function installStdio(k: Process, closed: string): void {
  const names = ["/dev/stdin", "/dev/stdout", "/dev/stderr"];
  for (let fd = 0; fd < 3; fd++) {
    if (closed.includes(String(fd))) continue;
    const h = libc.fcntl(fd, 1030, /* F_DUPFD_CLOEXEC */ 3);
    if (h >= 0) k.fds.set(fd, { hostFd: h, cloexec: false, path: names[fd], file: undefined });
  }
}

/**
 * The standard fds the caller closed (`>&-`), as the `elfuse` launcher saw them before Deno
 * started: ELFUSE_CLOSED_STDIO lists their digits ("1", "02"). Deno cannot tell by itself: its
 * Rust runtime opens /dev/null O_RDWR on each closed one before main (Rust std's
 * sanitize_standard_fds), which looks exactly like a caller's own read-write /dev/null (Python's
 * subprocess.DEVNULL, node's "ignore"), and those must stay /dev/null. The variable is elfuse's
 * own: it is taken out of the environment before the guest's is made.
 */
function takeClosedStdio(): string {
  const closed = Deno.env.get("ELFUSE_CLOSED_STDIO") ?? "";
  Deno.env.delete("ELFUSE_CLOSED_STDIO");
  return closed;
}

/** The signal, si_code and si_addr a fault raises (asm-generic/siginfo.h codes). */
type FaultSignal = { sig: number; code: number; address: number };

/** The signal a fault raises, or "retry" when the fault went away (fileTailFault). */
function faultSignal(
  exit: Exit,
  proc: Process,
): FaultSignal | "retry" | undefined {
  switch (exit.kind) {
    case "fault": { // SEGV_MAPERR 1 for unmapped memory, SEGV_ACCERR 2 for a permission fault
      // Pages of a file mapping wholly past the file's end: SIGBUS, BUS_ADRERR 2 (Linux's
      // filemap_fault), unless the file has grown over them since.
      const tail = proc.as.fileTailFault(exit.address, exit.access);
      if (tail === "mapped") return "retry";
      if (tail === "sigbus") return { sig: 7, code: 2, address: exit.address };
      // PROT_NONE pages are mapped for the guest but not in the backend (address_space.ts).
      const mapped = exit.mapped || proc.as.vmas.find(exit.address) !== undefined;
      return { sig: 11, code: mapped ? 2 : 1, address: exit.address };
    }
    case "undefined": // ILL_ILLOPC
      return { sig: 4, code: 1, address: exit.pc };
    case "breakpoint": // TRAP_BRKPT
      return { sig: 5, code: 1, address: exit.pc };
  }
  return undefined;
}

function statusOf(
  exit: Exit,
  k: Process,
  verbose: boolean,
  f: FaultSignal | undefined,
): ExitStatus {
  switch (exit.kind) {
    case "stopped":
      return k.exitStatus ?? { code: 0 };
    case "fault": {
      const bus = f?.sig === 7; // past a file's end
      if (verbose) {
        note(
          `guest ${exit.access} fault at 0x${exit.address.toString(16)} (${
            bus ? "past the end of a mapped file" : exit.mapped ? "permission" : "unmapped"
          }), pc 0x${exit.pc.toString(16)}: ${bus ? "SIGBUS" : "SIGSEGV"}`,
        );
      }
      return { signal: bus ? 7 : 11, core: true };
    }
    case "undefined":
      if (verbose) note(`undefined instruction at pc 0x${exit.pc.toString(16)}: SIGILL`);
      return { signal: 4, core: true };
    case "breakpoint":
      if (verbose) note(`breakpoint at pc 0x${exit.pc.toString(16)}: SIGTRAP`);
      return { signal: 5, core: true };
    case "interrupted":
    case "step":
      return k.exitStatus ?? { code: 0 };
    case "timeout":
      return { signal: 9, core: false };
    case "internal":
      throw exit.error;
  }
}

export { errnoNames };
