// The shared hvf backend against a scripted fake hv_* layer: vCPU setup, register marshalling
// through the shim frame, and the run loop's handling of every exit it knows.
import assert from "node:assert/strict";
import { Reg } from "../backend.ts";
import { Slab } from "../../memory/slab.ts";
import { PROT_EXEC, PROT_READ, PROT_WRITE } from "../../memory/vmas.ts";
import { shimSymbols as S } from "../../../shim/shim_bytes.ts";
import {
  EC,
  HV_EXIT_REASON_CANCELED,
  HV_EXIT_REASON_EXCEPTION,
  HV_EXIT_REASON_UNKNOWN,
  HV_REG_CPSR,
  HV_REG_FPCR,
  HV_REG_PC,
  HV_SUCCESS,
  HV_UNSUPPORTED,
  PSTATE_EL1H_MASKED,
  SysReg,
  tcrValue,
} from "./constants.ts";
import type { HvApi } from "./hv_api.ts";
import {
  EL1_STACK_TOP,
  FP_AREA,
  FRAME,
  HvfBackend,
  type HvfVcpu,
  SCTLR_VALUE,
  SHIM_BASE,
  vmCreateError,
} from "./backend.ts";

const slab = new Slab();

class FakeHv implements HvApi {
  readonly kind = "hvf-sim" as const;
  readonly description = "fake";
  readonly stage2PinsHostPages = true;
  readonly hostPageSize = 0x4000;
  readonly hwcap = 3;
  readonly hwcap2 = 0;
  createCode = HV_SUCCESS;
  readonly regs = new Map<number, bigint>();
  readonly sys = new Map<number, bigint>();
  readonly maps: string[] = [];
  readonly exit = new DataView(new ArrayBuffer(32));
  steps: (() => void)[] = [];
  maxIpaSize = () => 40;
  vmCreate = (_bits: number) => this.createCode;
  vmDestroy = () => HV_SUCCESS;
  vmMap(host: number, ipa: number, size: number, flags: number): number {
    this.maps.push(
      `map ${(host - slab.base).toString(16)} ${ipa.toString(16)} ${size.toString(16)} ${flags}`,
    );
    return HV_SUCCESS;
  }
  vmUnmap(ipa: number, size: number): number {
    this.maps.push(`unmap ${ipa.toString(16)} ${size.toString(16)}`);
    return HV_SUCCESS;
  }
  vmProtect = () => HV_SUCCESS;
  vcpuCreate = () => ({ code: HV_SUCCESS, vcpu: 7n, exit: this.exit });
  vcpuDestroy = () => HV_SUCCESS;
  vcpuRun(vcpu: bigint): number {
    assert.equal(vcpu, 7n);
    const step = this.steps.shift();
    if (!step) throw new Error("no more scripted exits");
    step();
    return HV_SUCCESS;
  }
  vcpusExit = () => HV_SUCCESS;
  vcpusExitCall = () => undefined;
  getReg = (_v: bigint, r: number) => this.regs.get(r) ?? 0n;
  setReg(_v: bigint, r: number, value: bigint): number {
    this.regs.set(r, value);
    return HV_SUCCESS;
  }
  getSysReg = (_v: bigint, r: number) => this.sys.get(r) ?? 0n;
  setSysReg(_v: bigint, r: number, value: bigint): number {
    this.sys.set(r, value);
    return HV_SUCCESS;
  }
  getSimdFpReg(_v: bigint, n: number, out: Uint8Array): number {
    out.fill(n);
    return HV_SUCCESS;
  }
  codeChanged = () => {};

  exitWith(syndrome: number, va = 0, pa = 0, reason = HV_EXIT_REASON_EXCEPTION): void {
    this.exit.setUint32(0, reason, true);
    this.exit.setBigUint64(8, BigInt(syndrome >>> 0), true);
    this.exit.setBigUint64(16, BigInt(va), true);
    this.exit.setBigUint64(24, BigInt(pa), true);
  }
  hvc(imm: number): void {
    this.exitWith((EC.HVC64 << 26) | (1 << 25) | imm);
  }
}

let current: HvfBackend | undefined;
function setup(): { hv: FakeHv; b: HvfBackend; v: HvfVcpu; mem: DataView } {
  current?.close();
  const hv = new FakeHv();
  const b = new HvfBackend(hv, { hostBase: slab.base, size: slab.size });
  current = b;
  const v = b.createVcpu() as HvfVcpu;
  return { hv, b, v, mem: slab.view };
}

