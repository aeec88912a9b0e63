// Exit decoding for every exception class the hvf backend handles, with syndromes built from the
// Arm ARM field layouts (and, where noted, values QEMU produced in reference/unicorn-hvf-sim.md).
import assert from "node:assert/strict";
import {
  EC,
  HV_EXIT_REASON_CANCELED,
  HV_EXIT_REASON_EXCEPTION,
  HV_EXIT_REASON_UNKNOWN,
  HV_EXIT_REASON_VTIMER_ACTIVATED,
} from "./constants.ts";
import { decodeExit, decodeGuestException, faultStatus, isDcZva } from "./exits.ts";

const IL = 1 << 25;
const esr = (ec: number, iss: number) => ((ec << 26) | IL | iss) >>> 0;

Deno.test("exits: fault status codes", () => {
  assert.deepEqual(faultStatus(0x04), { type: "translation", level: 0 });
  assert.deepEqual(faultStatus(0x07), { type: "translation", level: 3 });
  assert.deepEqual(faultStatus(0x0b), { type: "access-flag", level: 3 });
  assert.deepEqual(faultStatus(0x0f), { type: "permission", level: 3 });
  assert.deepEqual(faultStatus(0x21), { type: "alignment", level: 0 });
  assert.deepEqual(faultStatus(0x10), { type: "other", level: 0 }); // synchronous external abort
});

Deno.test("exits: EL0 exceptions forwarded by the shim", () => {
  // Values QEMU produced for the C prototype: T5 load from an unmapped VA, T6 store to RO text.
  assert.deepEqual(decodeGuestException(0x92000007, 0x60028, 0x40100), {
    kind: "fault",
    access: "read",
    address: 0x60028,
    pc: 0x40100,
    type: "translation",
  });
  assert.deepEqual(decodeGuestException(0x9200004f, 0x40008, 0x40104), {
    kind: "fault",
    access: "write",
    address: 0x40008,
    pc: 0x40104,
    type: "permission",
  });
  // T12: branch to a UXN page (instruction abort, permission).
  assert.deepEqual(decodeGuestException(0x8200000f, 0x50000, 0x50000), {
    kind: "fault",
    access: "fetch",
    address: 0x50000,
    pc: 0x50000,
    type: "permission",
  });
  assert.equal(decodeGuestException(esr(EC.DABT_CURRENT, 0x07), 8, 4).kind, "fault");
  assert.equal(decodeGuestException(esr(EC.IABT_CURRENT, 0x07), 8, 4).kind, "fault");
  assert.deepEqual(decodeGuestException(esr(EC.PC_ALIGN, 0), 0x401, 0x401), {
    kind: "fault",
    access: "fetch",
    address: 0x401,
    pc: 0x401,
    type: "alignment",
  });
  const sp = decodeGuestException(esr(EC.SP_ALIGN, 0), 0x7ff8, 0x400);
  assert.equal(sp.kind === "fault" && sp.type, "alignment");
  // T4: EL0 `mrs esr_el1` is UNDEFINED: EC 0 (QEMU's 0x02000000).
  assert.deepEqual(decodeGuestException(0x02000000, 0, 0x400c0), {
    kind: "undefined",
    pc: 0x400c0,
  });
  assert.deepEqual(decodeGuestException(esr(EC.ILLEGAL_STATE, 0), 0, 8), {
    kind: "undefined",
    pc: 8,
  });
  assert.deepEqual(decodeGuestException(esr(EC.SYS64, 1), 0, 12), { kind: "undefined", pc: 12 });
  assert.deepEqual(decodeGuestException(esr(EC.BRK64, 0x3e8), 0, 16), {
    kind: "breakpoint",
    pc: 16,
  });
  for (const ec of [0x30, 0x32, 0x34]) {
    assert.equal(decodeGuestException(esr(ec, 0), 0, 0).kind, "breakpoint");
  }
  assert.deepEqual(decodeGuestException(esr(EC.FP_ACCESS, 0), 0, 20), {
    kind: "unsupported",
    ec: EC.FP_ACCESS,
    pc: 20,
  });
});

Deno.test("exits: hv_vcpu_run exits", () => {
  const ex = (s: number, va = 0, pa = 0) => decodeExit(HV_EXIT_REASON_EXCEPTION, s, va, pa);
  assert.deepEqual(decodeExit(HV_EXIT_REASON_CANCELED, 0, 0, 0), { kind: "canceled" });
  assert.deepEqual(decodeExit(HV_EXIT_REASON_VTIMER_ACTIVATED, 0, 0, 0), { kind: "vtimer" });
  assert.deepEqual(decodeExit(HV_EXIT_REASON_UNKNOWN, 0, 0, 0), { kind: "unknown", reason: 3 });
  // HVC #5 as the prototype saw it: 0x5a000005.
  assert.deepEqual(ex(0x5a000005), { kind: "hvc", imm: 5 });
  assert.deepEqual(ex(esr(EC.HVC64, 0xffff)), { kind: "hvc", imm: 0xffff });
  assert.deepEqual(ex(esr(EC.WFX, 1)), { kind: "wfx" });
  // DC ZVA x3 trapped by HCR_EL2.TDZ: Op0=1 Op2=1 Op1=3 CRn=7 Rt=3 CRm=4, write.
  const dczva = (1 << 20) | (1 << 17) | (3 << 14) | (7 << 10) | (3 << 5) | (4 << 1);
  const sys = ex(esr(EC.SYS64, dczva));
  assert.deepEqual(sys, {
    kind: "sys",
    read: false,
    op0: 1,
    op2: 1,
    op1: 3,
    crn: 7,
    rt: 3,
    crm: 4,
  });
  assert.ok(sys.kind === "sys" && isDcZva(sys));
  // MRS x0, MIDR_EL1 (op0 3, op1 0, CRn 0, CRm 0, op2 0), read.
  const mrs = ex(esr(EC.SYS64, (3 << 20) | 1));
  assert.ok(mrs.kind === "sys" && mrs.read && !isDcZva(mrs));
  assert.deepEqual(ex(esr(EC.DABT_LOWER, (1 << 6) | 0x07), 0x1234, 0x10_0000_0000), {
    kind: "stage2",
    access: "write",
    ipa: 0x10_0000_0000,
    va: 0x1234,
  });
  assert.deepEqual(ex(esr(EC.IABT_LOWER, 0x07), 0, 0x2000), {
    kind: "stage2",
    access: "fetch",
    ipa: 0x2000,
    va: 0,
  });
  assert.deepEqual(ex(esr(EC.BRK64, 7)), { kind: "brk", comment: 7 });
  assert.deepEqual(ex(esr(EC.SMC64, 0)), {
    kind: "unhandled",
    ec: EC.SMC64,
    syndrome: esr(EC.SMC64, 0),
  });
});
