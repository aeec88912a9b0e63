// The host OS's translation functions, chosen once at start-up. The kernel imports these, never
// linux.ts or darwin.ts directly, for errno and flag values.
import * as darwin from "./darwin.ts";
import * as linux from "./linux.ts";
import type { SocketHost } from "./socket_host.ts";

const host = Deno.build.os === "darwin" ? darwin : linux;

/** The last failed host call's errno, as a Linux errno. */
export const errno: () => number = host.errno;
/** A host errno number (SO_ERROR's value) as Linux's. */
export const errnoToLinux: (n: number) => number = host.errnoToLinux;
/** Linux (aarch64) open/status flags to the host's, and back. */
export const openFlagsToHost: (flags: number) => number = host.openFlagsToHost;
export const openFlagsFromHost: (flags: number) => number = host.openFlagsFromHost;
/** The host's socket ABI against the guest's (host/socket_host.ts). */
export const socketHost: SocketHost = host.socketHost;
