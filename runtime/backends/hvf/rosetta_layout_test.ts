// Rosetta's place in the hvf guest, computed without running it: the primary buffer, the
// non-identity image pages and the TTBR1 kbuf alias, checked against recorded byte layouts.
import assert from "node:assert/strict";
import { PROT_EXEC, PROT_READ, PROT_WRITE } from "../../memory/vmas.ts";
import { KBUF_SIZE, KBUF_VA_BASE } from "../../x86/rosetta.ts";
import {
  describeRosettaPlacement,
  KBUF_USER_VA,
  kbufTtbr1Writes,
  rosettaLayout,
  tableIndices,
  tcrTtbr1Bits,
} from "./rosetta_layout.ts";

// A Rosetta-shaped image: RX text at 128 TiB (entry as logged, 0x8000000261ac), RW data after it.
const text = {
  type: 1,
  flags: 5,
  offset: 0,
  vaddr: 0x8000_0000_0000,
  filesz: 0x9_0000,
  memsz: 0x9_0000,
};
const data = {
  type: 1,
  flags: 6,
  offset: 0x9_0000,
  vaddr: 0x8000_000a_0000,
  filesz: 0x8000,
  memsz: 0x2_1234,
};
const ENTRY = 0x8000_0002_61ac;

Deno.test("the primary buffer: kbuf then image, 2 MiB aligned, under the reserve", () => {
  const top = 0x1_0000_0000; // a 4 GiB-IPA guest whose reserve starts at 4 GiB
  const l = rosettaLayout([text, data], ENTRY, top);
  assert.equal(l.imageVa, 0x8000_0000_0000);
  assert.equal(l.imageSize, 0xc_2000); // up to the page after 0x8000000c1234
  assert.equal(l.imageGpa, 0xffe0_0000); // the 2 MiB block below 4 GiB holds it
  assert.equal(l.kbufGpa, 0xffe0_0000 - KBUF_SIZE);
  assert.equal(l.bufferGpa, l.kbufGpa);
  assert.equal(l.bufferSize, KBUF_SIZE + 0xc_2000);
  assert.ok(l.imageGpa + l.imageSize <= top);
  assert.deepEqual(l.pages, [
    { va: 0x8000_0000_0000, gpa: 0xffe0_0000, size: 0x9_0000, prot: PROT_READ | PROT_EXEC },
    { va: 0x8000_000a_0000, gpa: 0xffea_0000, size: 0x2_2000, prot: PROT_READ | PROT_WRITE },
  ]);
  assert.equal(l.entry, ENTRY);
  assert.deepEqual(l.kbufUser, {
    va: 0xffff_f000_0000,
    gpa: l.kbufGpa,
    size: KBUF_SIZE,
    prot: PROT_READ | PROT_WRITE,
  });
});

Deno.test("a Rosetta image that is not at 128 TiB, or does not fit, is refused", () => {
  assert.throws(
    () => rosettaLayout([{ ...text, vaddr: 0x40_0000 }], 0x40_0000, 2 ** 32),
    /128 TiB/,
  );
  assert.throws(() => rosettaLayout([text], 0x1000, 2 ** 32), /entry/);
  assert.throws(() => rosettaLayout([text, data], ENTRY, 0x1000_0000, 0), /do not fit/);
  assert.throws(() => rosettaLayout([], ENTRY, 2 ** 32), /no PT_LOAD/);
});

Deno.test("the kbuf's VAs: L0[511]/L1[511]/L2[384..511] under TTBR1, bits 63:48 cleared under TTBR0", () => {
  assert.deepEqual(tableIndices(KBUF_VA_BASE), [511, 511, 384, 0]);
  assert.deepEqual(tableIndices(KBUF_VA_BASE + BigInt(KBUF_SIZE) - 1n), [511, 511, 511, 511]);
  assert.equal(KBUF_USER_VA, 0xffff_f000_0000);
  assert.deepEqual(tableIndices(BigInt(KBUF_USER_VA)), [511, 511, 384, 0]);
  assert.deepEqual(tableIndices(0x8000_0002_61acn), [256, 0, 0, 0x26]);
});

