// The page-table builder checked against an independent walker written here from the Arm ARM
// (VMSAv8-64, 4 KiB granule, 48-bit VA; D8.2 translation, D8.4 AP/XN rules), using BigInt
// descriptors rather than the builder's 32-bit halves.
import assert from "node:assert/strict";
import { PROT_EXEC, PROT_READ, PROT_WRITE } from "../../memory/vmas.ts";
import { PageTables } from "./page_tables.ts";

interface Perm {
  r: boolean;
  w: boolean;
  x: boolean;
}
interface Walk {
  pa: bigint;
  el0: Perm;
  el1: Perm;
  level: number;
}

/** Translates va through the tables at root the way the MMU would; undefined = translation fault. */
function walk(mem: DataView, root: bigint, va: bigint): Walk | undefined {
  let table = root;
  for (let level = 0; level <= 3; level++) {
    const shift = BigInt(12 + 9 * (3 - level));
    const idx = (va >> shift) & 511n;
    const d = mem.getBigUint64(Number(table + idx * 8n), true);
    if ((d & 1n) === 0n) return undefined;
    const isTableOrPage = (d & 2n) !== 0n;
    if (level < 3 && isTableOrPage) {
      table = d & 0x0000_ffff_ffff_f000n;
      continue;
    }
    if (level === 3 && !isTableOrPage) return undefined; // reserved encoding at level 3
    if (level === 0) return undefined; // no level-0 blocks with a 4 KiB granule
    if ((d & (1n << 10n)) === 0n) return undefined; // access flag fault (treated as a fault)
    const outMask = level === 3
      ? 0xffff_ffff_f000n
      : level === 2
      ? 0xffff_ffe0_0000n
      : 0xffff_c000_0000n;
    const off = va & ((1n << shift) - 1n);
    const ap = Number((d >> 6n) & 3n);
    const uxn = (d >> 54n) & 1n, pxn = (d >> 53n) & 1n;
    const el0w = ap === 1;
    return {
      pa: (d & outMask) | off,
      level,
      el0: { r: ap === 1 || ap === 3, w: el0w, x: uxn === 0n },
      // EL1 cannot execute EL0-writable memory (implicit PXN, D8.4.1.2).
      el1: { r: true, w: ap === 0 || ap === 1, x: pxn === 0n && !el0w },
    };
  }
  return undefined;
}

const POOL = 0x10_0000, POOL_SIZE = 0x40_0000;
function fresh(): { mem: DataView; pt: PageTables } {
  const mem = new DataView(new ArrayBuffer(POOL + POOL_SIZE));
  return { mem, pt: new PageTables(mem, POOL, POOL_SIZE) };
}

function expectUser(mem: DataView, pt: PageTables, va: number, prot: number | undefined): void {
  const w = walk(mem, BigInt(pt.root), BigInt(va) + 0x123n);
  const where = `va 0x${va.toString(16)} prot ${prot}`;
  if (prot === undefined || prot === 0) {
    assert.equal(w, undefined, `${where} should not translate`);
    return;
  }
  assert.ok(w, `${where} should translate`);
  assert.equal(w.pa, BigInt(va) + 0x123n, `${where}: identity`);
  assert.equal(w.el0.r, true, `${where}: readable at EL0`);
  assert.equal(w.el0.w, (prot & PROT_WRITE) !== 0, `${where}: EL0 write`);
  // W^X: a writable+executable VMA starts writable and not executable.
  const x = (prot & PROT_EXEC) !== 0 && (prot & PROT_WRITE) === 0;
  assert.equal(w.el0.x, x, `${where}: EL0 exec`);
  assert.equal(w.el1.x, false, `${where}: EL1 never executes guest pages`);
}

