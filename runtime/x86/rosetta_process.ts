// A process that runs Rosetta, or a stand-in playing its role (translator.ts x86StandIn): what it
// is given beyond its image. The x86-64 program is opened for it and passed as AT_EXECFD, as
// binfmt_misc does for Rosetta's registration (flags CF; C implies O, fs/binfmt_misc.c), and the
// VZ ioctls are answered on the descriptor it opens on its own binary (rosetta.ts). Used at
// start-up (run.ts) and by execve (kernel/syscalls/exec.ts); backend-neutral.
import { libc } from "../host/libc.ts";
import type { FdTable } from "../kernel/fdtable.ts";
import type { Process } from "../kernel/process.ts";
import { ProgramFile } from "../program_file.ts";
import { vzIoctlFor } from "./rosetta.ts";
import { ROSETTAD_SOCKET, RosettadBridge } from "./rosettad_bridge.ts";
import { lookUpSignature } from "./vz_signature.ts";

const SEEK_SET = 0;

/**
 * Opens the x86-64 program for AT_EXECFD: its host fd (read-only, close-on-exec on the host, at
 * offset 0), or a negative host errno. Done before an execve's point of no return, as Linux's
 * open_exec is.
 */
export function openExecFile(hostPath: string): number {
  const f = ProgramFile.open(hostPath);
  if ("errno" in f) return -f.errno;
  libc.lseek(f.fd, 0, SEEK_SET); // open() measured the size at the end
  return f.fd;
}

/**
 * Installs the opened program as guest fd `fd`, which must be free. Linux installs it with
 * get_unused_fd_flags(0) (fs/exec.c begin_new_exec): the lowest free fd, not close-on-exec.
 */
export function installExecFd(fds: FdTable, fd: number, hostFd: number, guestPath: string): void {
  fds.set(fd, { hostFd, cloexec: false, path: guestPath, file: undefined });
}

/**
 * Makes `proc`, which now runs Rosetta (or a stand-in for it) on the x86-64 `program` open as
 * `execFd`, answer the VZ ioctls on its own binary, CAPS announcing the rosettad bridge, and
 * serve its connect to that bridge. Apple's signature is looked up once per host process: in
 * ELFUSE_VZ_SIGNATURE_FILE, else in Apple's Rosetta binary itself (never in a stand-in's).
 */
export function answerVzIoctls(
  proc: Process,
  standIn: boolean,
  program: string | undefined,
  execFd: number,
): void {
  const rt = proc.rt;
  if (rt.vzSignature === undefined) {
    rt.vzSignature = lookUpSignature(
      (name) => Deno.env.get(name),
      standIn ? undefined : proc.info.hostExePath,
    );
    if (rt.verbose) {
      const s = rt.vzSignature;
      rt.note(`VZ signature: ${s.signature ? "from" : "none:"} ${s.source}`);
    }
  }
  const signature = rt.vzSignature.signature;
  proc.vzIoctl = vzIoctlFor(
    { guestPath: proc.info.exePath, caps: { socket: ROSETTAD_SOCKET, program, execFd }, signature },
    proc,
    proc.pid,
  );
  proc.rosettadConnect = (addr, hostFd) =>
    (rt.rosettad ??= new RosettadBridge(rt.verbose)).connect(addr, hostFd);
}
