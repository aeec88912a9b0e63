// Apple's Linux Rosetta as the x86-64 translator on Apple Silicon: the documented facts it needs
// from its host (shared/reference/elfuse.md §1.18), as constants and layouts the hvf backend's
// Rosetta path is built on: finding the binary, the install hint, the VZ ioctls and the answer
// the ioctl handler gives on Rosetta's own descriptor (Process.vzIoctl), the hand-over
// (translator.ts: binfmt flags, AT_EXECFD). The image's place at 128 TiB and the kbuf alias are
// computed in backends/hvf/rosetta_layout.ts and installed by backends/hvf/rosetta_install.ts
// (run.ts's Rosetta start), the rosettad bridge's protocol is in rosettad.ts; docs/x86_64.md says
// which pieces a run does not wire yet. None of it has run on a Mac, so elfuse still refuses
// Apple's Rosetta in one line rather than pretend; a stand-in for it runs (translator.ts).

/** Where macOS installs the Linux Rosetta binary (a static AArch64 ET_EXEC). */
export const ROSETTA_PATH = "/Library/Apple/usr/libexec/oah/RosettaLinux/rosetta";

/** What to run when it is missing. */
export const rosettaInstallHint = "install Rosetta (softwareupdate --install-rosetta)";

/**
 * The one line elfuse gives for a program Apple's Rosetta would run: what a run still lacks
 * (docs/x86_64.md, "What still stands"). The hand-over, the VZ answers with Apple's signature read
 * on the Mac, its image, kbuf and high mappings, and the rosettad bridge are wired and tested with
 * stand-ins.
 */
export const rosettaUnavailable =
  "Rosetta hosting is not complete in elfuse for Deno: TSO, upper-half mmaps, futex, msghdrs and " +
  "other calls on its own memory, and fork and execve of it are not wired, and neither it nor " +
  "rosettad has ever run on a Mac (docs/x86_64.md); use box64: " +
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
 * only for Rosetta on the descriptor it opened on itself (vzIoctlGate). Two public readings
 * disagree (docs/x86_64.md, "Two readings"): the original elfuse (§1.18, and its PR #41 that ran
 * on hardware) gives the 69-byte signature read as CHECK, _IOR('a', 0x25, 69) = 0x80456125;
 * OrbStack's notes (orbstack/swift-nio docs/private-apis.md) give the same 69-byte key read as
 * 0x80456122, _IOR('a', 0x22, 69). Both are answered alike: a request only Rosetta issues, on a
 * descriptor only Rosetta holds, read-only. CAPS (_IOR 'a' 0x23, 128 bytes) and 0x6124 (_IO 'a'
 * 0x24: "ACTIVATE" to the original, "sets TSO at start, no side effects" to OrbStack) agree.
 */
export const VZ_IOCTL = {
  CHECK: ioc(IOC_READ, "a", 0x25, 69),
  KEY_ORBSTACK: ioc(IOC_READ, "a", 0x22, 69),
  CAPS: ioc(IOC_READ, "a", 0x23, 128),
  ACTIVATE: ioc(IOC_NONE, "a", 0x24, 0),
} as const;

/** The signature CHECK returns: 69 bytes, Apple's, not recorded here. */
export const VZ_SIGNATURE_SIZE = 69;

/**
 * The CAPS reply's layout, as the original elfuse and hl (zw3rk/hyper-linux, which it comes from)
 * fill it, both recorded from a Lima VM under Apple's Virtualization framework: byte 0 enables VZ
 * mode and the AOT bridge; from byte 1, 64 bytes hold the rosettad socket's name; from byte 66,
 * 42 bytes hold the x86-64 program's path (else /proc/self/fd/N of its AT_EXECFD); byte 108 is a
 * second flag both leave 0.
 */
export const CAPS_SIZE = 128;
export const CAPS_SOCKET_AT = 1;
export const CAPS_SOCKET_MAX = 64;
export const CAPS_PROGRAM_AT = 66;
export const CAPS_INLINE_PATH_MAX = 42;

/** The rosettad AOT bridge's one-byte requests (over a SOCK_SEQPACKET socketpair). */
export const ROSETTAD_REQUEST = {
  handshake: "?".charCodeAt(0),
  digest: "d".charCodeAt(0),
  translate: "t".charCodeAt(0),
  quit: "q".charCodeAt(0),
} as const;

/**
 * The program path CAPS carries: inline when it fits in its 42-byte field with its NUL, else the
 * /proc/self/fd name of the descriptor Rosetta was handed it on (AT_EXECFD), as the original does.
 */
export function capsProgramPath(path: string, fd: number): string {
  return new TextEncoder().encode(path).length < CAPS_INLINE_PATH_MAX
    ? path
    : `/proc/self/fd/${fd}`;
}

