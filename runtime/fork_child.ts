// The child side of a guest fork (`elfuse --fork-child FD`, started by kernel/fork.ts): rebuild
// the parent's process from the state memfd and go on running it.
import { createBackend } from "./backends/select.ts";
import type { Backend } from "./backends/backend.ts";
import { receiveFds } from "./host/fd_passing.ts";
import type { BackendName } from "./backends/select.ts";
import { Reg } from "./backends/backend.ts";
import { exitLike } from "./host/exit.ts";
import { libc } from "./host/libc.ts";
import { type ForkState, inherit } from "./kernel/fork.ts";
import { newProcess } from "./kernel/process.ts";
import { publish, withdraw } from "./kernel/procfs/registry.ts";
import { Runtime } from "./kernel/runtime.ts";
import { AddressSpace } from "./memory/address_space.ts";
import { note, runKernel } from "./run.ts";
import { Sysroot } from "./sysroot/resolve.ts";

function readState(fd: number): { state: ForkState; dataOffset: number } {
  const len8 = new Uint8Array(8);
  const p = (b: Uint8Array) => BigInt(Deno.UnsafePointer.value(Deno.UnsafePointer.of(b)));
  libc.pread(fd, p(len8), 8n, 0n);
  const len = Number(new DataView(len8.buffer).getBigUint64(0, true));
  const header = new Uint8Array(len);
  let done = 0;
  while (done < len) {
    const n = Number(
      libc.pread(fd, p(header) + BigInt(done), BigInt(len - done), BigInt(8 + done)),
    );
    if (n <= 0) throw new Error("fork child: truncated state");
    done += n;
  }
  const state = JSON.parse(new TextDecoder().decode(header)) as ForkState;
  return { state, dataOffset: Math.ceil((8 + len) / 4096) * 4096 };
}

/** Runs a fork child to the end (`--fork-child FD`: state and fds inherited); never returns. */
export async function forkChildMain(fdArg: string): Promise<never> {
  const fd = Number(fdArg);
  const { state } = readState(fd);
  return await resume(fd, undefined, state.run.backend as BackendName);
}

/**
 * A warm spare (`--fork-spare SOCK BACKEND`, kernel/fork.ts): everything a child needs is loaded
 * and the CPU backend created before the fork happens; then it waits for the state and fds.
 */
export async function forkSpareMain(sockArg: string, backendName: string): Promise<never> {
  const prepared = await prepare(backendName as BackendName);
  const fds = receiveFds(Number(sockArg));
  // The parent exited (or had no more forks) before using this spare: leave quietly.
  if (fds === undefined || fds.length === 0) {
    libc._exit(0);
    throw new Error("unreachable");
  }
  libc.close(Number(sockArg));
  return await resume(fds[0], { fds: fds.slice(1), prepared }, backendName as BackendName);
}

async function prepare(name: BackendName): Promise<{ as: AddressSpace; backend: Backend }> {
  const as = new AddressSpace();
  const backend = await createBackend(name, { hostBase: as.slab.base, size: as.slab.size });
  as.mapper = backend;
  return { as, backend };
}

/**
 * Makes the parent's working directory this process's. A child started for this fork inherited
 * it already; a spare started earlier moves there, which fails if the guest has since taken away
 * its own search permission on it (on Linux a fork keeps the directory whatever its mode): the
 * child then stays where the spare was, and -v says so.
 */
function enterCwd(cwd: string, verbose: boolean): void {
  try {
    if (Deno.cwd() === cwd) return;
  } catch {
    // ours was removed: move
  }
  try {
    Deno.chdir(cwd);
  } catch (e) {
    if (verbose) note(`fork child cannot enter ${cwd} (${(e as Error).name}): it stays elsewhere`);
  }
}

async function resume(
  fd: number,
  spare: { fds: number[]; prepared: { as: AddressSpace; backend: Backend } } | undefined,
  backendName: BackendName,
): Promise<never> {
  const { state, dataOffset } = readState(fd);
  const { as, backend } = spare?.prepared.backend.name === state.run.backend
    ? spare.prepared
    : await prepare(backendName);
  enterCwd(state.cwd, state.run.verbose === true);
  Deno.umask(state.umask);
  // The shared mappings' host files come after the guest's fds and the pipes (fork.ts), at the
  // parent's numbers when inherited.
  const pipes = [state.vfork, state.release, state.ready].filter((fd) => fd !== undefined).length;
  const shared = state.sharedFiles.map((parentFd, i) => ({
    hostFd: spare ? spare.fds[state.fds.length + pipes + i] : parentFd,
    base: 0,
  }));
  for (const v of state.vmas) {
    const len = v.end - v.start;
    if (v.sharedFile !== undefined) {
      // The parent's shared mapping: the same host file, shared, so writes on either side show.
      const backing = shared[v.sharedFile.index];
      backing.base = v.sharedFile.base;
      as.mapHostFileShared(v.start, len, v.prot, v.name, backing);
    } else {
      // The parent's private pages, copy-on-write.
      as.mapHostFilePrivate(v.start, len, v.prot, v.name, fd, dataOffset + v.offset, v.eof);
    }
  }
  libc.close(fd);
  as.brkStart = state.brkStart;
  as.brkEnd = state.brkEnd;
  const { sysroot, ...info } = state.info;
  const k = newProcess(new Runtime(), as, {
    ...info,
    sysroot: sysroot === undefined ? undefined : new Sysroot(sysroot),
  });
  const proc = k.proc;
  // vfork: the last fd passed is the pipe the parent waits on (kernel/syscalls/process.ts).
  // After the guest's fds: vfork's pipe, then the release pipe (inline_fork.ts), when present.
  let extra = state.fds.length;
  if (state.vfork !== undefined) {
    proc.vforkWriteFd = spare ? spare.fds[extra++] : state.vfork;
  }
  if (state.release !== undefined) proc.releaseFd = spare ? spare.fds[extra++] : state.release;
  if (state.ready !== undefined) proc.readyFd = spare ? spare.fds[extra++] : state.ready;
  // Fds arrive at the parent's numbers (inherited) or, to a spare, in state.fds order. Emulated
  // descriptions are rebuilt here, each with host fds of its own that stand for it.
  const files = state.files.length === 0
    ? []
    : (await import("./kernel/descriptions.ts")).restoreDescriptions(state.files);
  state.fds.forEach(([guest, hostFd, cloexec, path, fi], i) => {
    let h = spare ? spare.fds[i] : hostFd;
    const file = fi >= 0 ? files[fi] : undefined;
    if (file !== undefined && file.keepsHostFd !== true) {
      libc.close(h);
      h = file.standIn();
    }
    proc.fds.set(guest, { hostFd: h, cloexec, path, file });
  });
  inherit(k, state);
  const vcpu = backend.createVcpu();
  proc.vcpu = vcpu;
  const regsBytes = Uint8Array.from(atob(state.regs), (c) => c.charCodeAt(0));
  const regs = new DataView(regsBytes.buffer);
  vcpu.loadGeneral(regs, 0);
  vcpu.loadFpsimd(regs, 34 * 8);
  vcpu.setBig(Reg.TPIDR_EL0, BigInt(state.tpidr));
  if (state.childTid !== 0 && proc.canWrite(state.childTid, 4)) {
    proc.view.setInt32(state.childTid, proc.pid, true);
  }
  if (state.clearTid) k.tidAddress = state.childTid;
  publish(proc);
  const status = await runKernel(proc, backend, {
    program: info.exePath,
    ...state.run,
    backend: state.run.backend as BackendName,
  });
  withdraw(proc);
  exitLike("code" in status ? status : { signal: status.signal });
}
