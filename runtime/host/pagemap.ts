// Which pages of an anonymous private host mapping hold data. Linux's /proc/self/pagemap has one
// 64-bit entry per page: bit 63 "present", bit 62 "swapped" (Documentation/admin-guide/mm/
// pagemap.rst); a page with neither was never touched and reads as zero, so copying memory
// (fork state, in-process fork snapshots) can skip it. Elsewhere every page counts as touched.
import { libc, Scratch } from "./libc.ts";

const PAGE = 4096;
const CHUNK_PAGES = 8192;
let fd: number | undefined;
let buf: Scratch | undefined;

function open(): number {
  if (fd !== undefined) return fd;
  fd = -1;
  if (Deno.build.os !== "linux") return fd;
  buf = new Scratch(CHUNK_PAGES * 8);
  const path = new TextEncoder().encode("/proc/self/pagemap\0");
  const p = Number(Deno.UnsafePointer.value(Deno.UnsafePointer.of(path)));
  fd = libc.openat(-100, p, 0o2000000, /* O_RDONLY | O_CLOEXEC */ 0);
  return fd;
}

/**
 * Calls `run(offset, length)` for each run of touched pages in the page-aligned host range
 * [hostAddr, hostAddr + len), offsets relative to hostAddr; the whole range when the host
 * cannot tell.
 */
export function touchedRuns(
  hostAddr: number,
  len: number,
  run: (offset: number, length: number) => void,
): void {
  const f = open();
  if (f < 0 || buf === undefined) {
    run(0, len);
    return;
  }
  const pages = len / PAGE;
  let runStart = -1;
  for (let first = 0; first < pages; first += CHUNK_PAGES) {
    const n = Math.min(CHUNK_PAGES, pages - first);
    const want = n * 8;
    const got = Number(
      libc.pread(f, BigInt(buf.address), BigInt(want), BigInt((hostAddr / PAGE + first) * 8)),
    );
    if (got !== want) {
      // Unreadable (a restricted /proc): count the rest as touched.
      if (runStart < 0) runStart = first;
      run(runStart * PAGE, len - runStart * PAGE);
      return;
    }
    const v = buf.view;
    for (let i = 0; i < n; i++) {
      const touched = (v.getUint32(i * 8 + 4, true) >>> 30) !== 0; // bits 62 and 63
      const page = first + i;
      if (touched && runStart < 0) runStart = page;
      else if (!touched && runStart >= 0) {
        run(runStart * PAGE, (page - runStart) * PAGE);
        runStart = -1;
      }
    }
  }
  if (runStart >= 0) run(runStart * PAGE, (pages - runStart) * PAGE);
}
