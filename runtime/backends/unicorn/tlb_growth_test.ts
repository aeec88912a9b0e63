// The TLB's flush schedule (tlb_growth.ts): a guest that computes without a syscall is stopped
// when a flush is due, so that QEMU's TLB can be resized to its working set.
import assert from "node:assert/strict";
import { Slab } from "../../memory/slab.ts";
import { PROT_EXEC, PROT_READ } from "../../memory/vmas.ts";
import { Reg } from "../backend.ts";
import { openUnicorn } from "./ffi.ts";
import { UnicornBackend } from "./backend.ts";

function unicornLoads(): boolean {
  try {
    openUnicorn();
    return true;
  } catch {
    return false;
  }
}
const CODE = 0x1000_0000;

Deno.test({
  name: "tlb growth: an endless loop without syscalls is stopped for a flush, then runs on",
  ignore: !unicornLoads() || Deno.build.os !== "linux",
  fn() {
    const slab = new Slab();
    const b = new UnicornBackend({ hostBase: slab.base, size: slab.size });
    try {
      b.map(CODE, 4096, PROT_READ | PROT_EXEC);
      // add x0, x0, #1; b .-4: counts for ever.
      slab.view.setUint32(CODE, 0x91000400, true);
      slab.view.setUint32(CODE + 4, 0x17ffffff, true);
      const v = b.createVcpu();
      v.set(Reg.PC, CODE);
      v.set(Reg.X0, 0);
      const started = performance.now();
      // The deadline only keeps a broken schedule from hanging the test: it would say "timeout".
      const first = v.run(() => 0, Date.now() + 5000);
      assert.equal(first.kind, "interrupted");
      assert.ok(performance.now() - started < 4000);
      const counted = v.get(Reg.X0);
      assert.ok(counted > 0);
      const pc = v.get(Reg.PC);
      assert.ok(
        pc === CODE || pc === CODE + 4,
        `stopped inside the loop (pc 0x${pc.toString(16)})`,
      );
      // It goes on where it was stopped; the next flush is twice as far (16 ms after).
      assert.equal(v.run(() => 0, Date.now() + 5000).kind, "interrupted");
      assert.ok(v.get(Reg.X0) > counted);
    } finally {
      b.close();
    }
  },
});