Deno.test("hvf backend: VM and vCPU setup", () => {
  const { hv, b } = setup();
  assert.equal(hv.maps[0], `map 0 0 ${slab.size.toString(16)} 7`, "the slab once, RWX, at IPA 0");
  assert.equal(hv.sys.get(SysReg.VBAR_EL1), BigInt(SHIM_BASE));
  assert.equal(hv.sys.get(SysReg.TTBR0_EL1), BigInt(b.pt.root));
  assert.equal(hv.sys.get(SysReg.TCR_EL1), tcrValue(40));
  assert.equal(hv.sys.get(SysReg.SCTLR_EL1), SCTLR_VALUE, "MMU off until the shim's HVC #4");
  assert.equal(hv.sys.get(SysReg.SP_EL1), BigInt(EL1_STACK_TOP));
  assert.equal(hv.sys.get(SysReg.CPACR_EL1), 3n << 20n);
  assert.equal(hv.regs.get(HV_REG_CPSR), BigInt(PSTATE_EL1H_MASKED));
  assert.equal(hv.regs.get(HV_REG_PC), BigInt(SHIM_BASE + S.shim_start));
  assert.equal(slab.u8[SHIM_BASE + 0x400], 0xff, "the shim bytes are in guest memory");
});

Deno.test("hvf backend: a missing entitlement gives one line that says what to do", () => {
  const hv = new FakeHv();
  hv.createCode = HV_UNSUPPORTED;
  assert.throws(
    () => new HvfBackend(hv, { hostBase: slab.base, size: slab.size }),
    (e: Error) =>
      !e.message.includes("\n") && /entitlement/.test(e.message) && /codesign/.test(e.message),
  );
  assert.match(vmCreateError(0xfae94007), /HV_DENIED.*com\.apple\.security\.hypervisor/);
});

Deno.test("hvf backend: registers live in the shim frame", () => {
  const { hv, v, mem } = setup();
  v.set(Reg.X0 + 5 as Reg, -2);
  assert.equal(mem.getBigUint64(FRAME + 40, true), 0xffff_ffff_ffff_fffen);
  assert.equal(v.get(Reg.X0 + 5 as Reg), -2);
  v.set(Reg.SP, 0xf_ffff_e000);
  assert.equal(mem.getBigUint64(FRAME + S.F_SP_EL0, true), 0xf_ffff_e000n);
  v.set(Reg.PC, 0x400110);
  assert.equal(mem.getBigUint64(FRAME + S.F_ELR, true), 0x400110n);
  v.setBig(Reg.X0 + 30 as Reg, 0x8000_0000_0000_0001n);
  assert.equal(v.getBig(Reg.X0 + 30 as Reg), 0x8000_0000_0000_0001n);
  mem.setUint32(FRAME + S.F_SPSR, 0x3c0, true);
  v.set(Reg.NZCV, 0x6000_0000);
  assert.equal(mem.getUint32(FRAME + S.F_SPSR, true), 0x6000_03c0, "NZCV replaced, DAIF kept");
  assert.equal(v.get(Reg.NZCV), 0x6000_0000);
  v.set(Reg.TPIDR_EL0, 0x1234);
  assert.equal(hv.sys.get(SysReg.TPIDR_EL0), 0x1234n);
  v.set(Reg.FPCR, 0x0300_0000);
  assert.equal(hv.regs.get(HV_REG_FPCR), 0x0300_0000n);
  // syscallArgs: x0..x5 and x8 from the frame.
  for (let i = 0; i < 6; i++) v.set(Reg.X0 + i as Reg, i === 1 ? -1 : i * 0x1_0000_0001);
  v.set(Reg.X0 + 8 as Reg, 172);
  const args = new Float64Array(6);
  assert.equal(v.syscallArgs(args), 172);
  assert.deepEqual(Array.from(args), [
    0,
    -1,
    2 * 0x1_0000_0001,
    3 * 0x1_0000_0001,
    4 * 0x1_0000_0001,
    5 * 0x1_0000_0001,
  ]);
  v.setResult(-38);
  assert.equal(v.get(Reg.X0), -38);
  // saveGeneral / loadGeneral: 34 words, pstate as NZCV only.
  const g = new DataView(new ArrayBuffer(34 * 8));
  v.saveGeneral(g, 0);
  assert.equal(g.getBigUint64(31 * 8, true), 0xf_ffff_e000n);
  assert.equal(g.getBigUint64(32 * 8, true), 0x400110n);
  assert.equal(g.getBigUint64(33 * 8, true), 0x6000_0000n);
  g.setBigUint64(32 * 8, 0x500000n, true);
  g.setBigUint64(33 * 8, 0xffff_ffffn, true);
  v.loadGeneral(g, 0);
  assert.equal(v.get(Reg.PC), 0x500000);
  assert.equal(mem.getUint32(FRAME + S.F_SPSR, true), 0xf000_0000, "EL0t, DAIF clear");
});

