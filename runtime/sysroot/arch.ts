// The Debian architectures `elfuse sysroot create` builds for (a module of its own so that the
// command line can check --arch without loading the builder).

/** The Debian architectures a sysroot can be built for: arm64 guests, and amd64 (x86_64) ones. */
export const SYSROOT_ARCHES: readonly SysrootArch[] = ["arm64", "amd64"];
/** A Debian architecture a sysroot can be built for. */
export type SysrootArch = "arm64" | "amd64";