Deno.test("page tables: every VMA page translates with its permissions, holes do not", () => {
  const { mem, pt } = fresh();
  // A model of the address space: page number -> prot.
  const model = new Map<number, number>();
  const set = (va: number, size: number, prot: number | undefined) => {
    for (let p = va; p < va + size; p += 4096) {
      if (prot === undefined) model.delete(p / 4096);
      else model.set(p / 4096, prot);
    }
  };
  let seed = 12345;
  const rnd = (n: number) => {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    return seed % n;
  };
  const prots = [
    PROT_READ,
    PROT_READ | PROT_WRITE,
    PROT_READ | PROT_EXEC,
    0,
    PROT_WRITE | PROT_EXEC | PROT_READ,
  ];
  const bases = [0x40_0000, 0xa_aaa0_0000, 0xf_ff00_0000, 0x7_ffe0_0000];
  for (let i = 0; i < 300; i++) {
    const base = bases[rnd(bases.length)] + rnd(1024) * 4096;
    // Sizes from one page to a few 2 MiB blocks, sometimes block-aligned.
    const aligned = rnd(4) === 0;
    const va = aligned ? base - (base % 0x20_0000) : base;
    const size = rnd(3) === 0 ? 0x20_0000 * (1 + rnd(3)) : 4096 * (1 + rnd(700));
    const op = rnd(3);
    if (op === 2) {
      pt.unmap(va, size);
      set(va, size, undefined);
    } else {
      const prot = prots[rnd(prots.length)];
      if (op === 0) pt.map(va, size, prot);
      else pt.protect(va, size, prot);
      set(va, size, prot);
    }
  }
  // Check every page of every touched region, plus guard pages around them.
  for (const base of bases) {
    const lo = base - (base % 0x20_0000) - 0x20_0000;
    for (let va = lo; va < lo + 0x100_0000; va += 4096) {
      const prot = model.get(va / 4096);
      expectUser(mem, pt, va, prot);
      assert.equal(pt.protOf(va), prot, `protOf 0x${va.toString(16)}`);
    }
  }
  // Far away addresses never translate.
  for (const va of [0, 0x1000, 0x1_0000_0000, 0xffff_ffff_f000]) expectUser(mem, pt, va, undefined);
});

Deno.test("page tables: whole 2 MiB ranges use blocks, partial ones split, refolding frees tables", () => {
  const { mem, pt } = fresh();
  pt.map(0x40_0000, 0x40_0000, PROT_READ | PROT_WRITE);
  const tablesBlocks = pt.tablesInUse; // L0, L1, L2 only
  assert.equal(tablesBlocks, 3);
  assert.equal(walk(mem, BigInt(pt.root), 0x40_1000n)?.level, 2);
  pt.protect(0x40_1000, 0x1000, PROT_READ);
  assert.equal(pt.tablesInUse, 4, "one split");
  assert.equal(walk(mem, BigInt(pt.root), 0x40_1000n)?.level, 3);
  expectUser(mem, pt, 0x40_0000, PROT_READ | PROT_WRITE);
  expectUser(mem, pt, 0x40_1000, PROT_READ);
  expectUser(mem, pt, 0x40_2000, PROT_READ | PROT_WRITE);
  expectUser(mem, pt, 0x5f_f000, PROT_READ | PROT_WRITE);
  pt.protect(0x40_0000, 0x20_0000, PROT_READ);
  assert.equal(pt.tablesInUse, 3, "the whole-block protect folded the table back");
  pt.unmap(0x40_0000, 0x40_0000);
  expectUser(mem, pt, 0x40_0000, undefined);
  expectUser(mem, pt, 0x60_0000, undefined);
});

Deno.test("page tables: EL1 shim pages are EL1-only; code is EL1-executable", () => {
  const { mem, pt } = fresh();
  pt.map(0x20_0000, 0x1000, PROT_READ | PROT_EXEC, "el1-code");
  pt.map(0x20_1000, 0x1000, PROT_READ | PROT_WRITE, "el1-data");
  const code = walk(mem, BigInt(pt.root), 0x20_0010n)!;
  assert.deepEqual(code.el0, { r: false, w: false, x: false });
  assert.deepEqual(code.el1, { r: true, w: false, x: true });
  const data = walk(mem, BigInt(pt.root), 0x20_1010n)!;
  assert.deepEqual(data.el0, { r: false, w: false, x: false });
  assert.deepEqual(data.el1, { r: true, w: true, x: false });
  assert.equal(pt.protOf(0x20_0000), undefined, "EL1 pages belong to no guest VMA");
});

Deno.test("page tables: W^X flips only RWX pages, one 4 KiB page at a time", () => {
  const { mem, pt } = fresh();
  const rwx = PROT_READ | PROT_WRITE | PROT_EXEC;
  pt.map(0x80_0000, 0x20_0000, rwx); // one block
  assert.equal(pt.flipWX(0x80_1234, true), true);
  const x = walk(mem, BigInt(pt.root), 0x80_1000n)!;
  assert.equal(x.level, 3, "the block was split for the flip");
  assert.deepEqual(x.el0, { r: true, w: false, x: true });
  expectUser(mem, pt, 0x80_0000, rwx); // neighbours still RW
  expectUser(mem, pt, 0x80_2000, rwx);
  assert.equal(pt.flipWX(0x80_1000, false), true);
  assert.deepEqual(walk(mem, BigInt(pt.root), 0x80_1000n)!.el0, { r: true, w: true, x: false });
  pt.map(0xa0_0000, 0x1000, PROT_READ | PROT_EXEC);
  assert.equal(pt.flipWX(0xa0_0000, false), false, "an RX VMA must not become writable");
  assert.equal(pt.flipWX(0xc0_0000, true), false, "unmapped");
});