Deno.test("hvf backend: FP/SIMD load goes through the shim, save reads the registers", () => {
  const { v, mem } = setup();
  const fp = new DataView(new ArrayBuffer(520));
  v.saveFpsimd(fp, 0);
  assert.equal(fp.getUint8(16 * 3), 3, "q3 from hv_vcpu_get_simd_fp_reg");
  for (let i = 0; i < 512; i++) fp.setUint8(i, i & 0xff);
  v.loadFpsimd(fp, 0);
  assert.equal(mem.getUint8(FP_AREA + 300), 300 & 0xff);
  assert.ok(mem.getUint32(FRAME + S.F_ACTION, true) & (1 << S.ACT_LOAD_FP));
  const back = new DataView(new ArrayBuffer(520));
  v.saveFpsimd(back, 0);
  assert.equal(back.getUint8(300), 300 & 0xff, "pending values read back before the shim ran");
});

Deno.test("hvf backend: run loop serves syscalls, boot and maintenance", () => {
  const { hv, b, v, mem } = setup();
  let calls = 0;
  hv.steps.push(
    () => hv.hvc(S.HVC_BOOT),
    () => hv.hvc(S.HVC_SYSCALL),
    () => {
      // The first syscall mapped memory: the shim is told to flush those pages.
      assert.equal(mem.getUint32(FRAME + S.F_ACTION, true) & (1 << S.ACT_TLBI_PAGES), 2);
      assert.equal(mem.getBigUint64(FRAME + S.F_TLBI_VA, true), 0x400n);
      assert.equal(mem.getBigUint64(FRAME + S.F_TLBI_N, true), 2n);
      mem.setUint32(FRAME + S.F_ACTION, 0, true); // what the shim's restore does
      hv.hvc(S.HVC_SYSCALL);
    },
  );
  b.pt.takeFlush();
  const exit = v.run(() => {
    calls++;
    if (calls === 1) b.map(0x40_0000, 0x2000, PROT_READ);
    else v.stop();
  }, 0);
  assert.deepEqual(exit, { kind: "stopped" });
  assert.equal(calls, 2);
  assert.equal(hv.sys.get(SysReg.SCTLR_EL1), SCTLR_VALUE | 1n, "HVC #4 turned the MMU on");
  // Stage 2 was refreshed for the new range, widened to 16 KiB pages.
  assert.ok(hv.maps.includes("unmap 400000 4000"), hv.maps.join(", "));
});

