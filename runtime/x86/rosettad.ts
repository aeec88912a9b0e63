// The rosettad AOT bridge (shared/reference/elfuse.md §1.18): Rosetta asks a daemon to translate
// an x86-64 file ahead of time over a SOCK_SEQPACKET socket whose name the CAPS ioctl gives it.
// elfuse intercepts that connect: Rosetta's socket becomes one end of a socketpair and a Worker
// serves the other (rosettad_bridge.ts, rosettad_worker.ts), answering from a cache of .aot files
// keyed by the file's SHA-256 and running rosettad on a miss.
//
// This file is the protocol as data: which connect is Rosetta's, how its messages read as
// requests, the replies' messages, the cache's file names, the translation command. The wire is
// the one the original elfuse and hl (zw3rk/hyper-linux) serve: one-byte commands, replies of
// one byte HIT (1) or MISS (0), then for a translation the 32-byte digest and the .aot fd, each
// its own message (Rosetta reads them with separate calls; the fd comes with a one-byte iov).
// Both serve a stream socket and read a command's payload after its byte, so a payload may come
// in the command's message or in the next one: RequestReader takes either.
import { ROSETTAD_REQUEST } from "./rosetta.ts";

/** The most parameter bytes a 't' request carries with its fd. */
export const TRANSLATE_PARAMS_MAX = 256;
/** A SHA-256 digest's size: 'd' asks about one, 't''s reply carries one. */
export const DIGEST_SIZE = 32;
/** Seconds a rosettad translation may take (ELFUSE_ROSETTAD_TIMEOUT overrides). */
export const ROSETTAD_TIMEOUT_DEFAULT = 120;
/** The reply bytes: the original's ROSETTAD_RESP_HIT and ROSETTAD_RESP_MISS. */
export const HIT = 1, MISS = 0;

const AF_UNIX = 1;
const SUN_PATH_OFFSET = 2;

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

/** A message that is not a request: why, and whether the exchange can go on after a MISS. */
export interface BadRequest {
  error: string;
  /** A command's payload went astray: what follows cannot be read in step, so the bridge ends. */
  fatal: boolean;
}

/**
 * Reads Rosetta's SOCK_SEQPACKET messages (bytes and the fds SCM_RIGHTS brought) as requests:
 * '?' the handshake, 'q' quit, 'd' and 32 digest bytes, 't' and the x86-64 file's fd with up to
 * 256 parameter bytes. A 'd' or 't' alone waits for its payload in the next message (the original
 * reads the payload after the byte); with the command's byte it is read at once. One per
 * connection: it keeps the command awaiting its payload.
 */
export class RequestReader {
  #pending: number | undefined;

  /** The request `msg` completes, undefined when it only began one, or why it is not one. */
  take(msg: Uint8Array, fds: readonly number[]): RosettadRequest | BadRequest | undefined {
    const pending = this.#pending;
    this.#pending = undefined;
    if (pending !== undefined) return payload(pending, msg, fds);
    if (msg.length === 0) return { error: "empty message", fatal: false };
    const cmd = msg[0], body = msg.subarray(1);
    switch (cmd) {
      case ROSETTAD_REQUEST.handshake:
        return { op: "handshake" };
      case ROSETTAD_REQUEST.quit:
        return { op: "quit" };
      case ROSETTAD_REQUEST.digest:
      case ROSETTAD_REQUEST.translate:
        if (body.length === 0 && fds.length === 0) {
          this.#pending = cmd;
          return undefined;
        }
        return payload(cmd, body, fds);
    }
    return { error: `unknown request byte 0x${cmd.toString(16)}`, fatal: false };
  }
}

function payload(cmd: number, body: Uint8Array, fds: readonly number[]) {
  if (cmd === ROSETTAD_REQUEST.digest) {
    if (body.length !== DIGEST_SIZE || fds.length !== 0) {
      return { error: `'d' carries ${body.length} bytes, not a digest`, fatal: true };
    }
    return { op: "digest" as const, digest: body };
  }
  if (fds.length !== 1) return { error: `'t' brought ${fds.length} fds, not one`, fatal: true };
  if (body.length > TRANSLATE_PARAMS_MAX) {
    return { error: `'t' parameters: ${body.length} bytes`, fatal: true };
  }
  return { op: "translate" as const, fd: fds[0], params: body };
}

/** One message the bridge sends: its bytes and the fds it passes (SCM_RIGHTS). */
export interface BridgeMessage {
  data: Uint8Array;
  fds: number[];
}

const one = (b: number): BridgeMessage => ({ data: new Uint8Array([b]), fds: [] });

/** The handshake's answer, and any refusal: one byte. */
export function handshakeReply(): BridgeMessage[] {
  return [one(HIT)];
}

/** A miss, a failed translation or a bad request: one byte MISS. */
export function missReply(): BridgeMessage[] {
  return [one(MISS)];
}

/**
 * A cached translation found by 'd' (the digest, when given: a translation's answer). HIT, the
 * digest for a translation (Rosetta keeps it to ask 'd' next time), then the .aot file's fd with a
 * one-byte iov (Rosetta reads the fd with exactly one byte of data; its value is 0).
 */
export function aotReply(aotFd: number, digest?: Uint8Array): BridgeMessage[] {
  if (digest !== undefined && digest.length !== DIGEST_SIZE) {
    throw new RangeError("a SHA-256 digest is 32 bytes");
  }
  const out = [one(HIT)];
  if (digest !== undefined) out.push({ data: digest.slice(), fds: [] });
  out.push({ data: new Uint8Array(1), fds: [aotFd] });
  return out;
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

/** How long a translation may take: ELFUSE_ROSETTAD_TIMEOUT seconds, else 120. */
export function translateTimeoutMs(
  env: (name: string) => string | undefined = (n) => Deno.env.get(n),
): number {
  const t = Number(env("ELFUSE_ROSETTAD_TIMEOUT"));
  return (Number.isFinite(t) && t > 0 ? t : ROSETTAD_TIMEOUT_DEFAULT) * 1000;
}

/**
 * How a miss is translated: `command` (Apple's rosettad run by elfuse, rosettad_bridge.ts) with
 * `translate IN OUT.tmp.TAG` (the original's `elfuse rosettad translate IN OUT`), then renamed to
 * OUT, so a reader never sees half a file. TAG (pid and a count) is unique to this translation,
 * so concurrent ones, here or in another elfuse, never share a temporary file.
 */
export function translatePlan(
  command: readonly string[],
  input: string,
  output: string,
  tag: string,
): { args: string[]; temp: string; output: string } {
  const temp = `${output}.tmp.${tag}`;
  return { args: [...command, "translate", input, temp], temp, output };
}