Deno.test("the TTBR1 writes, as the 64-bit little-endian descriptors they are", () => {
  const w = kbufTtbr1Writes(0x3000_0000, { l0: 0x7000, l1: 0x8000, l2: 0x1_0000_9000 });
  assert.equal(w.length, 2 + 128);
  const bytes = (x: { lo: number; hi: number }) => {
    const b = new DataView(new ArrayBuffer(8));
    b.setUint32(0, x.lo, true);
    b.setUint32(4, x.hi, true);
    return [...new Uint8Array(b.buffer)].map((v) => v.toString(16).padStart(2, "0")).join(" ");
  };
  assert.deepEqual([w[0].table, w[0].index, bytes(w[0])], [0x7000, 511, "03 80 00 00 00 00 00 00"]);
  assert.deepEqual([w[1].table, w[1].index, bytes(w[1])], [0x8000, 511, "03 90 00 00 01 00 00 00"]);
  // Block: AF | SH inner | AP EL0+EL1 RW | valid; PXN | UXN | the backend's software R/W/mapped bits.
  assert.deepEqual([w[2].table, w[2].index, bytes(w[2])], [
    0x1_0000_9000,
    384,
    "41 07 00 30 00 00 e0 05",
  ]);
  assert.deepEqual([w[129].index, bytes(w[129])], [511, "41 07 e0 3f 00 00 e0 05"]);
  assert.throws(() => kbufTtbr1Writes(0x3000_1000, { l0: 0, l1: 0, l2: 0 }), /aligned/);
});

Deno.test("TCR_EL1's TTBR1 half: T1SZ 16, 4 KiB granule, walks on, TBI1", () => {
  const t = tcrTtbr1Bits();
  assert.equal(t, 0x40_b500_0000n | (16n << 16n));
  assert.equal((t >> 23n) & 1n, 0n, "EPD1 clear");
  assert.equal((t >> 38n) & 1n, 1n, "TBI1");
});

Deno.test("the selftest's placement line, under a 36-bit IPA", () => {
  assert.equal(
    describeRosettaPlacement([text, data], ENTRY),
    "image 0x800000000000+0xc2000 at GPA 0xfffe00000, kbuf GPA 0xfefe00000 " +
      "(aliased at 0xfffffffff0000000 and 0xfffff0000000), 2 PT_LOADs",
  );
  assert.match(
    describeRosettaPlacement([{ ...text, vaddr: 0x40_0000 }], 0x40_0000),
    /^cannot be placed: .*128 TiB/,
  );
});

/**
 * A stage-1 walk as the Arm ARM describes it (D8.2-D8.3: 4 KiB granule, 48-bit, TTBR1 for VAs
 * whose bits 55:48 are all ones once TBI1 drops the top byte), written independently of the code
 * under test: a table descriptor is 0b11 at levels 0-2, a block 0b01 at levels 1-2.
 */
function walkTtbr1(mem: DataView, root: number, va: bigint): number | "fault" {
  va &= 0x00ff_ffff_ffff_ffffn; // TBI1: bits 63:56 are a tag
  if (va >> 48n !== 0xffn) return "fault"; // not a TTBR1 address
  let table = root;
  for (let level = 0; level <= 3; level++) {
    const shift = 39n - 9n * BigInt(level);
    const index = Number((va >> shift) & 511n);
    const d = mem.getBigUint64(table + index * 8, true);
    const addr = Number(d & 0x0000_ffff_ffff_f000n);
    if ((d & 1n) === 0n) return "fault";
    const isTable = (d & 2n) !== 0n;
    if (level === 3) return isTable ? addr + Number(va & 0xfffn) : "fault";
    if (!isTable) {
      if (level === 0) return "fault";
      return addr + Number(va & ((1n << shift) - 1n));
    }
    table = addr;
  }
  return "fault";
}

Deno.test("walking the TTBR1 tables those writes make lands every kbuf VA, tagged or not, in the kbuf", () => {
  const l0 = 0x0000, l1 = 0x1000, l2 = 0x2000, kbuf = 0x4000_0000;
  const mem = new DataView(new ArrayBuffer(0x3000));
  for (const w of kbufTtbr1Writes(kbuf, { l0, l1, l2 })) {
    mem.setUint32(w.table + w.index * 8, w.lo, true);
    mem.setUint32(w.table + w.index * 8 + 4, w.hi, true);
  }
  for (const off of [0, 0x123, 0x20_0000, 0x0abc_def0, KBUF_SIZE - 1]) {
    assert.equal(walkTtbr1(mem, l0, KBUF_VA_BASE + BigInt(off)), kbuf + off, off.toString(16));
  }
  // A tagged pointer (top byte 0x5a) translates the same with TBI1.
  const tagged = (KBUF_VA_BASE & 0x00ff_ffff_ffff_ffffn) | (0x5an << 56n);
  assert.equal(walkTtbr1(mem, l0, tagged + 0x40n), kbuf + 0x40);
  // Just below the kbuf nothing is mapped (L2[383] is empty).
  assert.equal(walkTtbr1(mem, l0, KBUF_VA_BASE - 1n), "fault");
});
