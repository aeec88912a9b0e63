// The rosettad AOT bridge (shared/reference/elfuse.md §1.18): Rosetta asks a daemon to translate
// an x86-64 file ahead of time over a SOCK_SEQPACKET socket whose name the CAPS ioctl gives it.
// The original intercepts that socket: Rosetta gets one end of a socketpair, a thread serves the
// other, answering from a cache of .aot files keyed by the file's SHA-256 and running Apple's
// rosettad (itself an AArch64 Linux program, under elfuse) on a miss.
//
// This file is the protocol as data: which connect is Rosetta's, what each one-byte request
// carries, the replies' bytes, the cache's file names, the translation command. The serving
// thread and the socketpair belong to the hvf backend's Rosetta path, which cannot run off a Mac
// (docs/x86_64.md); every function here is tested on Linux (rosettad_test.ts).
import { ROSETTAD_REQUEST } from "./rosetta.ts";

/** The most parameter bytes a 't' request carries after its fd. */
export const TRANSLATE_PARAMS_MAX = 256;
/** A SHA-256 digest's size: 'd' asks about one, 't''s reply carries one. */
export const DIGEST_SIZE = 32;
/** Seconds a rosettad translation may take (ELFUSE_ROSETTAD_TIMEOUT overrides). */
export const ROSETTAD_TIMEOUT_DEFAULT = 120;

const AF_UNIX = 1;
const SUN_PATH_OFFSET = 2;
const HIT = new Uint8Array([0x48, 0x49, 0x54]); // "HIT"

/**
 * Is this sockaddr_un (as the guest passed it to connect, `len` bytes) the rosettad name CAPS
 * gave Rosetta? Both readings of CAPS byte 0 are accepted (docs/x86_64.md): a filesystem path
 * (sun_path = name, NUL-terminated or not) and an abstract name (sun_path[0] = 0, then name).
 */
export function isRosettadAddress(addr: Uint8Array, len: number, name: string): boolean {
  if (len <= SUN_PATH_OFFSET || len > addr.length) return false;
  if ((addr[0] | (addr[1] << 8)) !== AF_UNIX) return false;
  let path = addr.subarray(SUN_PATH_OFFSET, len);
  if (path[0] === 0) path = path.subarray(1); // abstract: the name follows the NUL
  else {
    const nul = path.indexOf(0);
    if (nul >= 0) path = path.subarray(0, nul);
  }
  const want = new TextEncoder().encode(name);
  return path.length === want.length && path.every((b, i) => b === want[i]);
}

/** A request Rosetta sent over the bridge, decoded. */
export type RosettadRequest =
  | { op: "handshake" }
  | { op: "digest"; digest: Uint8Array }
  | { op: "translate"; fd: number; params: Uint8Array }
  | { op: "quit" };

/**
 * One SOCK_SEQPACKET message from Rosetta (its bytes and the fds SCM_RIGHTS brought) as a request,
 * or a one-line reason it is not one. '?' is the handshake, 'q' quits, 'd' + 32 bytes asks whether
 * a digest is cached, 't' brings the x86-64 file's fd and up to 256 bytes of parameters.
 */
export function parseRequest(msg: Uint8Array, fds: readonly number[]): RosettadRequest | string {
  if (msg.length === 0) return "empty message";
  const body = msg.subarray(1);
  switch (msg[0]) {
    case ROSETTAD_REQUEST.handshake:
      return { op: "handshake" };
    case ROSETTAD_REQUEST.quit:
      return { op: "quit" };
    case ROSETTAD_REQUEST.digest:
      if (body.length !== DIGEST_SIZE) return `'d' carries ${body.length} bytes, not a digest`;
      return { op: "digest", digest: body };
    case ROSETTAD_REQUEST.translate:
      if (fds.length !== 1) return `'t' brought ${fds.length} fds, not one`;
      if (body.length > TRANSLATE_PARAMS_MAX) return `'t' parameters: ${body.length} bytes`;
      return { op: "translate", fd: fds[0], params: body };
  }
  return `unknown request byte 0x${msg[0].toString(16)}`;
}

/** The handshake's answer: the three bytes "HIT". */
export function handshakeReply(): Uint8Array {
  return HIT.slice();
}

/** One message the bridge sends: its bytes and the fds it passes (SCM_RIGHTS). */
export interface BridgeMessage {
  data: Uint8Array;
  fds: number[];
}

/**
 * The answer to a translation: "HIT" and the 32-byte digest, then the .aot file's fd passed
 * with a one-byte iov (Rosetta reads the fd with exactly one byte of data; the byte's value is
 * not recorded, so it is 0).
 */
export function translateReply(digest: Uint8Array, aotFd: number): BridgeMessage[] {
  if (digest.length !== DIGEST_SIZE) throw new RangeError("a SHA-256 digest is 32 bytes");
  const data = new Uint8Array(HIT.length + DIGEST_SIZE);
  data.set(HIT);
  data.set(digest, HIT.length);
  return [{ data, fds: [] }, { data: new Uint8Array(1), fds: [aotFd] }];
}

/** A digest as the cache names it: 64 lowercase hex digits. */
export function digestHex(digest: Uint8Array): string {
  return [...digest].map((b) => b.toString(16).padStart(2, "0")).join("");
}

/** The SHA-256 of a file's bytes (the original uses CommonCrypto; WebCrypto gives the same). */
export async function fileDigest(bytes: Uint8Array<ArrayBuffer>): Promise<Uint8Array> {
  return new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
}

/** Where a translation is cached: $HOME/.cache/elfuse-rosettad/<hex>.aot. */
export function aotCachePath(home: string, digest: Uint8Array): string {
  return `${home}/.cache/elfuse-rosettad/${digestHex(digest)}.aot`;
}

/**
 * How a miss is translated: Apple's rosettad (an AArch64 Linux program) run by elfuse as
 * `elfuse ROSETTAD translate IN OUT.tmp.PID` (the original's `elfuse rosettad translate IN OUT`),
 * then renamed to OUT, so a reader never sees half a file; killed after ELFUSE_ROSETTAD_TIMEOUT
 * seconds (120 by default; a value that is not a positive number is ignored).
 */
export function translatePlan(
  rosettad: string,
  input: string,
  output: string,
  pid: number,
  env: (name: string) => string | undefined = (n) => Deno.env.get(n),
): { args: string[]; temp: string; output: string; timeoutMs: number } {
  const t = Number(env("ELFUSE_ROSETTAD_TIMEOUT"));
  const seconds = Number.isFinite(t) && t > 0 ? t : ROSETTAD_TIMEOUT_DEFAULT;
  const temp = `${output}.tmp.${pid}`;
  return { args: [rosettad, "translate", input, temp], temp, output, timeoutMs: seconds * 1000 };
}
