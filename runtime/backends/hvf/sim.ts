// The hv_* API played by Unicorn 2.1.4+: the simulator behind `--backend hvf-sim`. Everything
// above this file (page tables, the EL1 shim, the HVC protocol, exit decoding) is the code that
// runs on a Mac; this file does what the hardware and Hypervisor.framework would do below the
// hv_* calls. The recipe and its evidence are in reference/unicorn-hvf-sim.md:
//
// - Unicorn never performs exception entry itself (QEMU's do_interrupt is not called; the
//   exception goes to UC_HOOK_INTR), so the hook does what the CPU does on an exception taken to
//   EL1 (Arm ARM D1.10): SPSR_EL1 = PSTATE, ELR_EL1 = preferred return address, ESR/FAR, SP banking,
//   PSTATE = EL1h with DAIF masked, PC = VBAR_EL1 + vector offset.
// - QEMU caches the EL in env->hflags. A PSTATE write does not rebuild it; a CP_REG write after it
//   does (2.1.x `reg_write` calls arm_rebuild_hflags), so every entry ends with the ESR_EL1 write.
// - HVC from EL1 is the exit to the host (intno 11, PC already past the HVC, as HVF reports it).
// - QEMU computes the exact ESR and FAR of an abort or UNDEF but no API exposes them; they are
//   read from a uc_context snapshot at offsets found once by a calibration run.
// - SCR_EL3.RW and HCR_EL2.RW are set before the MMU is enabled, or QEMU walks the tables in the
//   AArch32 format.
import { completeExclusiveStore } from "../unicorn/exclusive_store.ts";
import { skipLoadExitChecks } from "../unicorn/exit_checks.ts";
import type { NativeCall } from "../backend.ts";
import {
  EC,
  EXIT_PA_OFFSET,
  EXIT_REASON_OFFSET,
  EXIT_STRUCT_SIZE,
  EXIT_SYNDROME_OFFSET,
  EXIT_VA_OFFSET,
  HV_BAD_ARGUMENT,
  HV_BUSY,
  HV_ERROR,
  HV_EXIT_REASON_EXCEPTION,
  HV_REG_CPSR,
  HV_REG_FPCR,
  HV_REG_FPSR,
  HV_REG_PC,
  HV_SUCCESS,
  PSTATE_EL1H_MASKED,
  SysReg,
  sysRegFields,
  tcrValue,
} from "./constants.ts";
import type { HvApi } from "./hv_api.ts";
import { HvError } from "./hv_api.ts";
import { Scratch } from "../../host/libc.ts";
import * as uc from "../unicorn/ffi.ts";

const { INTR_HOOK, MEM_HOOK, UNTIL_FOREVER } = uc;
/** UC_CTL_WRITE(UC_CTL_TB_FLUSH = 10, 0 arguments). */
const UC_CTL_TB_FLUSH_WRITE = 10 | (1 << 30);
/** The Cortex-A72 Unicorn models reports ID_AA64MMFR0_EL1.PARange = 2: 40-bit addresses. */
const SIM_MAX_IPA_BITS = 40;
/** Apple silicon's stage-2 granule; the simulator enforces it so alignment bugs show up here. */
const HOST_PAGE = 0x4000;

// Scratch layout (bytes).
const VALUE = 0, ENGINE = 16, HOOK = 24, CTX = 32, EXIT = 64;
const CP = 128; // 8 uc_arm64_cp_reg structs of 32 bytes
const CP_SIZE = 32, CP_VAL = 24;
const IDS = 384, PTRS = 448, VALS = 576; // up to 16 batch items each
// The three entry batches, built once at vCPU creation: read (5 items), write from EL0 (8),
// write from EL1 (6); each has its ids, value pointers and values.
const R_IDS = 1024, R_PTRS = 1056, R_VALS = 1120;
const W0_IDS = 1280, W0_PTRS = 1344, W0_VALS = 1472;
const W1_IDS = 1664, W1_PTRS = 1728, W1_VALS = 1856;

/** Registers in the entry batches: CP struct slots. */
const CP_SP_EL1 = 0, CP_VBAR = 1, CP_FAR = 2, CP_SP_EL0 = 3, CP_SPSR = 4, CP_ELR = 5, CP_ESR = 6;
const CP_ANY = 7;

function ucRegOf(reg: number): number {
  if (reg < 29) return uc.UC_ARM64_REG_X0 + reg;
  if (reg === 29) return uc.UC_ARM64_REG_X29;
  if (reg === 30) return uc.UC_ARM64_REG_X30;
  switch (reg) {
    case HV_REG_PC:
      return uc.UC_ARM64_REG_PC;
    case HV_REG_FPCR:
      return uc.UC_ARM64_REG_FPCR;
    case HV_REG_FPSR:
      return uc.UC_ARM64_REG_FPSR;
    case HV_REG_CPSR:
      return uc.UC_ARM64_REG_PSTATE;
  }
  throw new HvError(`hv_reg ${reg}`, HV_BAD_ARGUMENT);
}

