// The simulator's exception entry and HVC exits, driven through the shared hvf backend with tiny
// hand-assembled EL0 programs: what reaches the kernel must be what hardware would deliver.
import assert from "node:assert/strict";
import { Reg } from "../backend.ts";
import { Slab } from "../../memory/slab.ts";
import { PROT_EXEC, PROT_READ, PROT_WRITE } from "../../memory/vmas.ts";
import { openUnicorn } from "../unicorn/ffi.ts";
import { HvfBackend } from "./backend.ts";
import { SimHv } from "./sim.ts";

function unicornOk(): boolean {
  try {
    const v = openUnicorn().lib.uc_version(0, 0);
    return (v >>> 24) * 10000 + ((v >>> 16) & 0xff) * 100 + ((v >>> 8) & 0xff) >= 20104;
  } catch {
    return false;
  }
}
const ignore = !unicornOk();
const slab = ignore ? undefined : new Slab();
const CODE = 0x40_0000, DATA = 0x60_0000;

function guest(words: number[]) {
  const s = slab!;
  const b = new HvfBackend(new SimHv(), { hostBase: s.base, size: s.size });
  b.map(CODE, 0x1000, PROT_READ | PROT_EXEC);
  b.map(DATA, 0x1000, PROT_READ | PROT_WRITE);
  s.u8.fill(0, CODE, CODE + 0x1000);
  words.forEach((w, i) => s.view.setUint32(CODE + i * 4, w, true));
  b.invalidateCode(CODE, 0x1000);
  const v = b.createVcpu();
  v.set(Reg.PC, CODE);
  v.set(Reg.SP, DATA + 0x1000);
  return { b, v };
}

const MOVZ_X8_172 = 0xd2801588, SVC0 = 0xd4000001, BRK0 = 0xd4200000;
const MRS_X0_ESR_EL1 = 0xd5385200, LDR_X1_X0 = 0xf9400001;

Deno.test({
  name: "hvf-sim: SVC reaches the kernel with its registers, BRK stops",
  ignore,
  fn() {
    const { b, v } = guest([MOVZ_X8_172, SVC0, BRK0]);
    const args = new Float64Array(6);
    let nr = -1;
    v.set(Reg.X0 + 3 as Reg, -7);
    const exit = v.run(() => {
      nr = v.syscallArgs(args);
      v.setResult(5);
    }, 0);
    assert.equal(nr, 172);
    assert.equal(args[3], -7, "x3 survived the trip through the EL1 frame");
    assert.deepEqual(exit, { kind: "breakpoint", pc: CODE + 8 });
    assert.equal(v.get(Reg.X0), 5, "the result came back through the shim's ERET");
    assert.equal(v.get(Reg.SP), DATA + 0x1000, "SP_EL0 banked and restored");
    b.close();
  },
});

Deno.test({
  name: "hvf-sim: EL0 faults arrive with the exact address",
  ignore,
  fn() {
    const { b, v } = guest([LDR_X1_X0]);
    v.set(Reg.X0, 0x1234_5678);
    assert.deepEqual(v.run(() => {}, 0), {
      kind: "fault",
      address: 0x1234_5678,
      access: "read",
      mapped: false,
      pc: CODE,
    });
    v.set(Reg.X0, CODE + 0x10); // readable text: the same load now succeeds and runs into zeros
    v.set(Reg.PC, CODE);
    const e = v.run(() => {}, 0);
    assert.deepEqual(e, { kind: "undefined", pc: CODE + 4 }, "0x00000000 is UDF");
    b.close();
  },
});

Deno.test({
  name: "hvf-sim: EL1 registers are out of EL0's reach",
  ignore,
  fn() {
    const { b, v } = guest([MRS_X0_ESR_EL1]);
    assert.deepEqual(v.run(() => {}, 0), { kind: "undefined", pc: CODE });
    b.close();
  },
});

Deno.test({
  name: "hvf-sim: FP/SIMD registers are loaded by the shim",
  ignore,
  fn() {
    const { b, v } = guest([SVC0, SVC0]);
    const fp = new DataView(new ArrayBuffer(520));
    for (let i = 0; i < 512; i++) fp.setUint8(i, (i * 7) & 0xff);
    fp.setUint32(512, 0x8000_0000, true); // FPSR.QC... any value the host can set
    v.loadFpsimd(fp, 0);
    let calls = 0;
    v.run(() => {
      if (++calls === 2) v.stop();
    }, 0);
    const back = new DataView(new ArrayBuffer(520));
    v.saveFpsimd(back, 0);
    for (let i = 0; i < 512; i++) assert.equal(back.getUint8(i), (i * 7) & 0xff, `byte ${i}`);
    b.close();
  },
});

