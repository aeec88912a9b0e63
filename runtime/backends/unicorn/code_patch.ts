// Finding and rewriting a few bytes of libunicorn's machine code in this process's memory (the
// file on disk is never touched): what fast_stores.ts and exit_checks.ts share.
import { libc } from "../../host/libc.ts";

const PAGE = 4096;
const PROT_READ = 1, PROT_WRITE = 2, PROT_EXEC = 4;

/** Offsets in `code` where `site` starts. */
export function findSites(code: Uint8Array, site: Uint8Array): number[] {
  const hits: number[] = [];
  const last = code.length - site.length;
  outer: for (let i = 0; i <= last; i++) {
    for (let j = 0; j < site.length; j++) if (code[i + j] !== site[j]) continue outer;
    hits.push(i);
  }
  return hits;
}

/**
 * Writes `bytes` at `code[at]`, where `code` views loaded code starting at host address `base`:
 * its pages are made writable for the write and read+execute again after. False when they cannot
 * be made writable.
 */
export function writeCode(code: Uint8Array, base: number, at: number, bytes: Uint8Array): boolean {
  const address = base + at;
  const page = address - address % PAGE;
  const length = address + bytes.length > page + PAGE ? 2 * PAGE : PAGE;
  if (libc.mprotect(page, length, PROT_READ | PROT_WRITE | PROT_EXEC) !== 0) return false;
  code.set(bytes, at);
  libc.mprotect(page, length, PROT_READ | PROT_EXEC);
  return true;
}
