// Where the GDB stub listens (--gdb PORT | HOST:PORT | unix-socket-path), and the words the main
// thread shares with the socket worker (server_worker.ts).

export type Endpoint =
  | { transport: "tcp"; hostname: string; port: number }
  | { transport: "unix"; path: string };

/** Shared word: 1 while the vCPU runs guest code (the worker may interrupt it). */
export const RUNNING = 0;
/**
 * Shared words: how many messages the worker has posted (SENT) and how many of them the main
 * thread has taken (TAKEN). While SENT > TAKEN the worker interrupts a running guest: the
 * messages reach the main thread only when its event loop turns, which the guest holds up.
 */
export const SENT = 1;
export const TAKEN = 2;

/**
 * Parses the --gdb argument: a port (127.0.0.1), HOST:PORT, or a path (anything with a `/`) for
 * a unix socket. Returns an error sentence for anything else.
 *
 * @example
 * ```ts
 * parseEndpoint("1234"); // { transport: "tcp", hostname: "127.0.0.1", port: 1234 }
 * ```
 */
export function parseEndpoint(spec: string): Endpoint | string {
  if (spec.includes("/")) return { transport: "unix", path: spec };
  const colon = spec.lastIndexOf(":");
  let hostname = "127.0.0.1", portText = spec;
  if (colon >= 0) {
    hostname = spec.slice(0, colon).replace(/^\[(.*)\]$/, "$1");
    portText = spec.slice(colon + 1);
    if (hostname === "") return `--gdb ${spec}: no host before the ':'`;
  }
  if (!/^[0-9]+$/.test(portText) || Number(portText) > 65535) {
    return `--gdb ${spec}: expected PORT, HOST:PORT or a unix socket path`;
  }
  return { transport: "tcp", hostname, port: Number(portText) };
}
