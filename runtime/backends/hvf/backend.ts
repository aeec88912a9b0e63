// The hvf backend: the guest runs at EL0 under stage-1 tables the runtime builds, an EL1 shim
// (shim/shim.S) turns every EL0 exception into an HVC exit, and this file serves those exits.
// It runs unchanged on Hypervisor.framework (ffi.ts) and on the Unicorn simulator (sim.ts); only
// the HvApi below differs.
//
// Guest memory: the slab is mapped once at IPA 0 with R|W|X at stage 2 and every permission lives
// in stage 1 (as elfuse does: reference/elfuse.md §1.2-1.3). The backend's own pages (shim code,
// the EL1 frame, the page-table pool) sit in a 16 MiB window of the slab inside the gap Linux
// leaves below the main stack, where the kernel's mmap never places anything; they are EL1-only
// in stage 1, so the guest can neither see nor touch them.
//
// vCPU state: between runs the vCPU is always parked in the shim, with the guest's EL0 registers
// in the frame the shim saved (x0-x30, SP_EL0, ELR = PC, SPSR = PSTATE). Register access is then
// plain memory access to slab bytes, so a syscall costs two exits and no register FFI calls.
import type {
  Access,
  Backend,
  Exit,
  NativeCall,
  SlabInfo,
  SyscallHandler,
  Vcpu,
  VcpuContext,
} from "../backend.ts";
import { Reg, registerArg } from "../backend.ts";
import { layout } from "../../memory/address_space.ts";
import { PROT_EXEC, PROT_READ, PROT_WRITE } from "../../memory/vmas.ts";
import { shimBytes, shimSymbols as S } from "../../../shim/shim_bytes.ts";
import {
  EXIT_PA_OFFSET,
  EXIT_REASON_OFFSET,
  EXIT_SYNDROME_OFFSET,
  EXIT_VA_OFFSET,
  HV_BUSY,
  HV_DENIED,
  HV_ERROR,
  HV_MEMORY_EXEC,
  HV_MEMORY_READ,
  HV_MEMORY_WRITE,
  HV_REG_CPSR,
  HV_REG_FPCR,
  HV_REG_FPSR,
  HV_REG_PC,
  HV_REG_X0,
  HV_SUCCESS,
  HV_UNSUPPORTED,
  hvName,
  PSTATE_EL1H_MASKED,
  SysReg,
  tcrValue,
} from "./constants.ts";
import { decodeExit, decodeGuestException, type GuestException, isDcZva } from "./exits.ts";
import type { HvApi } from "./hv_api.ts";
import { HvError } from "./hv_api.ts";
import { BLOCK, PageTables } from "./page_tables.ts";
import type { TableWrite } from "./rosetta_layout.ts";

const TWO32 = 4294967296;

/** The backend's window in the slab: 16 MiB, 2 MiB aligned, in the middle of the stack gap. */
export const INFRA_SIZE = 16 * 1024 * 1024;
export const INFRA_BASE = (() => {
  const gapTop = layout.stackTop - layout.stackSize;
  const mid = gapTop - layout.stackGap / 2;
  return mid - (mid % BLOCK) - INFRA_SIZE / 2;
})();
/** Shim code (EL1 read-only, executable), one 4 KiB page; VBAR_EL1 points at it (2 KiB aligned). */
export const SHIM_BASE = INFRA_BASE;
/** One EL1 data page whose top is SP_EL1; the frame sits just below it. Guard pages around it. */
export const EL1_STACK_PAGE = INFRA_BASE + 0x10000;
export const EL1_STACK_TOP = EL1_STACK_PAGE + 0x1000;
export const FRAME = EL1_STACK_TOP - S.FRAME_SIZE;
/** q0-q31 for the shim to load (ACT_LOAD_FP), at the bottom of the EL1 stack page. */
export const FP_AREA = EL1_STACK_PAGE;
/** The page-table pool: the rest of the window (about 4000 tables). */
export const PT_POOL = INFRA_BASE + 0x20000;
export const PT_POOL_SIZE = INFRA_BASE + INFRA_SIZE - PT_POOL;

/**
 * SCTLR_EL1 without M: RES1 bits as elfuse uses them (0x30d00980), C and I (caches), DZE (EL0 may
 * DC ZVA), UCT (EL0 may read CTR_EL0), nTWI/nTWE (EL0 WFI/WFE not trapped to EL1), UCI (EL0 cache
 * maintenance). M is set by the host at the shim's HVC #4: elfuse found that turning the MMU on
 * from the host before the first run makes the first fetch fault.
 */