/** Which stack pointer is live for a PSTATE: SP_EL0 at EL0 and EL1t, SP_EL1 at EL1h. */
function liveBank(pstate: number): number {
  return (pstate & 0xf) === 5 ? SysReg.SP_EL1 : SysReg.SP_EL0;
}

interface Region {
  host: number;
  ipa: number;
  size: number;
  flags: number;
  view?: DataView;
}

export class SimHv implements HvApi {
  readonly kind = "hvf-sim";
  readonly description: string;
  readonly stage2PinsHostPages = false;
  readonly hostPageSize = HOST_PAGE;
  // Unicorn's default arm64 CPU is a Cortex-A72 (ARMv8.0): FP, ASIMD, AES, PMULL, SHA1, SHA2,
  // CRC32, and no LSE atomics.
  readonly hwcap = 0x1 | 0x2 | 0x8 | 0x10 | 0x20 | 0x40 | 0x80;
  readonly hwcap2 = 0;
  readonly #lib: uc.UnicornLib;
  readonly #s = new Scratch(4096);
  readonly #dv: DataView;
  readonly #exit: DataView;
  #engine: Deno.PointerObject | undefined;
  #ctx: Deno.PointerObject | undefined;
  #ctxView: DataView | undefined;
  #vmCreated = false;
  readonly #regions: Region[] = [];
  /** Offsets in a uc_context of env->exception.vaddress and .syndrome (calibrated). */
  #farOff = -1;
  #synOff = -1;
  #exitFilled = false;
  /** The PC at the last HVC exit, while no register write may have moved it. */
  #pc: bigint | undefined;
  readonly #path: string;
  #hookError: unknown;
  #intrHook: Deno.UnsafeCallback<typeof INTR_HOOK> | undefined;
  #memHook: Deno.UnsafeCallback<typeof MEM_HOOK> | undefined;
  readonly #addr: (off: number) => bigint;
  #rBatch: [bigint, bigint] = [0n, 0n];
  #w0Batch: [bigint, bigint] = [0n, 0n];
  #w0SvcBatch: [bigint, bigint] = [0n, 0n];
  #w1Batch: [bigint, bigint] = [0n, 0n];

