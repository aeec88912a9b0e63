// Memory regions: Unicorn aborts at about 1000 of them, so adjacent regions with the same
// permissions are merged when they become many, executable ones excepted, and a change that could
// pass the limit is refused (fixtures/c/mem_growth.c is the guest-side proof).
import assert from "node:assert/strict";
import { Slab } from "../../memory/slab.ts";
import { PROT_EXEC, PROT_READ, PROT_WRITE } from "../../memory/vmas.ts";
import { openUnicorn, UC_ARM64_REG_X0 } from "./ffi.ts";
import { UnicornBackend } from "./backend.ts";

function unicornLoads(): boolean {
  try {
    openUnicorn();
    return true;
  } catch {
    return false;
  }
}
const ignore = !unicornLoads();
const PAGE = 4096, BASE = 0x1000_0000;

Deno.test({
  name: "regions: pages mapped one at a time are merged, executable ones are not",
  ignore,
  fn() {
    const slab = new Slab();
    const b = new UnicornBackend({ hostBase: slab.base, size: slab.size });
    try {
      for (let i = 0; i < 3000; i++) {
        assert.ok(b.roomFor(3), `room for page ${i}`);
        b.map(BASE + i * PAGE, PAGE, PROT_READ | PROT_WRITE);
        slab.u8[BASE + i * PAGE] = i & 0xff;
      }
      const code = BASE + 3001 * PAGE;
      for (let i = 0; i < 40; i++) {
        assert.ok(b.roomFor(3));
        b.map(code + i * PAGE, PAGE, PROT_READ | PROT_EXEC);
      }
      const regions = b.regions();
      assert.ok(regions.length < 300, `${regions.length} regions left`);
      const data = regions.filter((r) => r.begin >= BASE && r.end <= BASE + 3000 * PAGE);
      assert.ok(data.length < 100, "the data pages are a few regions");
      assert.equal(regions.filter((r) => r.begin >= code).length, 40, "code pages stay apart");
      for (let i = 0; i < 3000; i += 499) assert.equal(slab.u8[BASE + i * PAGE], i & 0xff);
    } finally {
      b.close();
    }
  },
});

Deno.test({
  name: "regions: merged regions stay at most 16 MiB, so that a later split stays cheap",
  ignore,
  fn() {
    const slab = new Slab();
    const b = new UnicornBackend({ hostBase: slab.base, size: slab.size });
    try {
      const pages = 10_000; // 39 MiB
      for (let i = 0; i < pages; i++) {
        assert.ok(b.roomFor(3));
        b.map(BASE + i * PAGE, PAGE, PROT_READ | PROT_WRITE);
      }
      assert.ok(b.roomFor(800), "asking for much room merges what it can");
      const sizes = b.regions().map((r) => r.end - r.begin);
      assert.ok(sizes.every((n) => n <= 16 << 20), "none above 16 MiB");
      assert.ok(sizes.length >= 3 && sizes.length < 60, `${sizes.length} regions`);
    } finally {
      b.close();
    }
  },
});

Deno.test({
  name: "regions: past the limit a change is refused instead of crashing the engine",
  ignore,
  fn() {
    const slab = new Slab();
    const b = new UnicornBackend({ hostBase: slab.base, size: slab.size });
    try {
      let mapped = 0;
      // Alternating permissions never merge.
      for (; mapped < 2000; mapped++) {
        if (!b.roomFor(3)) break;
        b.map(BASE + mapped * PAGE, PAGE, mapped % 2 ? PROT_READ : PROT_READ | PROT_WRITE);
      }
      assert.ok(mapped > 500 && mapped < 1000, `refused after ${mapped} regions`);
      assert.equal(b.regions().length, mapped);
    } finally {
      b.close();
    }
  },
});

Deno.test({
  name: "regions: dropping code over two regions drops the second region's translations too",
  ignore,
  fn() {
    // Unicorn's UC_CTL_TB_REMOVE_CACHE finds the RAM block of the start address only; a shell
    // exec'ing a program over code spread across two regions ran the old program's blocks.
    const slab = new Slab();
    const b = new UnicornBackend({ hostBase: slab.base, size: slab.size });
    const x0 = new BigUint64Array(1);
    // The code in the second region sets x0 and branches back to the first, where emulation
    // stops: Unicorn drops the block before its stop address (uc_exit_invalidate_iter), so the
    // block under test must end elsewhere; no instruction count (a count hook flushes all).
    const code = BASE + PAGE + 0x40, stop = BASE + 0x100;
    const put = (at: number, word: number) => {
      for (let i = 0; i < 4; i++) slab.u8[at + i] = (word >>> (8 * i)) & 0xff;
    };
    const program = (imm: number) => {
      put(code, (0xd2800000 | (imm << 5)) >>> 0); // movz x0, #imm
      put(code + 4, (0x14000000 | (((stop - (code + 4)) / 4) & 0x3ffffff)) >>> 0); // b stop
    };
    const run = () => {
      assert.equal(b.lib.uc_emu_start(b.engine, BigInt(code), BigInt(stop), 0n, 0n), 0);
      b.lib.uc_reg_read(
        b.engine,
        UC_ARM64_REG_X0,
        Deno.UnsafePointer.value(Deno.UnsafePointer.of(x0)),
      );
      return Number(x0[0]);
    };
    try {
      // Mapped second-first, so that their RAM blocks are not in address order.
      b.map(BASE + PAGE, PAGE, PROT_READ | PROT_EXEC);
      b.map(BASE, PAGE, PROT_READ | PROT_EXEC);
      program(1);
      assert.equal(run(), 1);
      program(2);
      assert.equal(run(), 1, "translations are kept until dropped");
      b.invalidateCode(BASE, 2 * PAGE);
      assert.equal(run(), 2, "the new code ran");
    } finally {
      b.close();
    }
  },
});
