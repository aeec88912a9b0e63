// Apple's Linux Rosetta as the x86-64 translator on Apple Silicon: the documented facts it needs
// from its host (shared/reference/elfuse.md §1.18), as constants and layouts the hvf backend's
// Rosetta path is to be built on. What exists today: finding the binary, the install hint, the
// ioctl numbers, their answers (not yet wired into the ioctl handler) and the hand-over
// (translator.ts). What does not: loading its image at 128 TiB with the 256 MiB kbuf aliased
// through TTBR1, the rosettad AOT bridge.
// None of it can run off a Mac, so elfuse refuses Rosetta in one line rather than pretend.

/** Where macOS installs the Linux Rosetta binary (a static AArch64 ET_EXEC). */
export const ROSETTA_PATH = "/Library/Apple/usr/libexec/oah/RosettaLinux/rosetta";

/** What to run when it is missing. */
export const rosettaInstallHint = "install Rosetta (softwareupdate --install-rosetta)";

/** The one line elfuse gives for a program Rosetta would run. */
export const rosettaUnavailable =
  "Rosetta hosting is not built yet in elfuse for Deno (docs/x86_64.md); use box64: " +
  "--x86-translator PATH or a sysroot with box64";

/** Rosetta's image is linked at 128 TiB (its entry was logged at 0x8000000261ac). */
export const ROSETTA_LINK_BASE = 0x8000_0000_0000;
/** The kernel buffer Rosetta expects: 256 MiB, aliased at this TTBR1 address (TBI1 on). */
export const KBUF_SIZE = 256 * 1024 * 1024;
export const KBUF_VA_BASE = 0xffff_ffff_f000_0000n;

// Linux's ioctl number encoding (include/uapi/asm-generic/ioctl.h): nr in bits 0-7, type in
// 8-15, size in 16-29, direction in 30-31 (1 write, 2 read).
const IOC_NONE = 0, IOC_READ = 2;

/** _IOC(dir, type, nr, size) as an unsigned 32-bit number. */
export function ioc(dir: number, type: string, nr: number, size: number): number {
  return ((dir << 30) | (size << 16) | (type.charCodeAt(0) << 8) | nr) >>> 0;
}

/**
 * The VZ ioctls Rosetta issues to confirm it runs in Apple's virtualization environment, trapped
 * only for Rosetta: CHECK (_IOR 'a' 0x25, 69 bytes) reads Apple's fixed signature; CAPS (_IOR 'a'
 * 0x23, 128 bytes) reads caps[0] (enable) and a 42-byte inline path of rosettad; ACTIVATE
 * (_IO 'a' 0x24). To confirm on hardware: OrbStack's public notes (docs/private-apis.md of
 * orbstack/swift-nio) give the 69-byte key ioctl as 0x80456122 (nr 0x22), CAPS's byte 0 as
 * "abstract socket or path" with the path after it, and 0x6124 as setting TSO; Rosetta versions
 * may differ.
 */
export const VZ_IOCTL = {
  CHECK: ioc(IOC_READ, "a", 0x25, 69),
  CAPS: ioc(IOC_READ, "a", 0x23, 128),
  ACTIVATE: ioc(IOC_NONE, "a", 0x24, 0),
} as const;

/** The CAPS reply's size and the longest rosettad path it holds inline (else /proc/self/fd/N). */
export const CAPS_SIZE = 128;
export const CAPS_INLINE_PATH_MAX = 42;

/** The rosettad AOT bridge's one-byte requests (over a SOCK_SEQPACKET socketpair). */
export const ROSETTAD_REQUEST = {
  handshake: "?".charCodeAt(0),
  digest: "d".charCodeAt(0),
  translate: "t".charCodeAt(0),
  quit: "q".charCodeAt(0),
} as const;

/**
 * The path CAPS carries for rosettad: inline when it fits in 42 bytes, else the /proc/self/fd
 * name of a descriptor elfuse opened on it.
 */
export function capsRosettadPath(path: string, fd: number): string {
  return new TextEncoder().encode(path).length <= CAPS_INLINE_PATH_MAX
    ? path
    : `/proc/self/fd/${fd}`;
}

/**
 * The CAPS ioctl's 128-byte reply as recorded: byte 0 enables the rosettad AOT bridge, and the
 * rosettad path (capsRosettadPath) follows from byte 1, NUL-terminated. Not wired into the ioctl
 * handler yet: Rosetta is refused before it would run (docs/x86_64.md).
 */
export function capsReply(rosettadPath: string | undefined, fd: number): Uint8Array {
  const reply = new Uint8Array(CAPS_SIZE);
  if (rosettadPath === undefined) return reply; // caps[0] = 0: no AOT bridge, Rosetta JITs only
  reply[0] = 1;
  const path = new TextEncoder().encode(capsRosettadPath(rosettadPath, fd));
  reply.set(path.subarray(0, CAPS_SIZE - 2), 1);
  return reply;
}

/**
 * What the trapped VZ ioctls answer, for a process running Rosetta: the bytes to write to the
 * caller's buffer and the result, or undefined for any other request (it goes to the host as
 * usual). CHECK's reply is Apple's fixed 69-byte signature, which is not recorded here: without
 * it the answer is ENOTTY, which Rosetta takes for "not in Apple's VM" (untested).
 */
export function vzIoctl(
  request: number,
  caps: { rosettadPath?: string; fd: number },
  signature?: Uint8Array,
): { reply?: Uint8Array; result: number } | undefined {
  const ENOTTY = 25;
  switch (request >>> 0) {
    case VZ_IOCTL.CHECK:
      return signature?.length === 69 ? { reply: signature, result: 0 } : { result: -ENOTTY };
    case VZ_IOCTL.CAPS:
      return { reply: capsReply(caps.rosettadPath, caps.fd), result: 0 };
    case VZ_IOCTL.ACTIVATE:
      return { result: 0 };
  }
  return undefined;
}