export const SCTLR_VALUE = 0x30d00980n | (1n << 2n) | (1n << 12n) | (1n << 14n) | (1n << 15n) |
  (1n << 16n) | (1n << 18n) | (1n << 26n);
/** MAIR_EL1 attribute 0 = Normal, inner/outer write-back (the descriptors use AttrIndx 0). */
export const MAIR_VALUE = 0xffn;
/** CPACR_EL1.FPEN = 0b11: FP/SIMD does not trap (EC 0x07) at EL0 or EL1. */
export const CPACR_VALUE = 3n << 20n;
/** CNTKCTL_EL1.EL0VCTEN | EL0PCTEN: EL0 reads the counters directly. */
export const CNTKCTL_VALUE = 3n;
/** TCR_EL1.EPD1: no translation-table walks through TTBR1_EL1. */
const EPD1 = 1n << 23n;
/** DC ZVA block size on Apple silicon (DCZID_EL0.BS = 4: 2^4 words). */
const DC_ZVA_BYTES = 64;

/** The one-line message for an hv_vm_create failure, saying what to do. */
export function vmCreateError(code: number): string {
  if (code === HV_DENIED || code === HV_UNSUPPORTED || code === HV_ERROR) {
    return `hv_vm_create returned ${
      hvName(code)
    }: the running deno binary lacks the com.apple.security.hypervisor entitlement; sign a copy with \`cp "$(command -v deno)" ./deno-hvf && codesign --force --sign - --entitlements entitlements.plist ./deno-hvf\` and run elfuse with ./deno-hvf (docs/macos.md), or use --backend unicorn`;
  }
  if (code === HV_BUSY) {
    return "hv_vm_create returned HV_BUSY: this process already has a VM (one per process)";
  }
  return `hv_vm_create returned ${hvName(code)}; use --backend unicorn`;
}

/** PSTATE.SS / SPSR.SS: software step active for the instruction returned to. */
const PSTATE_SS = 1 << 21;
/** ESR_ELx.EC of a software-step exception from a lower EL. */
const EC_SOFTWARE_STEP = 0x32;

export class HvfBackend implements Backend {
  readonly name: string;
  readonly description: string;
  readonly hwcap: number;
  readonly hwcap2: number;
  readonly api: HvApi;
  readonly slab: SlabInfo;
  readonly mem: DataView;
  readonly u8: Uint8Array;
  readonly pt: PageTables;
  readonly ipaBits: number;
  #vcpu: HvfVcpu | undefined;
  /** The host rewrote guest code: the shim must IC IALLUIS before its next ERET. */
  icachePending = false;
  /** TTBR1_EL1's root once an upper-half tree is installed (enableTtbr1), else undefined. */
  ttbr1: { root: number; tcrBits: bigint } | undefined;
  /** The shim window is never the guest's: the address space refuses mappings there. */
  readonly reserved = [[INFRA_BASE, INFRA_BASE + INFRA_SIZE]] as const;

  constructor(api: HvApi, slab: SlabInfo) {
    this.api = api;
    this.slab = slab;
    this.name = api.kind;
    this.hwcap = api.hwcap;
    this.hwcap2 = api.hwcap2;
    if (INFRA_BASE < layout.stackTop - layout.stackSize - layout.stackGap || INFRA_BASE < 0) {
      throw new Error("hvf: the stack gap cannot hold the shim window");
    }
    if (slab.size < layout.stackTop) {
      throw new Error("hvf: the guest slab is smaller than the layout");
    }
    const need = Math.ceil(Math.log2(slab.size));
    const max = api.maxIpaSize();
    // The largest IPA size the host allows (36 bits by default, 40 on M3 and later with macOS 15).
    const bits = max > 0 ? max : 36;
    if (bits < need) {
      throw new Error(
        `hvf: the host's largest guest physical address space is ${bits} bits; the ${
          slab.size / 2 ** 30
        } GiB slab needs ${need}`,
      );
    }
    this.ipaBits = bits;
    const rc = api.vmCreate(max > 0 ? bits : 0);
    if (rc !== HV_SUCCESS) throw new Error(vmCreateError(rc));
    // One stage-2 mapping for the whole slab; stage 1 does the permissions.
    const m = api.vmMap(
      slab.hostBase,
      0,
      slab.size,
      HV_MEMORY_READ | HV_MEMORY_WRITE | HV_MEMORY_EXEC,
    );
    if (m !== HV_SUCCESS) {
      api.vmDestroy();
      throw new Error(`hv_vm_map of the ${slab.size >> 20} MiB guest slab failed: ${hvName(m)}`);
    }
    const ptr = Deno.UnsafePointer.create(BigInt(slab.hostBase))!;
    const buf = Deno.UnsafePointerView.getArrayBuffer(ptr, slab.size);
    this.mem = new DataView(buf);
    this.u8 = new Uint8Array(buf);
    this.u8.set(shimBytes, SHIM_BASE);
    this.pt = new PageTables(this.mem, PT_POOL, PT_POOL_SIZE);
    this.pt.map(SHIM_BASE, 0x1000, PROT_READ | PROT_EXEC, "el1-code");
    this.pt.map(EL1_STACK_PAGE, 0x1000, PROT_READ | PROT_WRITE, "el1-data");
    this.description = `${api.description}; IPA ${bits} bits; shim ${shimBytes.length} bytes at 0x${
      SHIM_BASE.toString(16)
    }`;
  }

