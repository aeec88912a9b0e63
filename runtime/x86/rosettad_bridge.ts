// The rosettad bridge's elfuse side (shared/reference/elfuse.md §1.18): when Rosetta connects its
// SOCK_SEQPACKET socket to the name CAPS gave it, that socket becomes one end of a host
// socketpair and the bridge's Worker (rosettad_worker.ts) serves the other, as the original's
// detached thread does. One bridge per Runtime (Runtime.rosettad), started at the first connect.
import { libc } from "../host/libc.ts";
import { selfCommand } from "../host/spawn.ts";
import { workerUrl } from "../host/worker_url.ts";
import { isRosettadAddress, translateTimeoutMs } from "./rosettad.ts";
import type { CacheSettings } from "./rosettad_cache.ts";

/**
 * The socket name CAPS announces: the default of Apple's Virtualization framework
 * (VZLinuxRosettaUnixSocketCachingOptions, "a Unix Domain Socket at /run/rosettad/rosetta.sock"),
 * which the original writes too. Nothing is made there: the connect is intercepted.
 */
export const ROSETTAD_SOCKET = "/run/rosettad/rosetta.sock";

/** Where Apple installs rosettad beside rosetta. */
export const ROSETTAD_PATH = "/Library/Apple/usr/libexec/oah/RosettaLinux/rosettad";

// The Worker's messages, declared here: the Worker's module stays out of the package's module
// graph (it declares the worker lib, which `deno publish` refuses), as signal_worker.ts does.
/** The first message: the cache's settings (without its note) and whether to print notes. */
export interface WorkerSetup {
  cache: Omit<CacheSettings, "note">;
  verbose: boolean;
}
/**
 * Then one message per connection: the host fd of the bridge's end. elfuse's thread owns it and
 * closes it when told the connection ended ({ ended }) or when the run ends, so its number is
 * never reused while either thread might still use it.
 */
export interface WorkerServe {
  serve: number;
}
/** What the Worker tells elfuse's thread: a connection's end, shut down, may be closed. */
export interface WorkerEnded {
  ended: number;
}

const linux = Deno.build.os === "linux";
const AF_UNIX = 1, SOCK_STREAM = 1, SOCK_SEQPACKET = 5, SOL_SOCKET = linux ? 1 : 0xffff;
const SO_TYPE = linux ? 3 : 0x1008, F_GETFL = 3, F_SETFL = 4, F_SETFD = 2, FD_CLOEXEC = 1;
const O_NONBLOCK = linux ? 0o4000 : 4, O_CLOEXEC = 0o2000000, SHUT_RDWR = 2;
/**
 * The socketpair's type: SOCK_SEQPACKET as Rosetta asked, where the host has it for AF_UNIX
 * (Linux); macOS has none, so there, as in the original, a stream, which socket() gives Rosetta in
 * place of its SOCK_SEQPACKET (kernel/syscalls/socket.ts).
 */
export const BRIDGE_SOCKET_TYPE = linux ? SOCK_SEQPACKET : SOCK_STREAM;

/**
 * The command a miss runs, `COMMAND translate IN OUT`: elfuse itself running Apple's rosettad (an
 * AArch64 Linux program), as the original's `elfuse rosettad translate IN OUT`. For tests,
 * ELFUSE_ROSETTAD names another AArch64 program to run as rosettad and ELFUSE_ROSETTAD_COMMAND
 * replaces the whole prefix with a host command (words split on blanks).
 */
export function translatorCommand(
  env: (name: string) => string | undefined = (n) => Deno.env.get(n),
): string[] {
  const command = env("ELFUSE_ROSETTAD_COMMAND")?.trim();
  if (command) return command.split(/\s+/);
  return selfCommand([env("ELFUSE_ROSETTAD") || ROSETTAD_PATH]);
}

export class RosettadBridge {
  #worker: Worker | undefined;
  readonly #served = new Set<number>();
  readonly #verbose: boolean;

  constructor(verbose: boolean) {
    this.#verbose = verbose;
  }

  #start(): Worker {
    if (this.#worker !== undefined) return this.#worker;
    const w = new Worker(
      workerUrl("rosettad_worker", new URL("./rosettad_worker.ts", import.meta.url)),
      { type: "module" },
    );
    const home = Deno.env.get("HOME");
    const setup: WorkerSetup = {
      cache: {
        home: home ? home : undefined,
        command: translatorCommand(),
        timeoutMs: translateTimeoutMs(),
      },
      verbose: this.#verbose,
    };
    w.postMessage(setup);
    w.onmessage = (e: MessageEvent<WorkerEnded>) => {
      if (this.#served.delete(e.data.ended)) libc.close(e.data.ended);
    };
    this.#worker = w;
    return w;
  }

  /**
   * Rosetta's connect of host socket `hostFd` to `addr` (the guest's sockaddr): when it names the
   * bridge and the socket is Rosetta's kind, the socket becomes one end of a new socketpair (same
   * fd number, its O_NONBLOCK kept) and the Worker serves the other; 0, or -errno (host) when the
   * pair cannot be made. undefined for any other connect, which goes on as usual.
   */
  connect(addr: Uint8Array, hostFd: number): number | undefined {
    if (!isRosettadAddress(addr, addr.length, ROSETTAD_SOCKET)) return undefined;
    const buf = new Int32Array(2), len = new Uint32Array([4]);
    const p = (a: ArrayBufferView) => Number(Deno.UnsafePointer.value(Deno.UnsafePointer.of(a)));
    if (libc.getsockopt(hostFd, SOL_SOCKET, SO_TYPE, p(buf), p(len)) !== 0) return undefined;
    if (buf[0] !== BRIDGE_SOCKET_TYPE) return undefined;
    const cloexec = linux ? O_CLOEXEC : 0; // SOCK_CLOEXEC is O_CLOEXEC's value on Linux
    if (libc.socketpair(AF_UNIX, BRIDGE_SOCKET_TYPE | cloexec, 0, p(buf)) !== 0) return -1;
    const [guestEnd, ours] = buf;
    const flags = libc.fcntl(hostFd, F_GETFL, 0);
    // The guest's fd entry keeps its host fd number: the pair's end takes its place, close-on-exec
    // at once where the host can (the Worker may be starting a translator meanwhile).
    const r = linux ? libc.dup3(guestEnd, hostFd, O_CLOEXEC) : libc.dup2(guestEnd, hostFd);
    libc.close(guestEnd);
    if (r < 0) {
      libc.close(ours);
      return -1;
    }
    libc.fcntl(hostFd, F_SETFL, flags & O_NONBLOCK);
    libc.fcntl(hostFd, F_SETFD, FD_CLOEXEC);
    libc.fcntl(ours, F_SETFD, FD_CLOEXEC);
    this.#served.add(ours);
    const serve: WorkerServe = { serve: ours };
    this.#start().postMessage(serve);
    return 0;
  }

  /**
   * Ends the bridge when the run ends: shutdown wakes a call the Worker is blocked in on its end
   * (a live Worker would keep Deno's event loop, as the signal listener's does). The ends are
   * this thread's to close (WorkerServe).
   */
  close(): void {
    this.#worker?.terminate(); // first: it runs no more JS, so it never touches a closed fd
    this.#worker = undefined;
    for (const fd of this.#served) {
      libc.shutdown(fd, SHUT_RDWR);
      libc.close(fd);
    }
    this.#served.clear();
  }
}
