import assert from "node:assert/strict";
import { AddressSpace } from "./address_space.ts";
import { Slab } from "./slab.ts";
import { Snapshot } from "./snapshot.ts";
import { PROT_EXEC, PROT_READ, PROT_WRITE } from "./vmas.ts";
import { touchedRuns } from "../host/pagemap.ts";
import { libc } from "../host/libc.ts";

const RW = PROT_READ | PROT_WRITE, RX = PROT_READ | PROT_EXEC;
const spans = (as: AddressSpace) => as.vmas.list.map((v) => [v.start, v.end, v.prot, v.name]);

function space(): AddressSpace {
  const as = new AddressSpace(new Slab(64 << 20));
  as.mapFixed(0x10000, 0x4000, RX, "code");
  as.mapFixed(0x20000, 0x10000, RW, "[heap]");
  as.slab.u8.fill(0xc0, 0x10000, 0x14000);
  as.slab.u8.fill(0x11, 0x20000, 0x21000);
  as.slab.u8[0x2f000] = 0x22; // one more touched page, far from the first
  as.brkStart = 0x20000;
  as.brkEnd = 0x30000;
  return as;
}

Deno.test("snapshot: a child's writes to writable memory are undone, mappings kept", () => {
  const as = space();
  const before = spans(as);
  const snap = new Snapshot(as, false);
  as.slab.u8.fill(0x99, 0x20000, 0x30000); // every page, also those that were zero
  as.brkEnd = 0x31000;
  snap.restore();
  assert.deepEqual(spans(as), before);
  assert.equal(as.slab.u8[0x20000], 0x11);
  assert.equal(as.slab.u8[0x25000], 0, "a page that was untouched is zero again");
  assert.equal(as.slab.u8[0x2f000], 0x22);
  assert.equal(as.brkEnd, 0x30000);
  assert.equal(as.beforeChange, undefined);
});

Deno.test("snapshot: mappings the child replaced (exec, munmap, mmap) come back whole", () => {
  const as = space();
  const before = spans(as);
  const snap = new Snapshot(as, false);
  as.munmap(0, as.size); // what execve does first
  as.mapFixed(0x10000, 0x8000, RW, "new");
  as.slab.u8.fill(0x77, 0x10000, 0x18000);
  snap.restore();
  assert.deepEqual(spans(as), before);
  assert.equal(as.slab.u8[0x10000], 0xc0, "read-only code saved just before it was replaced");
  assert.equal(as.slab.u8[0x13fff], 0xc0);
  assert.equal(as.slab.u8[0x20000], 0x11);
  assert.equal(as.slab.u8[0x15000], 0, "nothing left of the child's mapping");
});

Deno.test("snapshot: shared (vfork) memory keeps the child's writes unless it remaps", () => {
  const as = space();
  new Snapshot(as, true).restore();
  const shared = new Snapshot(as, true);
  as.slab.u8[0x20010] = 0x42;
  shared.restore();
  assert.equal(as.slab.u8[0x20010], 0x42, "vfork: the parent sees what the child wrote");
  const remapped = new Snapshot(as, true);
  as.slab.u8[0x20020] = 0x43;
  as.munmap(0, as.size);
  remapped.restore();
  assert.equal(as.slab.u8[0x20020], 0x43, "saved at the exec, with the child's writes before it");
  assert.equal(as.slab.u8[0x10000], 0xc0);
});

Deno.test("touchedRuns reports the pages that hold data, in runs", () => {
  const as = new AddressSpace(new Slab(16 << 20));
  const base = as.slab.base + 0x100000;
  as.slab.u8[0x100000] = 1;
  as.slab.u8[0x101000] = 1;
  as.slab.u8[0x105000] = 1;
  const runs: [number, number][] = [];
  touchedRuns(base, 0x8000, (o, n) => runs.push([o, n]));
  if (Deno.build.os === "linux") assert.deepEqual(runs, [[0, 0x2000], [0x5000, 0x1000]]);
  else assert.deepEqual(runs, [[0, 0x8000]]);
});

Deno.test("dataRuns: file-backed parts count whole, anonymous parts by touched pages", () => {
  const as = new AddressSpace(new Slab(16 << 20));
  const path = Deno.makeTempFileSync();
  Deno.writeFileSync(path, new Uint8Array(0x2000).fill(5));
  const enc = new TextEncoder().encode(path + "\0");
  const fd = libc.openat(-100, Number(Deno.UnsafePointer.value(Deno.UnsafePointer.of(enc))), 0, 0);
  try {
    assert.ok(as.mapHostFilePrivate(0x200000, 0x2000, PROT_READ, path, fd, 0));
    as.mapFixed(0x202000, 0x4000, RW);
    as.slab.u8[0x204000] = 1;
    const runs: [number, number][] = [];
    as.dataRuns(0x200000, 0x206000, (s, n) => runs.push([s, n]));
    if (Deno.build.os === "linux") {
      assert.deepEqual(runs, [[0x200000, 0x2000], [0x204000, 0x1000]]);
    }
    assert.deepEqual(as.slab.fileRanges(0x100000, 0x300000), [[0x200000, 0x202000]]);
    as.munmap(0x200000, 0x1000);
    assert.deepEqual(as.slab.fileRanges(0x100000, 0x300000), [[0x201000, 0x202000]]);
  } finally {
    libc.close(fd);
    Deno.removeSync(path);
  }
});

Deno.test("snapshot: a child that execs the same program gets the parent's state back", () => {
  const as = space();
  const before = spans(as);
  const snap = new Snapshot(as, false);
  as.munmap(0, as.size);
  as.mapFixed(0x10000, 0x4000, RX, "code"); // the same program again
  as.slab.u8.fill(0xc0, 0x10000, 0x14000);
  as.mapFixed(0x20000, 0x10000, RW, "[heap]");
  as.slab.u8.fill(0x33, 0x20000, 0x30000);
  as.mapFixed(0x40000, 0x1000, RX, "more code");
  as.slab.u8.fill(0x44, 0x40000, 0x41000);
  snap.restore();
  assert.deepEqual(spans(as), before);
  assert.equal(as.slab.u8[0x13fff], 0xc0);
  assert.equal(as.slab.u8[0x20000], 0x11);
  assert.equal(as.slab.u8[0x25000], 0);
  assert.equal(as.slab.u8[0x40000], 0, "the child's extra mapping is gone");
});
