// Vcpu.step under an interrupt: another thread's uc_emu_stop (a host signal's kick, the TLB
// growth timer) can land before the one instruction runs. A debugger's step (and a watchpoint's
// step past the access) must still take exactly that instruction.
import assert from "node:assert/strict";
import { Reg } from "../backend.ts";
import { Slab } from "../../memory/slab.ts";
import { PROT_EXEC, PROT_READ, PROT_WRITE } from "../../memory/vmas.ts";
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

const UC_HOOK_CODE = 1 << 2;
const BASE = 0x1000_0000, PAGE = 4096;

Deno.test({
  name: "step: a stop that lands before the instruction runs does not count as the step",
  ignore: !unicornLoads(),
  fn() {
    const slab = new Slab();
    const b = new UnicornBackend({ hostBase: slab.base, size: slab.size });
    // The stop arrives from "another thread": here, from a code hook, before the first
    // instruction of the first attempt executes.
    let stops = 1;
    const hook = new Deno.UnsafeCallback(
      { parameters: ["pointer", "u64", "u32", "pointer"], result: "void" },
      () => {
        if (stops-- > 0) b.lib.uc_emu_stop(b.engine);
      },
    );
    try {
      b.map(BASE, PAGE, PROT_READ | PROT_WRITE | PROT_EXEC);
      const code = new DataView(slab.u8.buffer, BASE, PAGE);
      code.setUint32(0, 0x91000400, true); // add x0, x0, #1
      code.setUint32(4, 0x91000400, true); // add x0, x0, #1
      const vcpu = b.createVcpu();
      vcpu.set(Reg.PC, BASE);
      vcpu.set(Reg.X0, 0);
      const s = b.scratch;
      const err = b.lib.uc_hook_add(b.engine, s.address, UC_HOOK_CODE, hook.pointer, null, 1, 0);
      assert.equal(err, 0);
      const exit = vcpu.step(() => {});
      assert.equal(exit.kind, "step");
      assert.equal(vcpu.get(Reg.PC), BASE + 4, "the step took the instruction");
      assert.equal(vcpu.get(Reg.X0), 1, "exactly once");
      assert.ok(stops < 0, "the stop did land");
    } finally {
      b.close();
      hook.close();
    }
  },
});