Deno.test("hvf backend: EL0 faults, W^X flips, and the other exits", () => {
  const { hv, b, v, mem } = setup();
  b.map(0x40_0000, 0x1000, PROT_READ | PROT_EXEC);
  b.map(0x80_0000, 0x1000, PROT_READ | PROT_WRITE | PROT_EXEC);
  const el0 = (esr: number, far: number, elr: number) => () => {
    mem.setUint32(FRAME + S.F_ESR, esr >>> 0, true);
    mem.setBigUint64(FRAME + S.F_FAR, BigInt(far), true);
    mem.setBigUint64(FRAME + S.F_ELR, BigInt(elr), true);
    hv.hvc(S.HVC_EXCEPTION);
  };
  // Unmapped load: SIGSEGV material, not mapped.
  hv.steps.push(el0(0x92000007, 0x60028, 0x400100));
  assert.deepEqual(v.run(() => {}, 0), {
    kind: "fault",
    address: 0x60028,
    access: "read",
    mapped: false,
    pc: 0x400100,
  });
  // Write to read-only text: mapped.
  hv.steps.push(el0(0x9200004f, 0x40_0008, 0x400104));
  assert.equal((v.run(() => {}, 0) as { mapped: boolean }).mapped, true);
  // Fetch from the RWX page: flipped to RX and retried, then a syscall stops the run.
  hv.steps.push(el0(0x8200000f, 0x80_0010, 0x80_0010), () => hv.hvc(S.HVC_SYSCALL));
  assert.deepEqual(v.run(() => v.stop(), 0), { kind: "stopped" });
  assert.equal(v.counts.wxFlips, 1);
  assert.equal(b.pt.leaf(0x80_0000)!.hi & (1 << 22), 0, "UXN cleared");
  // UNDEF and BRK.
  hv.steps.push(el0(0x02000000, 0, 0x400200));
  assert.deepEqual(v.run(() => {}, 0), { kind: "undefined", pc: 0x400200 });
  hv.steps.push(el0(((EC.BRK64 << 26) | (1 << 25)) >>> 0, 0, 0x400204));
  assert.deepEqual(v.run(() => {}, 0), { kind: "breakpoint", pc: 0x400204 });
  // WFI at EL0 trapped to EL2: skipped (live PC + 4).
  hv.regs.set(HV_REG_PC, 0x400300n);
  hv.steps.push(() => hv.exitWith((EC.WFX << 26) | (1 << 25)), () => hv.hvc(S.HVC_SYSCALL));
  v.run(() => v.stop(), 0);
  assert.equal(hv.regs.get(HV_REG_PC), 0x400304n);
  // DC ZVA x3 trapped by HCR_EL2.TDZ: zero the block.
  b.map(0x90_0000, 0x1000, PROT_READ | PROT_WRITE);
  mem.setUint8(0x90_0047, 0xaa);
  hv.regs.set(3, 0x90_0050n);
  hv.regs.set(HV_REG_PC, 0x400400n);
  const dczva = (1 << 20) | (1 << 17) | (3 << 14) | (7 << 10) | (3 << 5) | (4 << 1);
  hv.steps.push(
    () => hv.exitWith((EC.SYS64 << 26) | (1 << 25) | dczva),
    () => hv.hvc(S.HVC_SYSCALL),
  );
  v.run(() => v.stop(), 0);
  assert.equal(mem.getUint8(0x90_0047), 0, "64-byte block zeroed");
  assert.equal(hv.regs.get(HV_REG_PC), 0x400404n);
  // A stage-2 abort from EL0: live registers become the frame, the vCPU parks in the shim.
  hv.regs.set(HV_REG_PC, 0x400500n);
  hv.regs.set(9, 99n);
  hv.regs.set(HV_REG_CPSR, 0x2000_0000n);
  hv.sys.set(SysReg.SP_EL0, 0x7000n);
  hv.steps.push(() => hv.exitWith((EC.DABT_LOWER << 26) | (1 << 25) | 7, 0, 0x20_0000_0000));
  assert.deepEqual(v.run(() => {}, 0), {
    kind: "fault",
    address: 0x20_0000_0000,
    access: "read",
    mapped: false,
    pc: 0x400500,
  });
  assert.equal(v.get(Reg.X0 + 9 as Reg), 99);
  assert.equal(v.get(Reg.SP), 0x7000);
  assert.equal(v.get(Reg.NZCV), 0x2000_0000);
  assert.equal(hv.regs.get(HV_REG_PC), BigInt(SHIM_BASE + S.shim_resume));
  assert.equal(hv.regs.get(HV_REG_CPSR), BigInt(PSTATE_EL1H_MASKED));
  // hv_vcpus_exit (a kick from another thread) while at EL0: interrupted.
  hv.regs.set(HV_REG_CPSR, 0n);
  hv.steps.push(() => hv.exitWith(0, 0, 0, HV_EXIT_REASON_CANCELED));
  assert.deepEqual(v.run(() => {}, 0), { kind: "interrupted" });
  // Broken states are internal errors, never silent.
  hv.steps.push(() => hv.exitWith(0, 0, 0, HV_EXIT_REASON_UNKNOWN));
  assert.equal(v.run(() => {}, 0).kind, "internal");
  hv.steps.push(() => hv.hvc(S.HVC_UNEXPECTED));
  const bad = v.run(() => {}, 0);
  assert.ok(bad.kind === "internal" && /unexpected exception in the shim/.test(String(bad.error)));
  hv.steps.push(() => hv.hvc(77));
  assert.equal(v.run(() => {}, 0).kind, "internal");
});

Deno.test("hvf backend: guest mappings may not cover the shim window", () => {
  const { b } = setup();
  assert.throws(() => b.map(SHIM_BASE, 0x1000, PROT_READ), /shim window/);
  b.close();
  current = undefined;
});