Deno.test({
  name: "hvf-sim: a 32-bit register (FPSR, FPCR) reads without a previous read's high bits",
  ignore,
  fn() {
    const MOVI_V31_EE = 0x4f07e5df; // movi v31.16b, #0xee
    const { b, v } = guest([MOVI_V31_EE, BRK0]);
    assert.equal(v.run(() => {}, 0).kind, "breakpoint");
    // Reading q31 leaves 0xee bytes in the simulator's value slot; Unicorn then writes only 4
    // bytes for FPSR. A signal frame saved FPSR as 0xeeeeeeee_00000002 that way, and the Number
    // of that lost the flags (sig_regs: FE_DIVBYZERO kept across a handler).
    const frame = new DataView(new ArrayBuffer(528));
    v.setBig(Reg.FPSR, 2n);
    v.saveFpsimd(frame, 0);
    assert.equal(frame.getUint8(31 * 16), 0xee, "q31 was read");
    assert.equal(v.getBig(Reg.FPSR), 2n);
    assert.equal(frame.getUint32(512, true), 2, "FPSR in the frame");
    v.setBig(Reg.FPCR, 0x400000n);
    v.saveFpsimd(frame, 0);
    assert.equal(v.getBig(Reg.FPCR), 0x400000n);
    b.close();
  },
});

Deno.test({
  name: "hvf-sim: code and data at a 128 TiB alias run from the slab bytes behind them",
  ignore,
  fn() {
    const HIGH = 0x8000_0000_0000; // Rosetta's link base: far above any IPA
    const HI_CODE = HIGH + 0x5000, HI_DATA = HIGH + 0x20_0000;
    const CODE_AT = 0x83_0000, DATA_AT = 0x84_0000; // where in the slab they are backed
    const LDR_X1_X0 = 0xf9400001, BR_X2 = 0xd61f0040;
    const MOVZ_X3_42 = 0xd2800543, STR_X3_X0_8 = 0xf9000403;
    const { b, v } = guest([LDR_X1_X0, BR_X2]);
    const s = slab!;
    s.u8.fill(0, CODE_AT, CODE_AT + 0x1000);
    s.u8.fill(0, DATA_AT, DATA_AT + 0x1000);
    [MOVZ_X3_42, STR_X3_X0_8, BRK0].forEach((w, i) => s.view.setUint32(CODE_AT + i * 4, w, true));
    s.view.setUint32(DATA_AT, 0xcafe_f00d, true);
    b.mapAlias(HI_CODE, CODE_AT, 0x1000, PROT_READ | PROT_EXEC);
    b.mapAlias(HI_DATA, DATA_AT, 0x1000, PROT_READ | PROT_WRITE);
    b.invalidateCode(CODE_AT, 0x1000);
    assert.equal(b.pt.translate(HI_CODE + 4), CODE_AT + 4, "the walk the MMU makes");
    v.set(Reg.X0, HI_DATA);
    v.set(Reg.X0 + 2 as Reg, HI_CODE);
    const exit = v.run(() => {}, 0);
    assert.deepEqual(exit, { kind: "breakpoint", pc: HI_CODE + 8 }, "ran at the alias");
    assert.equal(v.get(Reg.X0 + 1 as Reg), 0xcafe_f00d, "loaded through the data alias");
    assert.equal(s.view.getUint32(DATA_AT + 8, true), 42, "stored into the backing slab bytes");
    // The identity VA of the backing was never mapped: the guest cannot reach it that way.
    v.set(Reg.X0, DATA_AT);
    v.set(Reg.PC, CODE);
    const f = v.run(() => {}, 0);
    assert.equal(f.kind, "fault");
    assert.equal((f as { address: number }).address, DATA_AT);
    // A write to the read-only code alias is a permission fault at the high VA, mapped.
    v.set(Reg.X0, HI_CODE - 8);
    v.set(Reg.PC, HI_CODE);
    assert.deepEqual(v.run(() => {}, 0), {
      kind: "fault",
      address: HI_CODE,
      access: "write",
      mapped: true,
      pc: HI_CODE + 4,
    });
    b.close();
  },
});