  #checkRange(gpa: number, size: number): void {
    if (gpa < INFRA_BASE + INFRA_SIZE && gpa + size > INFRA_BASE) {
      throw new Error(
        `hvf: guest mapping 0x${gpa.toString(16)}+0x${
          size.toString(16)
        } overlaps elfuse's shim window at 0x${INFRA_BASE.toString(16)}`,
      );
    }
  }

  /**
   * Hypervisor.framework resolved the host pages at hv_vm_map time; the address space may just
   * have replaced them (mmap MAP_FIXED of zero pages or a file), so the range is mapped again,
   * widened to the 16 KiB host pages stage 2 works in.
   */
  #refreshStage2(gpa: number, size: number): void {
    if (!this.api.stage2PinsHostPages) return;
    const p = this.api.hostPageSize;
    const lo = gpa - (gpa % p), hi = Math.ceil((gpa + size) / p) * p;
    const flags = HV_MEMORY_READ | HV_MEMORY_WRITE | HV_MEMORY_EXEC;
    let rc = this.api.vmUnmap(lo, hi - lo);
    if (rc === HV_SUCCESS) rc = this.api.vmMap(this.slab.hostBase + lo, lo, hi - lo, flags);
    if (rc !== HV_SUCCESS) throw new HvError("hv_vm_map (refresh)", rc);
  }

  map(gpa: number, size: number, prot: number): void {
    this.#checkRange(gpa, size);
    this.#refreshStage2(gpa, size);
    this.pt.map(gpa, size, prot);
  }

  unmap(gpa: number, size: number): void {
    // No stage-2 refresh: the address space replaces the host pages after this call, and the
    // range is refreshed when it is mapped again (the guest cannot reach it before that).
    this.#checkRange(gpa, size);
    this.pt.unmap(gpa, size);
  }

  protect(gpa: number, size: number, prot: number): void {
    this.#checkRange(gpa, size);
    this.pt.protect(gpa, size, prot);
  }

  /**
   * A non-identity stage-1 mapping: guest VAs [va, va+size) read and run the slab's bytes at
   * [gpa, gpa+size) (IPA = slab offset, already stage-2 mapped), for Rosetta's image at 128 TiB
   * and its kbuf alias (rosetta_layout.ts). The VA may lie anywhere below 2^48 (T0SZ = 16); the
   * backing must stay clear of the shim window.
   */
  mapAlias(va: number, gpa: number, size: number, prot: number): void {
    if (gpa < 0 || gpa + size > this.slab.size) {
      throw new Error(`hvf: alias backing 0x${gpa.toString(16)} lies outside the slab`);
    }
    this.#checkRange(gpa, size);
    this.#checkRange(va, size);
    this.#refreshStage2(gpa, size);
    this.pt.mapAt(va, size, gpa, prot);
  }

  /** Removes an alias's stage-1 entries (its backing stays the address space's to free). */
  unmapAlias(va: number, size: number): void {
    this.#checkRange(va, size);
    this.pt.unmap(va, size);
  }

  /** New protection for an alias: the same output addresses, backed at `gpa` (mapAt's). */
  protectAlias(va: number, gpa: number, size: number, prot: number): void {
    this.#checkRange(va, size);
    this.pt.protect(va, size, prot, gpa);
  }

  /**
   * Installs an upper-half (TTBR1) tree: `build` gets three zeroed pool tables and returns the
   * descriptor writes (rosetta_layout.ts kbufTtbr1Writes); TCR_EL1 then walks TTBR1 (EPD1 clear)
   * with `tcrBits` ORed in. Must precede createVcpu, which loads TCR/TTBR1 once.
   */
  enableTtbr1(
    build: (tables: { l0: number; l1: number; l2: number }) => TableWrite[],
    tcrBits: bigint,
  ): void {
    if (this.#vcpu) throw new Error("hvf: TTBR1 must be installed before the vCPU exists");
    if (this.ttbr1) throw new Error("hvf: TTBR1 is already installed");
    const tables = { l0: this.pt.allocTable(), l1: this.pt.allocTable(), l2: this.pt.allocTable() };
    for (const w of build(tables)) {
      const at = w.table + w.index * 8;
      this.mem.setUint32(at, w.lo >>> 0, true);
      this.mem.setUint32(at + 4, w.hi >>> 0, true);
    }
    this.ttbr1 = { root: tables.l0, tcrBits };
  }

  invalidateCode(gpa: number, size: number): void {
    this.icachePending = true;
    this.api.codeChanged(gpa, size);
  }

  createVcpu(): Vcpu {
    if (this.#vcpu) throw new Error("the hvf backend runs one vCPU per guest process for now");
    this.#vcpu = new HvfVcpu(this);
    return this.#vcpu;
  }

  close(): void {
    this.#vcpu?.destroy();
    this.api.vmDestroy();
  }
}

export class HvfVcpu implements Vcpu {
  readonly #b: HvfBackend;
  readonly #api: HvApi;
  readonly #mem: DataView;
  readonly id: bigint;
  readonly #exit: DataView;
  #stopRequested = false;
  /** True while the vCPU waits in the shim (the frame is the guest state); false at a live EL0 exit. */
  #inShim = true;
  /** step() is running: a software-step exception ends it. */
  #stepping = false;
  #interruptPending = false;
  /** Exits served, by kind (for the self-test and -v). */
  readonly counts = { syscalls: 0, exceptions: 0, wxFlips: 0, other: 0 };

  constructor(b: HvfBackend) {
    this.#b = b;
    this.#api = b.api;
    this.#mem = b.mem;
    const { code, vcpu, exit } = this.#api.vcpuCreate();
    if (code !== HV_SUCCESS) throw new HvError("hv_vcpu_create", code);
    this.id = vcpu;
    this.#exit = exit;
    const sys: [number, bigint][] = [
      [SysReg.MAIR_EL1, MAIR_VALUE],
      // EPD1 (bit 23) stays set unless an upper-half tree exists (Rosetta's kbuf alias).
      [
        SysReg.TCR_EL1,
        b.ttbr1 ? tcrValue(b.ipaBits) & ~EPD1 | b.ttbr1.tcrBits : tcrValue(b.ipaBits),
      ],
      [SysReg.TTBR0_EL1, BigInt(b.pt.root)],
      [SysReg.TTBR1_EL1, BigInt(b.ttbr1?.root ?? 0)],
      [SysReg.VBAR_EL1, BigInt(SHIM_BASE + S.vectors)],
      [SysReg.CPACR_EL1, CPACR_VALUE],
      [SysReg.CNTKCTL_EL1, CNTKCTL_VALUE],
      [SysReg.SCTLR_EL1, SCTLR_VALUE],
      [SysReg.SP_EL1, BigInt(EL1_STACK_TOP)],
    ];
    for (const [reg, v] of sys) {
      this.#check(this.#api.setSysReg(vcpu, reg, v), "hv_vcpu_set_sys_reg");
    }
    this.#check(this.#api.setReg(vcpu, HV_REG_CPSR, BigInt(PSTATE_EL1H_MASKED)), "hv_vcpu_set_reg");
    this.#check(
      this.#api.setReg(vcpu, HV_REG_PC, BigInt(SHIM_BASE + S.shim_start)),
      "hv_vcpu_set_reg",
    );
    // The first EL0 frame: all registers zero, SPSR = EL0t with interrupts unmasked.
    new Uint8Array(this.#mem.buffer, FRAME, S.FRAME_SIZE).fill(0);
    this.#mem.setBigUint64(FRAME + S.F_FP_AREA, BigInt(FP_AREA), true);
  }

  #check(rc: number, what: string): void {
    if (rc !== HV_SUCCESS) throw new HvError(what, rc);
  }

  destroy(): void {
    this.#api.vcpuDestroy(this.id);
  }

  // ---- the frame ----

  static #slot(reg: Reg): number {
    if (reg <= 30) return FRAME + reg * 8;
    if (reg === Reg.SP) return FRAME + S.F_SP_EL0;
    if (reg === Reg.PC) return FRAME + S.F_ELR;
    return -1;
  }

  #num(at: number): number {
    return this.#mem.getInt32(at + 4, true) * TWO32 + this.#mem.getUint32(at, true);
  }
  #putNum(at: number, v: number): void {
    const hi = Math.floor(v / TWO32);
    this.#mem.setInt32(at + 4, hi, true);
    this.#mem.setUint32(at, v - hi * TWO32, true);
  }

  syscallArgs(args: Float64Array): number {
    for (let i = 0; i < 6; i++) {
      const at = FRAME + i * 8;
      args[i] = registerArg(this.#mem.getInt32(at + 4, true), this.#mem.getUint32(at, true));
    }
    return this.#mem.getUint32(FRAME + 64, true);
  }

  setResult(x0: number): void {
    this.#putNum(FRAME, x0);
  }

  get(reg: Reg): number {
    const at = HvfVcpu.#slot(reg);
    if (at >= 0) return this.#num(at);
    const v = this.getBig(reg);
    return Number(BigInt.asIntN(64, v));
  }

  set(reg: Reg, value: number): void {
    const at = HvfVcpu.#slot(reg);
    if (at >= 0) this.#putNum(at, value);
    else this.setBig(reg, BigInt(value));
  }

  getBig(reg: Reg): bigint {
    const at = HvfVcpu.#slot(reg);
    if (at >= 0) return this.#mem.getBigUint64(at, true);
    switch (reg) {
      case Reg.NZCV:
        return BigInt(this.#mem.getUint32(FRAME + S.F_SPSR, true) & 0xf000_0000);
      case Reg.TPIDR_EL0:
        return this.#api.getSysReg(this.id, SysReg.TPIDR_EL0);
      case Reg.FPCR:
        return this.#api.getReg(this.id, HV_REG_FPCR);
      case Reg.FPSR:
        return this.#api.getReg(this.id, HV_REG_FPSR);
    }
    throw new Error(`no such register ${reg}`);
  }

  setBig(reg: Reg, value: bigint): void {
    const at = HvfVcpu.#slot(reg);
    if (at >= 0) {
      this.#mem.setBigUint64(at, BigInt.asUintN(64, value), true);
      return;
    }
    const v = BigInt.asUintN(64, value);
    switch (reg) {
      case Reg.NZCV: {
        const spsr = this.#mem.getUint32(FRAME + S.F_SPSR, true);
        this.#mem.setUint32(
          FRAME + S.F_SPSR,
          ((spsr & 0x0fff_ffff) | Number(v & 0xf000_0000n)) >>> 0,
          true,
        );
        return;
      }
      case Reg.TPIDR_EL0:
        this.#check(this.#api.setSysReg(this.id, SysReg.TPIDR_EL0, v), "hv_vcpu_set_sys_reg");
        return;
      case Reg.FPCR:
        this.#check(this.#api.setReg(this.id, HV_REG_FPCR, v), "hv_vcpu_set_reg");
        return;
      case Reg.FPSR:
        this.#check(this.#api.setReg(this.id, HV_REG_FPSR, v), "hv_vcpu_set_reg");
        return;
    }
    throw new Error(`no such register ${reg}`);
  }

  saveGeneral(out: DataView, off: number): void {
    const m = this.#mem;
    for (let i = 0; i < 33; i++) {
      const at = i === 31 ? FRAME + S.F_SP_EL0 : i === 32 ? FRAME + S.F_ELR : FRAME + i * 8;
      out.setBigUint64(off + i * 8, m.getBigUint64(at, true), true);
    }
    // As far as the guest knows it runs at EL0t: the condition flags only.
    out.setBigUint64(off + 33 * 8, BigInt(m.getUint32(FRAME + S.F_SPSR, true) & 0xf000_0000), true);
  }

  loadGeneral(src: DataView, off: number): void {
    const m = this.#mem;
    for (let i = 0; i < 33; i++) {
      const at = i === 31 ? FRAME + S.F_SP_EL0 : i === 32 ? FRAME + S.F_ELR : FRAME + i * 8;
      m.setBigUint64(at, src.getBigUint64(off + i * 8, true), true);
    }
    // SPSR = EL0t, DAIF clear, with the saved NZCV: the ERET can only return to EL0.
    m.setBigUint64(FRAME + S.F_SPSR, src.getBigUint64(off + 33 * 8, true) & 0xf000_0000n, true);
  }

  #fpLoadPending(): boolean {
    return (this.#mem.getUint32(FRAME + S.F_ACTION, true) & (1 << S.ACT_LOAD_FP)) !== 0;
  }

  saveFpsimd(out: DataView, off: number): void {
    if (this.#fpLoadPending()) {
      // Values loaded since the last run are still in the area, not yet in the registers.
      for (let i = 0; i < 64; i++) {
        out.setBigUint64(off + i * 8, this.#mem.getBigUint64(FP_AREA + i * 8, true), true);
      }
    } else {
      const q = new Uint8Array(16);
      for (let n = 0; n < 32; n++) {
        this.#check(this.#api.getSimdFpReg(this.id, n, q), "hv_vcpu_get_simd_fp_reg");
        for (let b = 0; b < 16; b++) out.setUint8(off + n * 16 + b, q[b]);
      }
    }
    out.setUint32(off + 512, Number(this.getBig(Reg.FPSR)), true);
    out.setUint32(off + 516, Number(this.getBig(Reg.FPCR)), true);
  }

  loadFpsimd(src: DataView, off: number): void {
    // hv_vcpu_set_simd_fp_reg cannot be called from Deno (vector by value): the shim loads the
    // registers from FP_AREA before its next ERET.
    for (let i = 0; i < 64; i++) {
      this.#mem.setBigUint64(FP_AREA + i * 8, src.getBigUint64(off + i * 8, true), true);
    }
    const a = this.#mem.getUint32(FRAME + S.F_ACTION, true);
    this.#mem.setUint32(FRAME + S.F_ACTION, a | (1 << S.ACT_LOAD_FP), true);
    this.setBig(Reg.FPSR, BigInt(src.getUint32(off + 512, true)));
    this.setBig(Reg.FPCR, BigInt(src.getUint32(off + 516, true)));
  }

  stop(): void {
    this.#stopRequested = true;
  }

  // Contexts through the register accessors: a switch costs about 70 hv_* calls, which only
  // matters at thread switches (a syscall that blocks, a yield, a time slice).
  newContext(): VcpuContext {
    return { data: { regs: new DataView(new ArrayBuffer(34 * 8 + 520)), tpidr: 0n } };
  }

  saveContext(ctx: VcpuContext): void {
    const c = ctx.data as { regs: DataView; tpidr: bigint };
    this.saveGeneral(c.regs, 0);
    this.saveFpsimd(c.regs, 34 * 8);
    c.tpidr = this.getBig(Reg.TPIDR_EL0);
  }

  loadContext(ctx: VcpuContext): void {
    const c = ctx.data as { regs: DataView; tpidr: bigint };
    this.loadGeneral(c.regs, 0);
    this.loadFpsimd(c.regs, 34 * 8);
    this.setBig(Reg.TPIDR_EL0, c.tpidr);
  }

  freeContext(_ctx: VcpuContext): void {}

  /** hv_vcpus_exit is precise: the vCPU stops at an instruction boundary, registers in place. */
  interruptCall(): NativeCall | undefined {
    return this.#api.vcpusExitCall(this.id);
  }

  // ---- running ----

  /** Tells the shim which TLB and I-cache maintenance to do before its ERET (frame F_ACTION). */
  #publishMaintenance(): void {
    const f = this.#b.pt.takeFlush();
    const m = this.#mem;
    let action = m.getUint32(FRAME + S.F_ACTION, true);
    if (f.kind === "all") action |= 1 << S.ACT_TLBI_ALL;
    else if (f.kind === "pages") {
      if (action & (1 << S.ACT_TLBI_PAGES)) action |= 1 << S.ACT_TLBI_ALL; // two ranges: flush all
      else {
        action |= 1 << S.ACT_TLBI_PAGES;
        // TLBI VAE1IS takes VA[55:12] in bits 43:0.
        m.setBigUint64(FRAME + S.F_TLBI_VA, BigInt(f.va / 4096), true);
        m.setBigUint64(FRAME + S.F_TLBI_N, BigInt(f.pages), true);
      }
    }
    if (this.#b.icachePending) {
      action |= 1 << S.ACT_IC_IALLU;
      this.#b.icachePending = false;
    }
    m.setUint32(FRAME + S.F_ACTION, action, true);
  }

  /**
   * Architectural software step (Arm ARM D2.12): MDSCR_EL1.SS set, and PSTATE.SS set through the
   * SPSR the shim returns to EL0 with. EL0 runs one instruction, then takes a software-step
   * exception (EC 0x32) to EL1, which the shim forwards like any other; EL1 itself is not stepped
   * (MDSCR_EL1.KDE stays 0). An SVC completes its step when taken: the syscall is served and the
   * step exception follows at the next instruction. Tried on hvf-sim; not yet on a Mac.
   */
  step(onSyscall: SyscallHandler): Exit {
    const api = this.#api, id = this.id;
    try {
      if (!this.#inShim) this.#liveToFrame();
      const spsr = this.#num(FRAME + S.F_SPSR);
      this.#putNum(
        FRAME + S.F_SPSR,
        spsr - (spsr % (2 * PSTATE_SS)) + PSTATE_SS + (spsr % PSTATE_SS),
      );
      this.#check(api.setSysReg(id, SysReg.MDSCR_EL1, 1n), "hv_vcpu_set_sys_reg");
      this.#stepping = true;
      return this.#run(onSyscall, 0);
    } catch (e) {
      return { kind: "internal", error: e };
    } finally {
      this.#stepping = false;
      api.setSysReg(id, SysReg.MDSCR_EL1, 0n);
      const spsr = this.#num(FRAME + S.F_SPSR);
      if (Math.floor(spsr / PSTATE_SS) % 2 === 1) this.#putNum(FRAME + S.F_SPSR, spsr - PSTATE_SS);
    }
  }

  run(onSyscall: SyscallHandler, deadline: number): Exit {
    try {
      return this.#run(onSyscall, deadline);
    } catch (e) {
      return { kind: "internal", error: e };
    }
  }

  #run(onSyscall: SyscallHandler, deadline: number): Exit {
    const api = this.#api, id = this.id, x = this.#exit;
    for (;;) {
      if (this.#inShim) this.#publishMaintenance();
      const rc = api.vcpuRun(id);
      if (rc !== HV_SUCCESS) throw new HvError("hv_vcpu_run", rc);
      const e = decodeExit(
        x.getUint32(EXIT_REASON_OFFSET, true),
        Number(x.getBigUint64(EXIT_SYNDROME_OFFSET, true) & 0xffff_ffffn),
        Number(x.getBigUint64(EXIT_VA_OFFSET, true)),
        Number(x.getBigUint64(EXIT_PA_OFFSET, true)),
      );
      switch (e.kind) {
        case "hvc":
          this.#inShim = true;
          if (e.imm === S.HVC_SYSCALL) {
            this.counts.syscalls++;
            this.#stopRequested = false;
            onSyscall();
            if (this.#stopRequested) return { kind: "stopped" };
          } else if (e.imm === S.HVC_EXCEPTION) {
            this.counts.exceptions++;
            const r = this.#guestException();
            if (r) return r;
          } else if (e.imm === S.HVC_BOOT) {
            this.#check(
              api.setSysReg(id, SysReg.SCTLR_EL1, SCTLR_VALUE | 1n),
              "hv_vcpu_set_sys_reg",
            );
          } else if (e.imm === S.HVC_UNEXPECTED) {
            const r = (n: number) => "0x" + api.getReg(id, HV_REG_X0 + n).toString(16);
            throw new Error(
              `hvf: unexpected exception in the shim: vector +${r(0)} ESR ${r(1)} FAR ${r(2)} ELR ${
                r(3)
              } SPSR ${r(4)}`,
            );
          } else throw new Error(`hvf: unknown HVC #${e.imm} from the guest`);
          if (this.#interruptPending) {
            this.#interruptPending = false;
            return { kind: "interrupted" };
          }
          break;
        case "canceled": {
          // hv_vcpus_exit from another thread (nothing in elfuse calls it yet). At EL0 the live
          // registers become the frame; inside the shim the vCPU runs on to its HVC, where the
          // interrupt is reported.
          this.counts.other++;
          const el0 = (Number(api.getReg(id, HV_REG_CPSR)) & 0xf) === 0;
          if (!el0) {
            this.#interruptPending = true;
            continue;
          }
          this.#liveToFrame();
          if (deadline > 0 && Date.now() >= deadline) return { kind: "timeout" };
          return { kind: "interrupted" };
        }
        case "vtimer":
          // elfuse never enables the virtual timer; HVF masks it after this exit, so go on.
          this.counts.other++;
          break;
        case "wfx":
          // WFI/WFE at EL0 trap to EL2 under HVF; there is nothing to wait for: skip it (PC + 4).
          this.counts.other++;
          this.#inShim = false;
          this.#advanceLivePc();
          break;
        case "sys": {
          this.counts.other++;
          if (isDcZva(e) && !e.read) {
            this.#inShim = false;
            const r = this.#dcZva(e.rt);
            if (r) return r;
          } else {
            this.#liveToFrame();
            return { kind: "undefined", pc: this.get(Reg.PC) };
          }
          break;
        }
        case "stage2": {
          // Only a corrupt stage 1 can reach outside the slab; report it as the fault it is.
          this.#liveToFrame();
          return {
            kind: "fault",
            address: e.ipa,
            access: e.access,
            mapped: false,
            pc: this.get(Reg.PC),
          };
        }
        case "brk":
          this.#liveToFrame();
          return { kind: "breakpoint", pc: this.get(Reg.PC) };
        case "unhandled":
          throw new Error(
            `hvf: unhandled exit, EC 0x${e.ec.toString(16)} syndrome 0x${
              (e.syndrome >>> 0).toString(16)
            }`,
          );
        case "unknown":
          throw new Error(`hvf: hv_vcpu_run exit reason ${e.reason}`);
      }
      if (deadline > 0 && Date.now() >= deadline) return { kind: "timeout" };
    }
  }

  /** An EL0 exception the shim forwarded: W^X flips are served here, the rest go to the kernel. */
  #guestException(): Exit | undefined {
    const m = this.#mem;
    const esr = m.getUint32(FRAME + S.F_ESR, true);
    const far = this.#num(FRAME + S.F_FAR), elr = this.#num(FRAME + S.F_ELR);
    if (this.#stepping && esr >>> 26 === EC_SOFTWARE_STEP) return { kind: "step" };
    return this.toExit(decodeGuestException(esr, far, elr));
  }

  /** Kernel exit for a decoded guest exception (public for tests). */
  toExit(g: GuestException): Exit | undefined {
    const pt = this.#b.pt;
    switch (g.kind) {
      case "fault": {
        if (g.type === "permission" && g.access !== "read") {
          // A JIT's RWX page: fetch makes it RX, write makes it RW; the instruction is retried.
          if (pt.flipWX(g.address, g.access === "fetch")) {
            this.counts.wxFlips++;
            return undefined;
          }
        }
        const mapped = g.type !== "translation" || pt.protOf(g.address) !== undefined;
        return { kind: "fault", address: g.address, access: g.access, mapped, pc: g.pc };
      }
      case "undefined":
        return { kind: "undefined", pc: g.pc };
      case "breakpoint":
        return { kind: "breakpoint", pc: g.pc };
      case "unsupported":
        return {
          kind: "internal",
          error: new Error(
            `hvf: EL0 exception class 0x${g.ec.toString(16)} at 0x${g.pc.toString(16)}`,
          ),
        };
    }
  }

  #advanceLivePc(): void {
    const pc = this.#api.getReg(this.id, HV_REG_PC);
    this.#check(this.#api.setReg(this.id, HV_REG_PC, pc + 4n), "hv_vcpu_set_reg");
  }

  /** DC ZVA trapped by HCR_EL2.TDZ: zero the 64-byte block if the guest may write it. */
  #dcZva(rt: number): Exit | undefined {
    const va = rt === 31 ? 0 : Number(this.#api.getReg(this.id, HV_REG_X0 + rt));
    const block = va - (va % DC_ZVA_BYTES);
    const prot = this.#b.pt.protOf(block);
    // Above the slab only an alias (mapAt) translates: zero the bytes it is backed by.
    const at = block < this.#b.slab.size ? block : this.#b.pt.translate(block) ?? Infinity;
    if (prot === undefined || !(prot & PROT_WRITE) || at + DC_ZVA_BYTES > this.#b.slab.size) {
      this.#liveToFrame();
      const access: Access = "write";
      return {
        kind: "fault",
        address: va,
        access,
        mapped: prot !== undefined,
        pc: this.get(Reg.PC),
      };
    }
    this.#b.u8.fill(0, at, at + DC_ZVA_BYTES);
    this.#advanceLivePc();
    return undefined;
  }

  /**
   * An exit taken straight from EL0 (trapped to EL2, so the shim never saw it): copy the live
   * registers into the frame and park the vCPU at the shim's resume entry, so that register
   * access and the next run behave as after any shim exit. This path is rare and FFI-heavy.
   */
  #liveToFrame(): void {
    const api = this.#api, id = this.id, m = this.#mem;
    for (let n = 0; n <= 30; n++) {
      m.setBigUint64(FRAME + n * 8, api.getReg(id, HV_REG_X0 + n), true);
    }
    m.setBigUint64(FRAME + S.F_SP_EL0, api.getSysReg(id, SysReg.SP_EL0), true);
    m.setBigUint64(FRAME + S.F_ELR, api.getReg(id, HV_REG_PC), true);
    m.setBigUint64(FRAME + S.F_SPSR, api.getReg(id, HV_REG_CPSR), true);
    this.#check(api.setReg(id, HV_REG_CPSR, BigInt(PSTATE_EL1H_MASKED)), "hv_vcpu_set_reg");
    this.#check(api.setSysReg(id, SysReg.SP_EL1, BigInt(EL1_STACK_TOP)), "hv_vcpu_set_sys_reg");
    this.#check(api.setReg(id, HV_REG_PC, BigInt(SHIM_BASE + S.shim_resume)), "hv_vcpu_set_reg");
    this.#inShim = true;
  }
}
