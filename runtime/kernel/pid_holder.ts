// A pid holder: a small host process (/bin/sh) that stands for an in-process fork child
// (kernel/inline_fork.ts). Its pid is the child's pid, so the parent's wait4, waitid, kill and
// SIGCHLD are the host's own, exactly as for a child in a process of its own. When the child
// ends, the holder ends the same way (exit code, or killed by the same signal); when the child
// must move out, the holder execs this elfuse as a fork spare and receives the child's state.
import { libc, type Scratch } from "../host/libc.ts";
import { sendFds } from "../host/fd_passing.ts";
import { selfCommand, spawnHost } from "../host/spawn.ts";
import type { ExitStatus } from "./process.ts";
import { Slot } from "./scratch.ts";

/** fd 3: commands ("x CODE", "k SIGNAL", "m" to become a fork spare on fd 4). */
const SCRIPT = [
  "read c <&3 || exit 0",
  'case $c in x*) exit "${c#x}";; k*) ulimit -c 0; kill -"${c#k}" $$; exit 1;;',
  'm) exec "$@" 3<&-;; esac',
  "exit 1",
].join("\n");
const SHELL = "/bin/sh";

export interface PidHolder {
  pid: number;
  /** Write end of the holder's command pipe. */
  command: number;
  /** Our end of the socket the holder passes on to the spare it becomes. */
  sock: number;
}

let shellChecked: boolean | undefined;

/** True when holders can be started here (a POSIX shell at /bin/sh). */
export function holdersAvailable(): boolean {
  if (shellChecked === undefined) {
    try {
      shellChecked = Deno.statSync(SHELL).isFile;
    } catch {
      shellChecked = false;
    }
  }
  return shellChecked;
}

/**
 * Starts a holder (its commands come later), using `s` for the host calls; `spare` is the
 * command line it execs to become a fork spare. Undefined when the host refuses.
 */
export function startHolder(s: Scratch, spare: string[]): PidHolder | undefined {
  // pipe2 and socketpair with O_CLOEXEC / SOCK_CLOEXEC: only the dup2 actions below reach it.
  const at = Slot.HOLDER_FDS;
  if (libc.pipe2(s.address + at, 0o2000000) !== 0) return undefined;
  const read = s.view.getInt32(at, true), command = s.view.getInt32(at + 4, true);
  if (libc.socketpair(1, 1 | 0o2000000, 0, s.address + at + 8) !== 0) {
    libc.close(read);
    libc.close(command);
    return undefined;
  }
  const sock = s.view.getInt32(at + 8, true), theirs = s.view.getInt32(at + 12, true);
  // Above any number a dup2 onto 3 or 4 could clobber.
  const r = libc.fcntl(read, 1030, /* F_DUPFD_CLOEXEC */ 10);
  const t = libc.fcntl(theirs, 1030, 10);
  libc.close(read);
  libc.close(theirs);
  const argv = [SHELL, "-c", SCRIPT, "elfuse-pid-holder", ...spare];
  const pid = r < 0 || t < 0
    ? -1
    : spawnHost(s, Slot.SPAWN, SHELL, argv, [[r, 3], [t, 4]], true, 5);
  if (r >= 0) libc.close(r);
  if (t >= 0) libc.close(t);
  if (pid <= 0) {
    libc.close(command);
    libc.close(sock);
    return undefined;
  }
  return { pid, command, sock };
}

/** The command line a holder execs to become a fork spare for `backend`. */
export function spareCommand(backend: string): string[] {
  return selfCommand(["--fork-spare", "4", backend]);
}

function send(h: PidHolder, line: string): void {
  const b = new TextEncoder().encode(line + "\n");
  libc.write(h.command, Number(Deno.UnsafePointer.value(Deno.UnsafePointer.of(b))), b.length);
}

/** The child ended: the holder ends the same way. */
export function finishHolder(h: PidHolder, status: ExitStatus): void {
  send(h, "code" in status ? `x${status.code}` : `k${status.signal}`);
  libc.close(h.command);
  libc.close(h.sock);
}

/** The child moves out: the holder becomes a fork spare and resumes it from `fds` (state first). */
export function migrateToHolder(h: PidHolder, fds: number[]): boolean {
  send(h, "m");
  const ok = sendFds(h.sock, fds) === 0;
  libc.close(h.command);
  libc.close(h.sock);
  return ok;
}