  constructor() {
    const { lib, path } = uc.openUnicorn();
    this.#lib = lib;
    this.#path = path;
    const v = lib.uc_version(0, 0);
    const major = v >>> 24, minor = (v >>> 16) & 0xff, patch = (v >>> 8) & 0xff;
    const ver = `${major}.${minor}.${patch}`;
    if (major * 10000 + minor * 100 + patch < 20104) {
      // 2.0.x never rebuilds hflags on a CP_REG write; 2.1.1 failed one of the ten fault checks.
      throw new Error(
        `--backend hvf-sim needs libunicorn 2.1.4 or newer (${path} is ${ver}); run ./dev setup`,
      );
    }
    this.description = `hvf-sim: Hypervisor.framework simulated on unicorn ${ver} (${path})`;
    this.#dv = this.#s.view;
    this.#exit = new DataView(this.#s.u8.buffer, EXIT, EXIT_STRUCT_SIZE);
    const base = BigInt(this.#s.address);
    this.#addr = (off) => base + BigInt(off);
    for (let i = 0; i < 8; i++) this.#cpInit(i, 0);
  }

  // ---- uc_arm64_cp_reg helpers ----

  #cpInit(slot: number, reg: number): void {
    const f = sysRegFields(reg), o = CP + slot * CP_SIZE;
    this.#dv.setUint32(o, f.crn, true);
    this.#dv.setUint32(o + 4, f.crm, true);
    this.#dv.setUint32(o + 8, f.op0, true);
    this.#dv.setUint32(o + 12, f.op1, true);
    this.#dv.setUint32(o + 16, f.op2, true);
  }
  /** A CP struct for a register outside hv_sys_reg_t (SCR_EL3, HCR_EL2). */
  #cpRaw(slot: number, op0: number, op1: number, crn: number, crm: number, op2: number): void {
    this.#cpInit(slot, (op0 << 14) | (op1 << 11) | (crn << 7) | (crm << 3) | op2);
  }
  #cpVal(slot: number): bigint {
    return this.#dv.getBigUint64(CP + slot * CP_SIZE + CP_VAL, true);
  }
  #cpSet(slot: number, v: bigint): void {
    this.#dv.setBigUint64(CP + slot * CP_SIZE + CP_VAL, BigInt.asUintN(64, v), true);
  }

  #check(err: number, what: string): void {
    if (err !== 0) throw new Error(`${what}: ${uc.ucError(this.#lib, err)}`);
  }

  #regRead(e: Deno.PointerObject, id: number, off = VALUE): bigint {
    this.#check(this.#lib.uc_reg_read(e, id, this.#addr(off)), "uc_reg_read");
    return this.#dv.getBigUint64(off, true);
  }
  #regWrite(e: Deno.PointerObject, id: number, v: bigint): void {
    this.#dv.setBigUint64(VALUE, BigInt.asUintN(64, v), true);
    this.#check(this.#lib.uc_reg_write(e, id, this.#addr(VALUE)), "uc_reg_write");
  }
  #cpRead(e: Deno.PointerObject, slot: number): bigint {
    const p = this.#addr(CP + slot * CP_SIZE);
    this.#check(this.#lib.uc_reg_read(e, uc.UC_ARM64_REG_CP_REG, p), "uc_reg_read(CP_REG)");
    return this.#cpVal(slot);
  }
  #cpWrite(e: Deno.PointerObject, slot: number, v: bigint): void {
    this.#cpSet(slot, v);
    const p = this.#addr(CP + slot * CP_SIZE);
    this.#check(this.#lib.uc_reg_write(e, uc.UC_ARM64_REG_CP_REG, p), "uc_reg_write(CP_REG)");
  }
  /** Fills batch item i: a plain register (value in vals[i]) or a CP struct slot. */
  #batchItem(i: number, id: number, cpSlot = -1, ids = IDS, ptrs = PTRS, vals = VALS): void {
    this.#dv.setInt32(ids + i * 4, id, true);
    const ptr = cpSlot >= 0 ? CP + cpSlot * CP_SIZE : vals + i * 8;
    this.#dv.setBigUint64(ptrs + i * 8, this.#addr(ptr), true);
  }

  #buildEntryBatches(): void {
    const R = [R_IDS, R_PTRS, R_VALS] as const;
    this.#batchItem(0, uc.UC_ARM64_REG_PSTATE, -1, ...R);
    this.#batchItem(1, uc.UC_ARM64_REG_SP, -1, ...R);
    this.#batchItem(2, uc.UC_ARM64_REG_PC, -1, ...R);
    this.#batchItem(3, uc.UC_ARM64_REG_CP_REG, CP_SP_EL1, ...R);
    this.#batchItem(4, uc.UC_ARM64_REG_CP_REG, CP_VBAR, ...R);
    // From EL0: [FAR, SP_EL0, SPSR, ELR, PSTATE, SP, PC, ESR]. ESR is last: its CP_REG write is
    // the one that rebuilds hflags after the PSTATE write.
    const W0 = [W0_IDS, W0_PTRS, W0_VALS] as const;
    this.#batchItem(0, uc.UC_ARM64_REG_CP_REG, CP_FAR, ...W0);
    this.#batchItem(1, uc.UC_ARM64_REG_CP_REG, CP_SP_EL0, ...W0);
    this.#batchItem(2, uc.UC_ARM64_REG_CP_REG, CP_SPSR, ...W0);
    this.#batchItem(3, uc.UC_ARM64_REG_CP_REG, CP_ELR, ...W0);
    this.#batchItem(4, uc.UC_ARM64_REG_PSTATE, -1, ...W0);
    this.#batchItem(5, uc.UC_ARM64_REG_SP, -1, ...W0);
    this.#batchItem(6, uc.UC_ARM64_REG_PC, -1, ...W0);
    this.#batchItem(7, uc.UC_ARM64_REG_CP_REG, CP_ESR, ...W0);
    // From EL1 (same EL): no SP change. [FAR, SPSR, ELR, PSTATE, PC, ESR].
    const W1 = [W1_IDS, W1_PTRS, W1_VALS] as const;
    this.#batchItem(0, uc.UC_ARM64_REG_CP_REG, CP_FAR, ...W1);
    this.#batchItem(1, uc.UC_ARM64_REG_CP_REG, CP_SPSR, ...W1);
    this.#batchItem(2, uc.UC_ARM64_REG_CP_REG, CP_ELR, ...W1);
    this.#batchItem(3, uc.UC_ARM64_REG_PSTATE, -1, ...W1);
    this.#batchItem(4, uc.UC_ARM64_REG_PC, -1, ...W1);
    this.#batchItem(5, uc.UC_ARM64_REG_CP_REG, CP_ESR, ...W1);
    this.#rBatch = [this.#addr(R_IDS), this.#addr(R_PTRS)];
    this.#w0Batch = [this.#addr(W0_IDS), this.#addr(W0_PTRS)];
    this.#w0SvcBatch = [this.#addr(W0_IDS + 4), this.#addr(W0_PTRS + 8)];
    this.#w1Batch = [this.#addr(W1_IDS), this.#addr(W1_PTRS)];
  }

  // ---- VM ----

  maxIpaSize(): number {
    return SIM_MAX_IPA_BITS;
  }

  vmCreate(ipaBits: number): number {
    if (this.#vmCreated) return HV_BUSY; // one VM per process, as on macOS
    if (ipaBits > SIM_MAX_IPA_BITS) return HV_BAD_ARGUMENT;
    this.#vmCreated = true;
    return HV_SUCCESS;
  }

  vmDestroy(): number {
    if (this.#engine) this.#lib.uc_close(this.#engine);
    this.#engine = undefined;
    this.#vmCreated = false;
    return HV_SUCCESS;
  }

  vmMap(hostAddr: number, ipa: number, size: number, flags: number): number {
    if (!this.#vmCreated) return HV_ERROR;
    // Apple silicon needs 16 KiB alignment of all three. The IPA and size are checked here as
    // they would be on a Mac; the host address only where the host's own pages are 16 KiB
    // (Linux x86-64 mmap returns 4 KiB-aligned slabs).
    if ([ipa, size].some((x) => x % HOST_PAGE)) return HV_BAD_ARGUMENT;
    if (Deno.build.os === "darwin" && hostAddr % HOST_PAGE) return HV_BAD_ARGUMENT;
    const r = { host: hostAddr, ipa, size, flags };
    this.#regions.push(r);
    if (this.#engine) this.#mapRegion(this.#engine, r);
    return HV_SUCCESS;
  }

  #mapRegion(e: Deno.PointerObject, r: Region): void {
    // HV_MEMORY_READ/WRITE/EXEC have the values of UC_PROT_READ/WRITE/EXEC.
    this.#check(this.#lib.uc_mem_map_ptr(e, r.ipa, r.size, r.flags & 7, r.host), "uc_mem_map_ptr");
  }

  vmUnmap(ipa: number, size: number): number {
    if ([ipa, size].some((x) => x % HOST_PAGE)) return HV_BAD_ARGUMENT;
    if (this.#engine) {
      const err = this.#lib.uc_mem_unmap(this.#engine, ipa, size);
      if (err !== 0) return HV_BAD_ARGUMENT;
    }
    // Bookkeeping for a vCPU created later: only exact regions are tracked.
    const i = this.#regions.findIndex((r) => r.ipa === ipa && r.size === size);
    if (i >= 0) this.#regions.splice(i, 1);
    return HV_SUCCESS;
  }

  vmProtect(ipa: number, size: number, flags: number): number {
    if ([ipa, size].some((x) => x % HOST_PAGE)) return HV_BAD_ARGUMENT;
    if (this.#engine && this.#lib.uc_mem_protect(this.#engine, ipa, size, flags & 7) !== 0) {
      return HV_BAD_ARGUMENT;
    }
    return HV_SUCCESS;
  }

  /**
   * The 32-bit instruction at an address (the shim's HVC, the guest's SVC), read as IPA: the
   * simulator relies on both being identity-mapped, which the hvf backend's tables guarantee.
   */
  #insnAt(va: number): number {
    for (const r of this.#regions) {
      if (va >= r.ipa && va + 4 <= r.ipa + r.size) {
        r.view ??= new DataView(
          Deno.UnsafePointerView.getArrayBuffer(Deno.UnsafePointer.create(BigInt(r.host))!, r.size),
        );
        return r.view.getUint32(va - r.ipa, true);
      }
    }
    return 0;
  }

  // ---- vCPU ----

  vcpuCreate(): { code: number; vcpu: bigint; exit: DataView } {
    if (!this.#vmCreated || this.#engine) return { code: HV_BUSY, vcpu: 0n, exit: this.#exit };
    this.#calibrate();
    const lib = this.#lib;
    this.#check(lib.uc_open(uc.UC_ARCH_ARM64, uc.UC_MODE_ARM, this.#addr(ENGINE)), "uc_open");
    const e = Deno.UnsafePointer.create(this.#dv.getBigUint64(ENGINE, true))!;
    this.#engine = e;
    for (const r of this.#regions) this.#mapRegion(e, r);
    this.#setupEl2El3(e);
    this.#check(lib.uc_context_alloc(e, this.#addr(CTX)), "uc_context_alloc");
    this.#ctx = Deno.UnsafePointer.create(this.#dv.getBigUint64(CTX, true))!;
    const size = Number(lib.uc_context_size(e));
    this.#ctxView = new DataView(Deno.UnsafePointerView.getArrayBuffer(this.#ctx, size));
    this.#intrHook = new Deno.UnsafeCallback(INTR_HOOK, (_u, intno) => this.#onIntr(intno));
    this.#memHook = new Deno.UnsafeCallback(
      MEM_HOOK,
      (_u, type, address) => this.#onUnmapped(type, address),
    );
    const hook = this.#addr(HOOK);
    this.#check(
      lib.uc_hook_add(e, hook, uc.UC_HOOK_INTR, this.#intrHook.pointer, null, 1, 0),
      "uc_hook_add",
    );
    this.#check(
      lib.uc_hook_add(e, hook, uc.UC_HOOK_MEM_INVALID, this.#memHook.pointer, null, 1, 0),
      "uc_hook_add",
    );
    this.#cpInit(CP_SP_EL1, SysReg.SP_EL1);
    this.#cpInit(CP_VBAR, SysReg.VBAR_EL1);
    this.#cpInit(CP_FAR, SysReg.FAR_EL1);
    this.#cpInit(CP_SP_EL0, SysReg.SP_EL0);
    this.#cpInit(CP_SPSR, SysReg.SPSR_EL1);
    this.#cpInit(CP_ELR, SysReg.ELR_EL1);
    this.#cpInit(CP_ESR, SysReg.ESR_EL1);
    this.#buildEntryBatches();
    return { code: HV_SUCCESS, vcpu: 0n, exit: this.#exit };
  }

  /**
   * What Hypervisor.framework provides below EL1: AArch64 at EL1 (SCR_EL3.RW, HCR_EL2.RW), the
   * non-secure world (SCR_EL3.NS) with HVC enabled (SCR_EL3.HCE), and the vCPU at EL1h.
   */
  #setupEl2El3(e: Deno.PointerObject): void {
    this.#regWrite(e, uc.UC_ARM64_REG_PSTATE, BigInt(PSTATE_EL1H_MASKED));
    this.#cpRaw(CP_ANY, 3, 6, 1, 1, 0); // SCR_EL3
    this.#cpWrite(e, CP_ANY, 0x501n);
    this.#cpRaw(CP_ANY, 3, 4, 1, 1, 0); // HCR_EL2
    this.#cpWrite(e, CP_ANY, 1n << 31n);
  }

  /**
   * Finds where env->exception.{syndrome, vaddress} sit in a uc_context: two EL1 loads from
   * distinct unmapped VAs in a throwaway engine (level-0 translation faults), then the offset
   * whose u64 equals both VAs. The offsets belong to the library build, not the instance.
   */
  #calibrate(): void {
    if (this.#farOff >= 0) return;
    const lib = this.#lib;
    this.#check(lib.uc_open(uc.UC_ARCH_ARM64, uc.UC_MODE_ARM, this.#addr(ENGINE)), "uc_open");
    const e = Deno.UnsafePointer.create(this.#dv.getBigUint64(ENGINE, true))!;
    try {
      this.#check(lib.uc_mem_map(e, 0, 0x4000, 7), "uc_mem_map");
      const code = new Uint8Array(16);
      const cv = new DataView(code.buffer);
      cv.setUint32(0, 0xf9400001, true); // ldr x1, [x0]
      cv.setUint32(4, 0x14000000, true); // b .
      this.#check(lib.uc_mem_write(e, 0, code, 8), "uc_mem_write");
      const t = new Uint8Array(8);
      const tv = new DataView(t.buffer);
      tv.setBigUint64(0, 0x2003n, true); // L0[0] -> table at 0x2000
      lib.uc_mem_write(e, 0x1000, t, 8);
      tv.setBigUint64(0, 0x701n, true); // L1[0]: 1 GiB block at 0, AF, inner shareable, EL1 RW
      lib.uc_mem_write(e, 0x2000, t, 8);
      this.#setupEl2El3(e);
      const sys: [number, bigint][] = [
        [SysReg.MAIR_EL1, 0xffn],
        [SysReg.TCR_EL1, tcrValue(SIM_MAX_IPA_BITS)],
        [SysReg.TTBR0_EL1, 0x1000n],
        [SysReg.SCTLR_EL1, 0x30d00800n | 1n],
      ];
      for (const [r, v] of sys) {
        this.#cpInit(CP_ANY, r);
        this.#cpWrite(e, CP_ANY, v);
      }
      this.#check(lib.uc_context_alloc(e, this.#addr(CTX)), "uc_context_alloc");
      const ctx = Deno.UnsafePointer.create(this.#dv.getBigUint64(CTX, true))!;
      const size = Number(lib.uc_context_size(e));
      let saved = false;
      const cb = new Deno.UnsafeCallback(INTR_HOOK, (_u, intno) => {
        if (intno === uc.EXCP_DATA_ABORT) saved = lib.uc_context_save(e, ctx) === 0;
        lib.uc_emu_stop(e);
      });
      this.#check(
        lib.uc_hook_add(e, this.#addr(HOOK), uc.UC_HOOK_INTR, cb.pointer, null, 1, 0),
        "uc_hook_add",
      );
      const sentinels = [0x7f00_0000_0028n, 0x7e80_0000_1230n];
      const snaps: DataView[] = [];
      for (const s of sentinels) {
        saved = false;
        this.#regWrite(e, uc.UC_ARM64_REG_X0, s);
        lib.uc_emu_start(e, 0n, UNTIL_FOREVER, 0, 0);
        if (!saved) throw new Error("hvf-sim calibration: the probe load did not fault");
        snaps.push(new DataView(Deno.UnsafePointerView.getArrayBuffer(ctx, size).slice(0)));
      }
      cb.close();
      lib.uc_context_free(ctx);
      for (let o = 8; o + 8 <= size; o += 8) {
        if (
          snaps[0].getBigUint64(o, true) === sentinels[0] &&
          snaps[1].getBigUint64(o, true) === sentinels[1]
        ) {
          const syn = snaps[0].getUint32(o - 8, true);
          // EC 0x25 (data abort, same EL), DFSC 0b000100 (translation fault, level 0).
          if (syn >>> 26 === EC.DABT_CURRENT && (syn & 0x3f) === 0x04) {
            this.#farOff = o;
            this.#synOff = o - 8;
            return;
          }
        }
      }
      throw new Error("hvf-sim calibration: cannot find the exception syndrome in uc_context");
    } finally {
      lib.uc_close(e);
    }
  }

  vcpuDestroy(_vcpu: bigint): number {
    return HV_SUCCESS;
  }

  vcpuRun(_vcpu: bigint): number {
    const e = this.#engine;
    if (!e) return HV_BAD_ARGUMENT;
    this.#exitFilled = false;
    this.#hookError = undefined;
    const pc = this.#pc ?? this.#regRead(e, uc.UC_ARM64_REG_PC);
    this.#pc = undefined;
    const err = this.#lib.uc_emu_start(e, pc, UNTIL_FOREVER, 0, 0);
    if (this.#hookError !== undefined) throw this.#hookError;
    if (this.#exitFilled) return HV_SUCCESS;
    if (err !== 0) throw new Error(`hvf-sim: uc_emu_start: ${uc.ucError(this.#lib, err)}`);
    // Stopped without an exit: hv_vcpus_exit was called (HV_EXIT_REASON_CANCELED = 0).
    if ((Number(this.#regRead(e, uc.UC_ARM64_REG_PSTATE)) & 0xc) === 0) this.#repairAtEl0(e);
    this.#fillExit(0, 0, 0, 0);
    return HV_SUCCESS;
  }

  vcpusExit(_vcpu: bigint): number {
    if (this.#engine) this.#lib.uc_emu_stop(this.#engine);
    return HV_SUCCESS;
  }

  /**
   * uc_emu_stop from another thread, as the unicorn backend offers it (unicorn/backend.ts
   * interruptCall): precise once the exit checks after loads are gone, with a store exclusive cut
   * after its store finished on the next run (unicorn/exclusive_store.ts).
   */
  vcpusExitCall(_vcpu: bigint): NativeCall | undefined {
    if (this.#engine === undefined || skipLoadExitChecks(this.#lib) !== "") return undefined;
    return {
      library: this.#path,
      symbol: "uc_emu_stop",
      parameters: ["usize"],
      args: [Deno.UnsafePointer.value(this.#engine)],
    };
  }

  /** A store exclusive of EL0 code cut after its store is finished (unicorn/exclusive_store.ts). */
  #repairAtEl0(e: Deno.PointerObject): void {
    const lib = this.#lib;
    completeExclusiveStore({
      reg: (id) => this.#regRead(e, id),
      setReg: (id, v) => this.#regWrite(e, id, v),
      // Guest virtual addresses are identity-mapped to the slab's physical ones (page_tables.ts).
      read: (addr, bytes) => {
        this.#dv.setBigUint64(VALUE, 0n, true);
        if (lib.uc_mem_read(e, addr, this.#addr(VALUE), bytes) !== 0) return undefined;
        return this.#dv.getBigUint64(VALUE, true);
      },
    });
  }

  #fillExit(reason: number, syndrome: number, va: number, pa: number): void {
    const x = this.#exit;
    x.setUint32(EXIT_REASON_OFFSET, reason, true);
    x.setBigUint64(EXIT_SYNDROME_OFFSET, BigInt(syndrome >>> 0), true);
    x.setBigUint64(EXIT_VA_OFFSET, BigInt(va), true);
    x.setBigUint64(EXIT_PA_OFFSET, BigInt(pa), true);
    this.#exitFilled = true;
  }

  /** Exceptions: HVC exits to the host; everything else is taken to the guest's EL1 vectors. */
  #onIntr(intno: number): void {
    const e = this.#engine!;
    try {
      if (intno === uc.EXCP_HVC) {
        const pcBig = this.#regRead(e, uc.UC_ARM64_REG_PC);
        this.#pc = pcBig; // where the next hv_vcpu_run resumes unless the host moves it
        const imm = (this.#insnAt(Number(pcBig) - 4) >>> 5) & 0xffff;
        this.#fillExit(HV_EXIT_REASON_EXCEPTION, (EC.HVC64 << 26) | (1 << 25) | imm, 0, 0);
        this.#lib.uc_emu_stop(e);
        return;
      }
      if (intno === uc.EXCP_SMC) {
        // HVF traps SMC to EL2 (EC 0x17); the host would advance PC.
        this.#fillExit(HV_EXIT_REASON_EXCEPTION, (EC.SMC64 << 26) | (1 << 25), 0, 0);
        this.#lib.uc_emu_stop(e);
        return;
      }
      if (
        intno !== uc.EXCP_SWI && intno !== uc.EXCP_UDEF && intno !== uc.EXCP_PREFETCH_ABORT &&
        intno !== uc.EXCP_DATA_ABORT && intno !== uc.EXCP_BKPT
      ) {
        throw new Error(`hvf-sim: exception ${intno} has no simulated entry`);
      }
      this.#enterEl1(e, intno);
    } catch (err) {
      this.#hookError = err;
      this.#lib.uc_emu_stop(e);
    }
  }

  #enterEl1(e: Deno.PointerObject, intno: number): void {
    const lib = this.#lib, dv = this.#dv;
    const [rIds, rPtrs] = this.#rBatch;
    this.#check(lib.uc_reg_read_batch(e, rIds, rPtrs, 5), "read batch");
    const pstate = dv.getBigUint64(R_VALS, true);
    const sp = dv.getBigUint64(R_VALS + 8, true);
    const pc = dv.getBigUint64(R_VALS + 16, true);
    const spEl1 = this.#cpVal(CP_SP_EL1), vbar = this.#cpVal(CP_VBAR);
    let esr: number, far = 0n;
    if (intno === uc.EXCP_SWI) {
      // Preferred return for SVC is the next instruction, which is where Unicorn's PC already is.
      const imm = (this.#insnAt(Number(pc) - 4) >>> 5) & 0xffff;
      esr = (EC.SVC64 << 26) | (1 << 25) | imm;
    } else {
      this.#check(lib.uc_context_save(e, this.#ctx!), "uc_context_save");
      esr = this.#ctxView!.getUint32(this.#synOff, true);
      far = this.#ctxView!.getBigUint64(this.#farOff, true);
      if (intno === uc.EXCP_UDEF) esr = (esr & ~0x3ffffff) | (1 << 25);
    }
    const m = Number(pstate) & 0xf;
    // Vector offsets (D1.10.2): lower EL AArch64 +0x400; current EL with SP_ELx +0x200, SP_EL0 +0.
    this.#cpSet(CP_FAR, far);
    this.#cpSet(CP_SPSR, pstate);
    this.#cpSet(CP_ELR, pc);
    this.#cpSet(CP_ESR, BigInt(esr >>> 0));
    if (m !== 0) {
      // Same-EL exceptions report EC 0x21/0x25 (QEMU computed those) and keep the SP.
      dv.setBigUint64(W1_VALS + 24, BigInt(PSTATE_EL1H_MASKED), true);
      dv.setBigUint64(W1_VALS + 32, vbar + (m === 5 ? 0x200n : 0n), true);
      const [ids, ptrs] = this.#w1Batch;
      this.#check(lib.uc_reg_write_batch(e, ids, ptrs, 6), "write batch");
      return;
    }
    this.#cpSet(CP_SP_EL0, sp); // the live SP was EL0's: bank it
    dv.setBigUint64(W0_VALS + 32, BigInt(PSTATE_EL1H_MASKED), true);
    dv.setBigUint64(W0_VALS + 40, spEl1, true); // EL1h: the live SP becomes SP_EL1
    dv.setBigUint64(W0_VALS + 48, vbar + 0x400n, true);
    // SVC leaves FAR UNKNOWN: skip the FAR item rather than invent a value.
    const svc = intno === uc.EXCP_SWI;
    const [ids, ptrs] = svc ? this.#w0SvcBatch : this.#w0Batch;
    this.#check(lib.uc_reg_write_batch(e, ids, ptrs, svc ? 7 : 8), "write batch");
  }

  /**
   * An access outside every mapped IPA range: Hypervisor.framework's stage-2 abort exit
   * (EC 0x24/0x20 with the IPA in physical_address, ISV = 0). The VA is not known here.
   */
  #onUnmapped(type: number, address: bigint): boolean {
    const fetch = type === uc.UC_MEM_FETCH_UNMAPPED || type === uc.UC_MEM_FETCH_PROT;
    const write = type === uc.UC_MEM_WRITE_UNMAPPED || type === uc.UC_MEM_WRITE_PROT;
    const ec = fetch ? EC.IABT_LOWER : EC.DABT_LOWER;
    // DFSC 0b000111: translation fault, level 3.
    const syndrome = (ec << 26) | (1 << 25) | (write ? 1 << 6 : 0) | 0x07;
    this.#fillExit(HV_EXIT_REASON_EXCEPTION, syndrome, 0, Number(address));
    return false;
  }

  // ---- registers ----

  getReg(_vcpu: bigint, reg: number): bigint {
    return this.#regRead(this.#engine!, ucRegOf(reg));
  }

  setReg(_vcpu: bigint, reg: number, value: bigint): number {
    const e = this.#engine!;
    this.#pc = undefined;
    if (reg !== HV_REG_CPSR) {
      this.#regWrite(e, ucRegOf(reg), value);
      return HV_SUCCESS;
    }
    // A PSTATE write that changes (EL, SPSel) must bank the SP by hand (Unicorn keeps the live SP
    // in xregs[31]), and then one CP_REG write rebuilds QEMU's cached hflags.
    const old = Number(this.#regRead(e, uc.UC_ARM64_REG_PSTATE));
    const from = liveBank(old), to = liveBank(Number(value));
    if (from !== to) {
      const live = this.#regRead(e, uc.UC_ARM64_REG_SP);
      this.#cpInit(CP_ANY, from);
      this.#cpWrite(e, CP_ANY, live);
      this.#cpInit(CP_ANY, to);
      const next = this.#cpRead(e, CP_ANY);
      this.#regWrite(e, uc.UC_ARM64_REG_PSTATE, value);
      this.#regWrite(e, uc.UC_ARM64_REG_SP, next);
    } else this.#regWrite(e, uc.UC_ARM64_REG_PSTATE, value);
    this.#cpInit(CP_ANY, SysReg.ESR_EL1);
    this.#cpWrite(e, CP_ANY, this.#cpRead(e, CP_ANY));
    return HV_SUCCESS;
  }

  getSysReg(_vcpu: bigint, reg: number): bigint {
    const e = this.#engine!;
    if (reg === SysReg.SP_EL0 || reg === SysReg.SP_EL1) {
      const pstate = Number(this.#regRead(e, uc.UC_ARM64_REG_PSTATE));
      if (liveBank(pstate) === reg) return this.#regRead(e, uc.UC_ARM64_REG_SP);
    }
    this.#cpInit(CP_ANY, reg);
    return this.#cpRead(e, CP_ANY);
  }

  setSysReg(_vcpu: bigint, reg: number, value: bigint): number {
    const e = this.#engine!;
    this.#pc = undefined;
    if (reg === SysReg.SP_EL0 || reg === SysReg.SP_EL1) {
      const pstate = Number(this.#regRead(e, uc.UC_ARM64_REG_PSTATE));
      if (liveBank(pstate) === reg) {
        this.#regWrite(e, uc.UC_ARM64_REG_SP, value);
        return HV_SUCCESS;
      }
    }
    this.#cpInit(CP_ANY, reg);
    this.#cpWrite(e, CP_ANY, value);
    return HV_SUCCESS;
  }

  getSimdFpReg(_vcpu: bigint, n: number, out: Uint8Array): number {
    const e = this.#engine!;
    this.#check(this.#lib.uc_reg_read(e, uc.UC_ARM64_REG_Q0 + n, this.#addr(VALUE)), "uc_reg_read");
    out.set(this.#s.u8.subarray(VALUE, VALUE + 16));
    return HV_SUCCESS;
  }

  codeChanged(_ipa: number, _size: number): void {
    // UC_CTL_TB_REMOVE_CACHE translates with the current (EL1) regime, which may not fetch
    // user pages (PXN); drop every translated block instead. Rare: munmap/mprotect of code.
    if (this.#engine) this.#lib.uc_ctl3(this.#engine, UC_CTL_TB_FLUSH_WRITE, 0, 0);
  }
}
