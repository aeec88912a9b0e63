// Non-identity guest ranges as the kernel sees them: the address space records an alias above
// the slab, hands it to a backend that can map one, and resolves copy-in/out through it.
import assert from "node:assert/strict";
import { E } from "../kernel/errno.ts";
import { libc } from "../host/libc.ts";
import { AddressSpace, HIGH_REGION, type PageMapper } from "./address_space.ts";
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

/** A mapper that records every alias call as a line, like a backend's stage-1 writes. */
function logging(): PageMapper & { log: string[] } {
  const log: string[] = [];
  const hex = (n: number) => `0x${n.toString(16)}`;
  return {
    log,
    map: () => {},
    unmap: () => {},
    protect: () => {},
    invalidateCode: () => {},
    mapAlias: (va, gpa, size, prot) => log.push(`map ${hex(va)} ${hex(gpa)} ${hex(size)} ${prot}`),
    unmapAlias: (va, size) => log.push(`unmap ${hex(va)} ${hex(size)}`),
    protectAlias: (va, gpa, size, prot) =>
      log.push(`protect ${hex(va)} ${hex(gpa)} ${hex(size)} ${prot}`),
  };
}

const JIT = 0xf000_0000_0000; // Rosetta's JIT area, near 240 TiB
const MAP_PRIVATE = 0x02, MAP_FIXED = 0x10, MAP_ANONYMOUS = 0x20, MAP_FIXED_NOREPLACE = 0x100000;
const RW = PROT_READ | PROT_WRITE;

Deno.test("MAP_FIXED above the slab: fresh slab pages seen at the address through an alias", () => {
  const as = new AddressSpace();
  const m = logging();
  as.mapper = m;
  const anon = MAP_PRIVATE | MAP_ANONYMOUS;
  assert.equal(as.mmap(JIT, 0x4000, RW, anon | MAP_FIXED, undefined, 0), JIT);
  const back = as.resolve(JIT, 0x4000, PROT_WRITE);
  assert.ok(back > 0 && back + 0x4000 <= as.size, "backed inside the slab");
  assert.deepEqual(m.log, [`map 0xf00000000000 0x${back.toString(16)} 0x4000 3`]);
  assert.equal(as.vmas.find(back)?.prot, PROT_NONE, "its backing is not the guest's to reach");
  assert.equal(as.vmas.find(back)?.name, HIGH_REGION);
  assert.ok(as.slab.u8.subarray(back, back + 0x4000).every((b) => b === 0), "zero pages");
  // MAP_FIXED_NOREPLACE over it: EEXIST; past TTBR0's 48 bits: ENOMEM.
  assert.equal(as.mmap(JIT, 0x1000, RW, anon | MAP_FIXED_NOREPLACE, undefined, 0), -E.EEXIST);
  assert.equal(as.mmap(2 ** 48 - 0x1000, 0x2000, RW, anon | MAP_FIXED, undefined, 0), -E.ENOMEM);
  // mprotect of the middle: the alias is cut in three, only the middle changes.
  m.log.length = 0;
  assert.equal(as.mprotect(JIT + 0x1000, 0x1000, PROT_READ), 0);
  assert.deepEqual(m.log, [`protect 0xf00000001000 0x${(back + 0x1000).toString(16)} 0x1000 1`]);
  assert.equal(as.resolve(JIT + 0x1000, 8, PROT_WRITE), -1, "read-only now");
  assert.equal(as.resolve(JIT + 0x2000, 8, PROT_WRITE), back + 0x2000);
  assert.equal(as.aliases.list.length, 3);
  // PROT_NONE leaves the tables; back to RW maps it again at the same backing.
  m.log.length = 0;
  assert.equal(as.mprotect(JIT, 0x1000, PROT_NONE), 0);
  assert.equal(as.mprotect(JIT, 0x1000, RW), 0);
  assert.deepEqual(m.log, [
    "unmap 0xf00000000000 0x1000",
    `map 0xf00000000000 0x${back.toString(16)} 0x1000 3`,
  ]);
  // mprotect over a hole: ENOMEM, as Linux; munmap of part, then of a hole: 0.
  assert.equal(as.mprotect(JIT, 0x8000, PROT_READ), -E.ENOMEM);
  m.log.length = 0;
  assert.equal(as.munmap(JIT + 0x3000, 0x1000), 0);
  assert.deepEqual(m.log, ["unmap 0xf00000003000 0x1000"]);
  assert.equal(as.resolve(JIT + 0x3000, 1, PROT_READ), -1);
  assert.equal(as.vmas.find(back + 0x3000), undefined, "its backing is free again");
  assert.equal(as.munmap(JIT + 0x10_0000, 0x1000), 0);
  // execve drops them all.
  as.dropAliases();
  assert.equal(as.aliases.list.length, 0);
  assert.equal(as.vmas.find(back), undefined);
});

