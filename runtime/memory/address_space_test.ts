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

/** This process's resident memory in bytes (Linux). */
function rss(): number {
  return Number(Deno.readTextFileSync("/proc/self/statm").split(" ")[1]) * 4096;
}

Deno.test({
  name: "mremap moves a mostly untouched mapping without committing its size (found by the fuzzer)",
  ignore: Deno.build.os !== "linux",
  fn() {
    const as = new AddressSpace();
    const len = 1 << 30;
    const a = as.mmap(0, len, RW, MAP_PRIVATE | MAP_ANONYMOUS, undefined, 0);
    as.slab.u8[a] = 1;
    as.slab.u8[a + len - 1] = 2;
    // A neighbour right after it, so that growing must move it.
    assert.equal(
      as.mmap(a + len, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, undefined, 0),
      a + len,
    );
    const before = rss();
    const b = as.mremap(a, len, len + 4096, MREMAP_MAYMOVE, 0);
    assert.ok(b > 0 && b !== a, String(b));
    assert.equal(as.slab.u8[b], 1);
    assert.equal(as.slab.u8[b + len - 1], 2);
    assert.equal(as.slab.u8[b + len / 2], 0);
    const grown = rss() - before;
    assert.ok(grown < 64 << 20, `the move committed ${grown >> 20} MiB for two touched pages`);
    as.munmap(b, len + 4096);
  },
});
