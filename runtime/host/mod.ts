// The host OS's translation functions, chosen once at start-up. The kernel imports these, never
// linux.ts or darwin.ts directly, for errno and flag values.
import * as darwin from "./darwin.ts";
import * as linux from "./linux.ts";

const host = Deno.build.os === "darwin" ? darwin : linux;

/** The last failed host call's errno, as a Linux errno. */
export const errno: () => number = host.errno;
/** Linux (aarch64) open/status flags to the host's, and back. */
export const openFlagsToHost: (flags: number) => number = host.openFlagsToHost;
export const openFlagsFromHost: (flags: number) => number = host.openFlagsFromHost;