Deno.test("a private file mapping above the slab holds a copy of the file's bytes", () => {
  const as = new AddressSpace();
  as.mapper = logging();
  const path = Deno.makeTempFileSync();
  try {
    Deno.writeTextFileSync(path, "x".repeat(0x1000) + "second page");
    // Deno gives no fd: open it the way the kernel does, through the host's libc.
    const hostFd = openRead(path);
    try {
      const file = { hostFd, size: 0x1000 + 11, name: path, writable: false };
      assert.equal(as.mmap(JIT, 0x2000, PROT_READ, MAP_PRIVATE | MAP_FIXED, file, 0x1000), JIT);
      const back = as.resolve(JIT, 11, PROT_READ);
      assert.equal(new TextDecoder().decode(as.slab.u8.subarray(back, back + 11)), "second page");
      assert.equal(as.slab.u8[back + 11], 0);
      // A shared one would need the file itself at that address.
      assert.equal(as.mmap(JIT, 0x1000, PROT_READ, 0x01 | MAP_FIXED, file, 0), -E.ENODEV);
    } finally {
      libc.close(hostFd);
    }
  } finally {
    Deno.removeSync(path);
  }
});

function openRead(path: string): number {
  const p = new TextEncoder().encode(`${path}\0`);
  const at = Number(Deno.UnsafePointer.value(Deno.UnsafePointer.of(p)));
  return libc.openat(Deno.build.os === "darwin" ? -2 : -100, at, 0, 0);
}

Deno.test("without non-identity mappings a MAP_FIXED above the slab is ENOMEM", () => {
  const as = new AddressSpace();
  as.mapper = { map: () => {}, unmap: () => {}, protect: () => {}, invalidateCode: () => {} };
  const flags = MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED;
  assert.equal(as.mmap(JIT, 0x1000, RW, flags, undefined, 0), -E.ENOMEM);
  assert.equal(as.munmap(JIT, 0x1000), 0);
  assert.equal(as.mprotect(JIT, 0x1000, PROT_READ), -E.ENOMEM);
});

Deno.test("the kbuf's TTBR1 view resolves at its signed address; the slab path is unchanged", () => {
  const as = new AddressSpace();
  as.mapper = logging();
  const KBUF = 0x1000_0000; // 256 MiB below 2^64: 0xFFFFFFFFF0000000 as a signed number
  as.recordUpperAlias(-KBUF, BACK, KBUF, RW, "[rosetta]");
  assert.equal(as.resolve(-KBUF + 0x40, 16, PROT_WRITE), BACK + 0x40);
  assert.equal(as.resolve(-16, 16, PROT_READ), BACK + KBUF - 16, "its last bytes");
  assert.equal(as.resolve(-8, 16, PROT_READ), -1, "past 2^64");
  assert.equal(as.resolve(-KBUF - 0x1000, 8, PROT_READ), -1, "below it");
  assert.throws(() => as.recordUpperAlias(HIGH, BACK, 0x1000, RW, "x"), /upper-half/);
  // An ordinary address resolves to itself only where a VMA allows it.
  as.mapFixed(0x40_0000, 0x1000, PROT_READ);
  assert.equal(as.resolve(0x40_0010, 8, PROT_READ), 0x40_0010);
  assert.equal(as.resolve(0x40_0010, 8, PROT_WRITE), -1);
});