Deno.test("page tables: TLB flush covers what changed", () => {
  const { pt } = fresh();
  assert.deepEqual(pt.takeFlush(), { kind: "none" });
  pt.map(0x40_0000, 0x3000, PROT_READ);
  assert.deepEqual(pt.takeFlush(), { kind: "pages", va: 0x40_0000, pages: 3 });
  assert.deepEqual(pt.takeFlush(), { kind: "none" });
  pt.map(0x40_0000, 0x20_0000, PROT_READ);
  assert.deepEqual(pt.takeFlush(), { kind: "all" });
  pt.protect(0x40_0000, 0x1000, PROT_READ | PROT_WRITE);
  pt.unmap(0x40_8000, 0x1000);
  assert.deepEqual(pt.takeFlush(), { kind: "pages", va: 0x40_0000, pages: 9 });
});

Deno.test("page tables: the pool runs out with an error, not corruption", () => {
  const mem = new DataView(new ArrayBuffer(0x10_0000));
  const pt = new PageTables(mem, 0, 0x5000); // root + 4 more tables
  pt.map(0x1000, 0x1000, PROT_READ); // L1, L2, L3
  assert.throws(() => {
    pt.map(0x20_1000, 0x1000, PROT_READ); // L3
    pt.map(0x40_1000, 0x1000, PROT_READ); // one too many
  }, /exhausted/);
});

Deno.test("page tables: mapAt aliases a high VA to another IPA, page or block as alignment allows", () => {
  const { mem, pt } = fresh();
  const HIGH = 0x8000_0000_0000; // Rosetta's 128 TiB link base
  // 3 pages at 128 TiB + 0x5000 backed by IPA 0x3000: a shift that is not a 2 MiB multiple.
  pt.mapAt(HIGH + 0x5000, 0x3000, 0x3000, PROT_READ | PROT_EXEC);
  for (let i = 0; i < 3; i++) {
    const w = walk(mem, BigInt(pt.root), BigInt(HIGH + 0x5000 + i * 0x1000 + 0x44));
    assert.ok(w, `page ${i} translates`);
    assert.equal(w.pa, BigInt(0x3000 + i * 0x1000 + 0x44), `page ${i} output address`);
    assert.equal(w.level, 3);
    assert.equal(w.el0.x, true);
    assert.equal(w.el0.w, false);
    assert.equal(pt.translate(HIGH + 0x5000 + i * 0x1000 + 0x44), 0x3000 + i * 0x1000 + 0x44);
  }
  assert.equal(walk(mem, BigInt(pt.root), BigInt(HIGH + 0x4000)), undefined, "below: a hole");
  assert.equal(pt.translate(HIGH + 0x8000), undefined, "above: a hole");
  // The identity mapping of the backing IPA is untouched (and absent: it was never mapped).
  assert.equal(walk(mem, BigInt(pt.root), 0x3000n), undefined);
  // A 2 MiB aligned shift over a whole block is one level-2 block with the shifted address.
  pt.mapAt(HIGH + 0x20_0000, 0x20_0000, 0x40_0000, PROT_READ | PROT_WRITE);
  const b = walk(mem, BigInt(pt.root), BigInt(HIGH + 0x20_0000 + 0x1_2345));
  assert.ok(b);
  assert.equal(b.level, 2);
  assert.equal(b.pa, BigInt(0x40_0000 + 0x1_2345));
  assert.equal(b.el0.w, true);
  // protect with the same output address keeps the alias; splitting a block keeps it too.
  pt.protect(HIGH + 0x20_0000, 0x1000, PROT_READ, 0x40_0000);
  const p = walk(mem, BigInt(pt.root), BigInt(HIGH + 0x20_0000 + 0x10));
  assert.ok(p);
  assert.equal(p.level, 3);
  assert.equal(p.pa, BigInt(0x40_0000 + 0x10));
  assert.equal(p.el0.w, false);
  assert.equal(pt.translate(HIGH + 0x20_1000), 0x40_1000, "the split's other pages keep theirs");
  pt.unmap(HIGH + 0x5000, 0x3000);
  assert.equal(pt.translate(HIGH + 0x5044), undefined);
});

Deno.test("page tables: W^X flips an aliased page without moving it", () => {
  const { mem, pt } = fresh();
  const va = 0x8000_0000_0000 + 0x7000;
  pt.mapAt(va, 0x1000, 0x9000, PROT_READ | PROT_WRITE | PROT_EXEC);
  assert.equal(walk(mem, BigInt(pt.root), BigInt(va))!.el0.w, true);
  assert.ok(pt.flipWX(va, true));
  const w = walk(mem, BigInt(pt.root), BigInt(va) + 8n);
  assert.ok(w);
  assert.equal(w.pa, 0x9008n, "still backed by its own IPA, not the identity");
  assert.equal(w.el0.x, true);
  assert.equal(w.el0.w, false);
});