/** What CAPS announces: the bridge's socket name, and the program Rosetta runs. */
export interface CapsInfo {
  /** The rosettad socket's name, when the bridge is served (else CAPS is all zero). */
  socket?: string;
  /** The x86-64 program's guest path and its AT_EXECFD, when known. */
  program?: string;
  execFd: number;
}

/**
 * The CAPS ioctl's 128-byte reply (layout above): byte 0 = 1, the rosettad socket name and the
 * program's path, NUL-terminated; all zero without a bridge. Byte 0 is "enable the AOT bridge" to
 * the original and "abstract socket or path" to OrbStack; 1 is what the original writes, and the
 * bridge recognises Rosetta's connect under either reading (rosettad.ts isRosettadAddress).
 */
export function capsReply(info: CapsInfo): Uint8Array {
  const reply = new Uint8Array(CAPS_SIZE);
  if (info.socket === undefined) return reply; // caps[0] = 0: no AOT bridge, Rosetta JITs only
  const enc = new TextEncoder();
  reply[0] = 1;
  reply.set(enc.encode(info.socket).subarray(0, CAPS_SOCKET_MAX - 1), CAPS_SOCKET_AT);
  if (info.program !== undefined) {
    const path = enc.encode(capsProgramPath(info.program, info.execFd));
    reply.set(path.subarray(0, CAPS_INLINE_PATH_MAX - 1), CAPS_PROGRAM_AT);
  }
  return reply;
}

/**
 * What the trapped VZ ioctls answer, for a process running Rosetta: the bytes to write to the
 * caller's buffer and the result, or undefined for any other request (it goes on as usual).
 * CHECK (either number) answers Apple's 69-byte signature when one is supplied; without it the
 * answer is ENOTTY, which Rosetta takes for "not in Apple's VM".
 */
export function vzIoctl(
  request: number,
  caps: CapsInfo,
  signature?: Uint8Array,
): { reply?: Uint8Array; result: number } | undefined {
  const ENOTTY = 25;
  switch (request >>> 0) {
    case VZ_IOCTL.CHECK:
    case VZ_IOCTL.KEY_ORBSTACK:
      return signature?.length === VZ_SIGNATURE_SIZE
        ? { reply: signature, result: 0 }
        : { result: -ENOTTY };
    case VZ_IOCTL.CAPS:
      return { reply: capsReply(caps), result: 0 };
    case VZ_IOCTL.ACTIVATE:
      return { result: 0 };
  }
  return undefined;
}

/**
 * Is this descriptor the one Rosetta checks its environment on? The original keys the trap on
 * is_rosetta plus the fd's path being Rosetta's own (Rosetta opens /proc/self/exe, which names
 * the translator): `path` is the guest path the fd was opened with.
 */
export function vzIoctlGate(path: string, rosettaGuestPath: string, pid: number): boolean {
  return path === rosettaGuestPath || path === "/proc/self/exe" || path === `/proc/${pid}/exe`;
}

/** Guest memory as the VZ answer needs it (Process satisfies it). */
export interface VzMemory {
  readonly mem: Uint8Array;
  /**
   * The slab offset of guest [addr, addr+len) for a kernel write, or -1 (EFAULT): through the
   * alias table for Rosetta's image and kbuf above the slab (AddressSpace.resolve).
   */
  resolve(addr: number, len: number, prot: number): number;
}

const PROT_WRITE = 2; // memory/vmas.ts

/** A process's Rosetta state: what the ioctl handler consults (Process.rosetta). */
export interface RosettaProcess {
  guestPath: string;
  /** What CAPS announces (the bridge's socket when it is served, the program). */
  caps: CapsInfo;
  signature?: Uint8Array;
}

/**
 * ioctl's Rosetta step: for a request on Rosetta's own descriptor, the VZ answer written to the
 * guest's buffer (EFAULT when it cannot be written) and the result; undefined for anything else,
 * which the handler treats as it always does. Called only when the request is not one elfuse
 * passes to the host, so no other ioctl pays for it.
 */
export function rosettaIoctl(
  r: RosettaProcess,
  m: VzMemory,
  pid: number,
  fdPath: string,
  request: number,
  arg: number,
): number | undefined {
  if (!vzIoctlGate(fdPath, r.guestPath, pid)) return undefined;
  const a = vzIoctl(request, r.caps, r.signature);
  if (a === undefined || a.reply === undefined) return a?.result;
  const at = m.resolve(arg, a.reply.length, PROT_WRITE);
  if (at < 0) return -14; // EFAULT
  m.mem.set(a.reply, at);
  return a.result;
}

/** The Process.vzIoctl closure for a process running Rosetta. */
export function vzIoctlFor(
  r: RosettaProcess,
  m: VzMemory,
  pid: number,
): (fdPath: string, request: number, arg: number) => number | undefined {
  return (fdPath, request, arg) => rosettaIoctl(r, m, pid, fdPath, request, arg);
}
