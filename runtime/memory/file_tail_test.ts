// Pages of a file mapping wholly past the file's end stay out of the backend (address_space.ts
// FileTail): a fault there is SIGBUS until the file grows over the page, and a shrink takes pages
// back out. The backend here only records what it is told.
import assert from "node:assert/strict";
import { libc } from "../host/libc.ts";
import { AddressSpace, type PageMapper } from "./address_space.ts";
import { Slab } from "./slab.ts";
import { PROT_READ, PROT_WRITE } from "./vmas.ts";

const MAP_SHARED = 0x01, MAP_FIXED = 0x10, PG = 4096;

/** The guest pages the backend has mapped, as a set of page addresses. */
function recordingMapper(): PageMapper & { pages: Set<number> } {
  const pages = new Set<number>();
  const each = (gpa: number, size: number, f: (p: number) => void) => {
    for (let p = gpa; p < gpa + size; p += PG) f(p);
  };
  return {
    pages,
    map: (gpa, size) => each(gpa, size, (p) => pages.add(p)),
    unmap: (gpa, size) =>
      each(gpa, size, (p) => {
        if (!pages.delete(p)) throw new Error(`unmap of a page never mapped: ${p.toString(16)}`);
      }),
    protect: (gpa, size) =>
      each(gpa, size, (p) => {
        if (!pages.has(p)) throw new Error(`protect of a page never mapped: ${p.toString(16)}`);
      }),
    invalidateCode: () => {},
  };
}

Deno.test("a shared file mapping past the file's end: SIGBUS there, mapped once it grows, out after a shrink", () => {
  const path = Deno.makeTempFileSync();
  Deno.writeFileSync(path, new Uint8Array(5));
  const enc = new TextEncoder().encode(path + "\0");
  const hostFd = libc.openat(
    -100,
    Number(Deno.UnsafePointer.value(Deno.UnsafePointer.of(enc))),
    2,
    0,
  );
  try {
    const as = new AddressSpace(new Slab(16 << 20));
    const mapper = recordingMapper();
    as.mapper = mapper;
    const rw = PROT_READ | PROT_WRITE;
    const f = { hostFd, size: 5, name: path, writable: true };
    const at = as.mmap(0x200000, 3 * PG, rw, MAP_SHARED | MAP_FIXED, f, 0);
    assert.equal(at, 0x200000);
    assert.deepEqual([...mapper.pages], [at], "only the page holding the end");
    assert.equal(as.fileTailFault(at + PG, "read"), "sigbus");
    assert.equal(as.fileTailFault(at + 10, "read"), "none", "not a fault of the tail");
    Deno.truncateSync(path, PG + 1);
    assert.equal(as.fileTailFault(at + PG, "write"), "mapped");
    assert.deepEqual([...mapper.pages].sort(), [at, at + PG]);
    assert.equal(as.fileTailFault(at + 2 * PG, "read"), "sigbus");
    // mprotect and munmap never touch the pages the backend does not have (the mapper throws).
    assert.equal(as.mprotect(at, 3 * PG, PROT_READ), 0);
    Deno.truncateSync(path, 1);
    as.fileShrank();
    assert.deepEqual([...mapper.pages], [at]);
    assert.equal(as.fileTailFault(at + PG, "read"), "sigbus");
    assert.equal(as.fileTailFault(at + PG, "write"), "none", "read-only now: a permission fault");
    assert.equal(as.munmap(at, 3 * PG), 0);
    assert.equal(mapper.pages.size, 0);
  } finally {
    libc.close(hostFd);
    Deno.removeSync(path);
  }
});
