// Apple's 69-byte VZ signature, which Rosetta's CHECK ioctl expects (rosetta.ts VZ_IOCTL): it is
// Apple's, so elfuse never carries it. It is read at run time on the user's Mac, and only there:
//
// - ELFUSE_VZ_SIGNATURE_FILE: a file holding exactly the 69 bytes, or a binary to search for
//   them (such as the Virtualization framework's binary extracted from the dyld shared cache,
//   where macOS 11 and later keep it: no file of its own on disk).
// - Otherwise Rosetta's own binary: Rosetta compares the answer with a copy it carries, which is
//   how carrick finds it (carrick-sh/carrick, crates/carrick-runtime: "sourced live from the
//   installed Rosetta binary"); OrbStack's notes call it a static key that can be extracted from
//   the Virtualization framework (orbstack/swift-nio docs/private-apis.md).
//
// What is checked is its shape as those sources describe it, never its text: 68 bytes of UTF-8
// text in lines, the last one a copyright line starting with U+00A9, then a NUL. Without one, CHECK
// answers ENOTTY and Rosetta stops (docs/x86_64.md, "Apple's signature").
import { VZ_SIGNATURE_SIZE } from "./rosetta.ts";

const NUL = 0, NEWLINE = 0x0a;
/** "©" in UTF-8: the copyright line's first bytes. */
const COPYRIGHT = [0xc2, 0xa9];
/** Larger files are not searched (the dyld shared cache is gigabytes: extract the framework). */
export const MAX_SEARCHED = 256 * 1024 * 1024;

/** A byte that can be part of the signature's text: printable ASCII, newline, or UTF-8. */
function isText(b: number): boolean {
  return (b >= 0x20 && b < 0x7f) || b === NEWLINE || b >= 0x80;
}

/** Why `bytes` is not shaped as the VZ signature (undefined: it is). */
export function signatureShapeProblem(bytes: Uint8Array): string | undefined {
  if (bytes.length !== VZ_SIGNATURE_SIZE) {
    return `${bytes.length} bytes, not ${VZ_SIGNATURE_SIZE}`;
  }
  const text = bytes.subarray(0, VZ_SIGNATURE_SIZE - 1);
  if (bytes[VZ_SIGNATURE_SIZE - 1] !== NUL) return "not NUL-terminated";
  if (!text.every(isText)) return "not text";
  let s: string;
  try {
    s = new TextDecoder("utf-8", { fatal: true }).decode(text);
  } catch {
    return "not UTF-8";
  }
  const lines = s.split("\n");
  if (lines.length < 3) return "fewer than three lines";
  if (!lines[lines.length - 1].startsWith("\u00a9")) return "no closing copyright line";
  return undefined;
}

/**
 * Searches a binary for the signature: a NUL-terminated string, starting right after a byte
 * that is not text, of the right shape. Returns it, or why not (none, or several that differ).
 */
export function findSignature(file: Uint8Array): Uint8Array | { error: string } {
  let found: Uint8Array | undefined;
  for (let i = file.indexOf(COPYRIGHT[0]); i >= 0; i = file.indexOf(COPYRIGHT[0], i + 1)) {
    if (file[i + 1] !== COPYRIGHT[1] || i === 0 || file[i - 1] !== NEWLINE) continue;
    const end = file.indexOf(NUL, i); // the NUL
    const start = end + 1 - VZ_SIGNATURE_SIZE;
    if (end < 0 || start < 0 || start > i) continue;
    if (start > 0 && isText(file[start - 1])) continue; // a longer string
    const candidate = file.subarray(start, end + 1);
    if (signatureShapeProblem(candidate) !== undefined) continue;
    if (found !== undefined && !found.every((b, j) => b === candidate[j])) {
      return { error: "more than one string has the signature's shape" };
    }
    found = candidate.slice();
  }
  return found ?? { error: "no string has the signature's shape" };
}

/** Where the signature came from, or why there is none (for -v and the selftest). */
export interface SignatureLookup {
  signature?: Uint8Array;
  source: string;
}

/**
 * The signature for a run: from ELFUSE_VZ_SIGNATURE_FILE when set (the whole file, or searched),
 * else searched for in `rosettaBinary` (Apple's Rosetta; undefined for a stand-in). Read once per
 * run by the caller (Runtime.vzSignature); a file that cannot be read or searched says why.
 */
export function lookUpSignature(
  env: (name: string) => string | undefined,
  rosettaBinary: string | undefined,
): SignatureLookup {
  const named = env("ELFUSE_VZ_SIGNATURE_FILE") || undefined;
  const path = named ?? rosettaBinary;
  if (path === undefined) return { source: "ELFUSE_VZ_SIGNATURE_FILE is not set" };
  const what = named !== undefined ? `ELFUSE_VZ_SIGNATURE_FILE ${named}` : path;
  let bytes: Uint8Array;
  try {
    const size = Deno.statSync(path).size;
    if (size > MAX_SEARCHED) return { source: `${what}: too large to search` };
    bytes = Deno.readFileSync(path);
  } catch (e) {
    return { source: `${what}: ${(e as Error).message.split("\n")[0]}` };
  }
  if (bytes.length === VZ_SIGNATURE_SIZE) {
    const problem = signatureShapeProblem(bytes);
    return problem === undefined ? { signature: bytes, source: what } : {
      source: `${what}: ${problem}`,
    };
  }
  const found = findSignature(bytes);
  return "error" in found
    ? { source: `${what}: ${found.error}` }
    : { signature: found, source: `${what} (searched)` };
}
