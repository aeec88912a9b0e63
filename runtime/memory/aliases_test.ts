// Non-identity guest ranges as the kernel sees them: the address space records an alias above
// the slab, hands it to a backend that can map one, and resolves copy-in/out through it.
import assert from "node:assert/strict";
import { E } from "../kernel/errno.ts";
import { AddressSpace, type PageMapper } from "./address_space.ts";
import { PROT_EXEC, PROT_NONE, PROT_READ, PROT_WRITE } from "./vmas.ts";

const HIGH = 0x8000_0000_0000, BACK = 0x1000_0000;

function recording(): PageMapper & { aliases: number[][] } {
  const aliases: number[][] = [];
  return {
    aliases,
    map: () => {},
    unmap: () => {},
    protect: () => {},
    invalidateCode: () => {},
    mapAlias: (va, gpa, size, prot) => aliases.push([va, gpa, size, prot]),
  };
}

Deno.test("an alias above the slab resolves to its backing; ordinary addresses stay identity", () => {
  const as = new AddressSpace();
  const m = recording();
  as.mapper = m;
  as.mapAlias(HIGH, BACK, 0x3000, PROT_READ | PROT_EXEC, "[rosetta]");
  as.mapAlias(HIGH + 0x10_0000, BACK + 0x3000, 0x1000, PROT_READ | PROT_WRITE, "[rosetta]");
  assert.deepEqual(m.aliases[0], [HIGH, BACK, 0x3000, PROT_READ | PROT_EXEC]);
  assert.equal(as.resolve(HIGH + 0x10, 8, PROT_READ), BACK + 0x10);
  assert.equal(as.resolve(HIGH + 0x10, 8, PROT_WRITE), -1, "read-only alias");
  assert.equal(as.resolve(HIGH + 0x2ffc, 8, PROT_READ), -1, "runs off its end");
  assert.equal(as.resolve(HIGH + 0x10_0008, 8, PROT_WRITE), BACK + 0x3008);
  assert.equal(as.resolve(HIGH + 0x8000, 1, PROT_READ), -1, "between aliases");
  // The backing is a PROT_NONE VMA: the guest cannot reach it at its identity address, and
  // mmap will not hand it out.
  assert.equal(as.vmas.find(BACK)?.prot, PROT_NONE);
  assert.equal(as.resolve(BACK, 8, PROT_READ), -1);
  assert.equal(as.resolve(BACK - 0x1000, 8, PROT_READ), -1, "unmapped identity: EFAULT");
  assert.throws(() => as.mapAlias(HIGH + 0x1000, BACK + 0x8000, 0x1000, PROT_READ, "x"), /overlap/);
  assert.throws(() => as.mapAlias(HIGH + 0x20_0000, BACK, 0x1000, PROT_READ, "x"), /in use/);
  assert.throws(() => as.mapAlias(0x4000, 0x8000, 0x1000, PROT_READ, "x"), /above the slab/);
});

Deno.test("a string in an alias is found in its backing bytes", () => {
  const as = new AddressSpace();
  as.mapper = recording();
  as.mapAlias(HIGH, BACK, 0x1000, PROT_READ, "[rosetta]");
  const u8 = as.slab.u8;
  u8.set(new TextEncoder().encode("/proc/self/exe\0"), BACK + 0x20);
  assert.equal(as.aliases.strlen(u8, HIGH + 0x20, 4096), 14);
  assert.equal(as.aliases.strlen(u8, HIGH + 0x20, 10), -E.ENAMETOOLONG);
  u8.fill(0x41, BACK + 0xff0, BACK + 0x1000); // unterminated at the alias's end
  assert.equal(as.aliases.strlen(u8, HIGH + 0xff0, 4096), -E.EFAULT);
  assert.equal(as.aliases.strlen(u8, HIGH + 0x2000, 4096), -E.EFAULT, "no alias there");
});

Deno.test("a backend without non-identity mappings refuses an alias in one line", () => {
  const as = new AddressSpace();
  as.mapper = { map: () => {}, unmap: () => {}, protect: () => {}, invalidateCode: () => {} };
  assert.throws(() => as.mapAlias(HIGH, BACK, 0x1000, PROT_READ, "x"), /cannot map a VA/);
  assert.equal(as.aliases.list.length, 0);
});
