import assert from "node:assert/strict";
import { E } from "../kernel/errno.ts";
import { AddressSpace, type PageMapper } from "./address_space.ts";
import { PROT_READ, PROT_WRITE } from "./vmas.ts";

const MAP_PRIVATE = 0x02, MAP_FIXED = 0x10, MAP_ANONYMOUS = 0x20, MAP_FIXED_NOREPLACE = 0x100000;
const MREMAP_MAYMOVE = 1, MREMAP_FIXED = 2;
const RW = PROT_READ | PROT_WRITE;

/** A backend that keeps [RESERVED, RESERVED + 16 MiB) for itself and refuses calls touching it. */
const RESERVED = 0xf_fb00_0000, RESERVED_END = RESERVED + (16 << 20);
function reservingMapper(): PageMapper {
  const check = (gpa: number, size: number) => {
    if (gpa < RESERVED_END && gpa + size > RESERVED) throw new Error("reserved range touched");
  };
  return {
    reserved: [[RESERVED, RESERVED_END]],
    map: check,
    unmap: check,
    protect: check,
    invalidateCode: () => {},
  };
}

Deno.test("a range the backend reserves is never the guest's: ENOMEM or EINVAL, as beyond TASK_SIZE", () => {
  const as = new AddressSpace();
  as.mapper = reservingMapper();
  const anon = MAP_PRIVATE | MAP_ANONYMOUS;
  assert.equal(as.mmap(RESERVED, 4096, RW, anon | MAP_FIXED, undefined, 0), -E.ENOMEM);
  assert.equal(as.mmap(RESERVED - 4096, 8192, RW, anon | MAP_FIXED, undefined, 0), -E.ENOMEM);
  assert.equal(as.mmap(RESERVED, 4096, RW, anon | MAP_FIXED_NOREPLACE, undefined, 0), -E.ENOMEM);
  // A hint there is only a hint: the mapping goes elsewhere.
  const hinted = as.mmap(RESERVED, 4096, RW, anon, undefined, 0);
  assert.ok(hinted > 0 && (hinted + 4096 <= RESERVED || hinted >= RESERVED_END), String(hinted));
  // Right below it: fine, but it cannot grow into it in place, and a fixed move cannot land there.
  const below = as.mmap(RESERVED - 4096, 4096, RW, anon | MAP_FIXED, undefined, 0);
  assert.equal(below, RESERVED - 4096);
  const grown = as.mremap(below, 4096, 8192, MREMAP_MAYMOVE, 0);
  assert.ok(grown > 0 && grown !== below, "moved, not grown into the reserved range");
  assert.equal(as.mremap(grown, 8192, 8192, MREMAP_MAYMOVE | MREMAP_FIXED, RESERVED), -E.EINVAL);
  assert.equal(as.mremap(grown, 8192, 4096, 0, 0), grown, "a shrink is still fine");
  // Nothing is there to unmap, protect or advise.
  assert.equal(as.munmap(RESERVED, 4096), 0);
  assert.equal(as.mprotect(RESERVED, 4096, PROT_READ), -E.ENOMEM);
  assert.equal(as.madvise(RESERVED, 4096, 4), -E.ENOMEM);
});

Deno.test("brk stops short of a reserved range", () => {
  const as = new AddressSpace();
  as.mapper = reservingMapper();
  as.brkStart = as.brkEnd = RESERVED - (1 << 20);
  assert.equal(as.brk(RESERVED - 4096), RESERVED - 4096);
  assert.equal(as.brk(RESERVED + 4096), RESERVED - 4096, "the old break: no room");
});
