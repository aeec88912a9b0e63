// The Unicorn backend: the guest runs on Unicorn's TCG with MMU off, so guest virtual addresses
// are Unicorn addresses, each guest range mapped with uc_mem_map_ptr over the slab (zero copy).
// Syscalls are served inside a synchronous UC_HOOK_INTR callback, the fastest measured path
// (~0.22 µs per call; reference/unicorn-deno-facts.md §4b).
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
import { Scratch } from "../../host/libc.ts";
import * as uc from "./ffi.ts";
import { enableFastStores } from "./fast_stores.ts";
import { skipLoadExitChecks } from "./exit_checks.ts";
import { skipStoreExitChecks } from "./store_exits.ts";
import { completeExclusiveStore } from "./exclusive_store.ts";
import { TlbGrowth, UC_CTL_TLB_FLUSH_WRITE } from "./tlb_growth.ts";

const { INTR_HOOK, MEM_HOOK, SYS_HOOK, UNTIL_FOREVER } = uc;
// IC IVAU, Xt: SYS #3, C7, C5, #1 (Arm ARM C5.3); uc_arm64_cp_reg is { u32 crn, crm, op0, op1, op2;
// u64 val @24 }. Cortex-A72's CTR_EL0.IminLine is 4: 16 words, 64-byte instruction cache lines.
const IC_LINE = 64;
// Unicorn's FlatView holds at most TARGET_PAGE_SIZE (4096) sections and aborts past that
// (qemu/exec.c phys_section_add); measured, that is reached at about 1000 memory regions, whether
// adjacent or not. Memory that grows a page at a time (brk, mremap) adds a region per step, so
// past MERGE_REGIONS_AT regions adjacent ones with the same permissions are merged into one, and
// a change that could pass REGION_LIMIT is refused (the guest gets ENOMEM, as from Linux at
// vm.max_map_count).
const MERGE_REGIONS_AT = 128;
// Splitting a region later (a partial munmap or mprotect) costs time in proportion to its size,
// as Unicorn flushes its TLB page by page: merged regions stay at most 16 MiB (about 2 ms).
const MERGED_MAX = 16 << 20;
const REGION_LIMIT = 900;

function ucReg(reg: Reg): number {
  if (reg < 29) return uc.UC_ARM64_REG_X0 + reg;
  if (reg === 29 as Reg) return uc.UC_ARM64_REG_X29;
  if (reg === 30 as Reg) return uc.UC_ARM64_REG_X30;
  switch (reg) {
    case Reg.SP:
      return uc.UC_ARM64_REG_SP;
    case Reg.PC:
      return uc.UC_ARM64_REG_PC;
    case Reg.NZCV:
      return uc.UC_ARM64_REG_NZCV;
    case Reg.TPIDR_EL0:
      return uc.UC_ARM64_REG_TPIDR_EL0;
    case Reg.FPCR:
      return uc.UC_ARM64_REG_FPCR;
    case Reg.FPSR:
      return uc.UC_ARM64_REG_FPSR;
  }
  throw new Error(`no such register ${reg}`);
}

// Scratch layout: [0, 64) one register value; [64, 128) 7 batch values; [128, 160) batch reg ids;
// [160, 224) batch value pointers; [224, 232) uc_engine* out-param; [232, 240) hook handle;
// [240, 256) uc_mem_regions' array pointer and count;
// [256, 528) 34 frame values; [528, 664) their reg ids; [664, 936) their value pointers;
// [936, 940) one register id and [944, 952) a pointer to VALUE, for a one-register batch write;
// [952, 960) uc_context_alloc's out-param; [960, 976) bytes uc_mem_read copies out.
const VALUE = 0, BATCH_VALUES = 64, BATCH_IDS = 128, BATCH_PTRS = 160, ENGINE = 224, HOOK = 232;
const REGIONS = 240, REGION_COUNT = 248; // uc_mem_regions out-params
const FRAME_VALUES = 256, FRAME_IDS = 528, FRAME_PTRS = 664, FRAME_REGS = 34;
const ONE_ID = 936, ONE_PTR = 944, CONTEXT_OUT = 952, MEM_READ = 960;

export class UnicornBackend implements Backend {
  readonly name = "unicorn";
  /** Unicorn reads guest memory at the slab's host addresses (uc_mem_map_ptr). */
  readonly keepsTranslations = true;
  // Unicorn's default arm64 CPU is a Cortex-A72: FP, ASIMD, AES, PMULL, SHA1, SHA2, CRC32.
  readonly hwcap = 0x1 | 0x2 | 0x8 | 0x10 | 0x20 | 0x40 | 0x80;
  readonly hwcap2 = 0;
  /** The Cortex-A72's MIDR_EL1 (ARM Cortex-A72 TRM 4.3.1: r0p3). */
  readonly midr = 0x410fd083;
  /** QEMU's generic timer runs at 62.5 MHz (GTIMER_SCALE 16 ns; docs/internals.md, vDSO). */
  readonly counterHz = 62_500_000;
  // QEMU's generic timer counts QEMU_CLOCK_VIRTUAL, which without icount is get_clock(): the host's
  // clock_gettime(CLOCK_MONOTONIC) (measured equal to the microsecond on Linux). Not checked on
  // macOS, where elfuse's own CLOCK_MONOTONIC comes from a different host clock.
  readonly monotonicCounter = Deno.build.os === "linux";
  readonly description: string;
  /** "unicorn X.Y.Z (path)": the library, for messages about it. */
  readonly library: string;
  /** The loaded libunicorn's path (for the signal listener's interrupt call). */
  readonly libraryPath: string;
  readonly version: { major: number; minor: number; patch: number };
  readonly lib: uc.UnicornLib;
  /** Stores use the TLB fast path (fast_stores.ts); else why they take Unicorn's slow path. */
  readonly slowStores: string;
  /** Loads are not followed by exit checks (exit_checks.ts); else why they are. */
  readonly exitChecks: string;
  /** Stores are not followed by exit checks either (store_exits.ts); else why they are. */
  readonly storeChecks: string;
  readonly engine: Deno.PointerObject;
  readonly scratch = new Scratch(4096);
  readonly #u32: Uint32Array;
  readonly #i32: Int32Array;
  readonly #slab: SlabInfo;
  #vcpu: UnicornVcpu | undefined;
  #watchCode = false;
  /** At least the number of Unicorn memory regions (map adds one, protect and unmap split). */
  #regions = 0;
  /** Merge again once #regions passes this (raised while regions that differ crowd the space). */
  #mergeAt = MERGE_REGIONS_AT;

  constructor(slab: SlabInfo) {
    const { lib, path } = uc.openUnicorn();
    this.lib = lib;
    this.libraryPath = path;
    this.slowStores = enableFastStores(lib.tlb_set_page_with_attrs_aarch64);
    this.exitChecks = skipLoadExitChecks(lib);
    // Only with fast stores: the slow path's code invalidation (TLB_NOTDIRTY) is left as it was.
    this.storeChecks = this.slowStores || this.exitChecks
      ? "kept with the slow store path or the load checks"
      : skipStoreExitChecks(lib);
    this.#slab = slab;
    const s = this.scratch;
    this.#u32 = new Uint32Array(s.u8.buffer, 0, 1024);
    this.#i32 = new Int32Array(s.u8.buffer, 0, 1024);
    const v = lib.uc_version(0, 0);
    this.version = { major: v >>> 24, minor: (v >>> 16) & 0xff, patch: (v >>> 8) & 0xff };
    const ver = `${this.version.major}.${this.version.minor}.${this.version.patch}`;
    const err = lib.uc_open(uc.UC_ARCH_ARM64, uc.UC_MODE_ARM, s.address + ENGINE);
    if (err !== 0) throw new Error(`uc_open failed: ${uc.ucError(lib, err)}`);
    const handle = s.view.getBigUint64(ENGINE, true);
    this.engine = Deno.UnsafePointer.create(handle)!;
    const stores = this.slowStores ? `stores on the slow path: ${this.slowStores}` : "fast stores";
    const checks = this.exitChecks
      ? `exit checks after loads: ${this.exitChecks}`
      : this.storeChecks
      ? `no exit checks after loads; after stores: ${this.storeChecks}`
      : "no exit checks after loads or stores";
    this.library = `unicorn ${ver} (${path})`;
    this.description = `${this.library}, ${stores}, ${checks}`;
  }

  /** Missing capabilities of an old libunicorn, as a sentence, or "" when it is 2.1.4 or newer. */
  get limitations(): string {
    const { major, minor, patch } = this.version;
    const n = major * 10000 + minor * 100 + patch;
    if (n >= 20104) return "";
    if (n >= 20100) return `${this.library} is older than 2.1.4: the hvf simulator is unavailable`;
    return `${this.library} is older than 2.1: every guest store takes a slow path (2.5-10x ` +
      "slower) and the hvf simulator is unavailable";
  }

  #check(err: number, what: string): void {
    if (err !== 0) throw new Error(`${what}: ${uc.ucError(this.lib, err)}`);
  }

  map(gpa: number, size: number, prot: number): void {
    this.#regions++;
    const host = this.#slab.hostBase + gpa;
    this.#check(this.lib.uc_mem_map_ptr(this.engine, gpa, size, prot, host), "uc_mem_map_ptr");
  }

  unmap(gpa: number, size: number): void {
    this.#regions++; // the area's ends may split two regions
    this.#check(this.lib.uc_mem_unmap(this.engine, gpa, size), "uc_mem_unmap");
  }

  protect(gpa: number, size: number, prot: number): void {
    this.#regions += 2;
    this.#check(this.lib.uc_mem_protect(this.engine, gpa, size, prot), "uc_mem_protect");
  }

  /**
   * Whether a change adding up to `regions` memory regions fits: merges adjacent regions first
   * when they have become many (see MERGE_REGIONS_AT).
   */
  roomFor(regions: number): boolean {
    if (this.#regions + regions <= this.#mergeAt) return true;
    const kept = this.#mergeRegions();
    this.#mergeAt = Math.max(MERGE_REGIONS_AT, Math.min(kept + 64, REGION_LIMIT));
    return kept + regions <= REGION_LIMIT;
  }

  /** Unicorn's memory regions as [begin, end) and permissions, in address order. */
  regions(): { begin: number; end: number; perms: number }[] {
    const s = this.scratch;
    this.#check(
      this.lib.uc_mem_regions(this.engine, s.address + REGIONS, s.address + REGION_COUNT),
      "uc_mem_regions",
    );
    const count = s.view.getUint32(REGION_COUNT, true);
    const array = Deno.UnsafePointer.create(s.view.getBigUint64(REGIONS, true));
    const out: { begin: number; end: number; perms: number }[] = [];
    if (array === null) return out;
    // uc_mem_region is { u64 begin; u64 end (inclusive); u32 perms }: 24 bytes.
    const v = new Deno.UnsafePointerView(array);
    for (let i = 0; i < count; i++) {
      out.push({
        begin: Number(v.getBigUint64(i * 24)),
        end: Number(v.getBigUint64(i * 24 + 8)) + 1,
        perms: v.getUint32(i * 24 + 16),
      });
    }
    this.lib.uc_free(array);
    return out;
  }

  // Each run of adjacent regions with the same permissions becomes one region over the same slab
  // bytes (uc_mem_map_ptr at hostBase + address), so nothing is copied and contents stay. Returns
  // how many regions are left.
  #mergeRegions(): number {
    const list = this.regions();
    let kept = 0;
    for (let i = 0; i < list.length;) {
      let j = i + 1;
      while (
        j < list.length && list[j].begin === list[j - 1].end && list[j].perms === list[i].perms &&
        list[j].end - list[i].begin <= MERGED_MAX
      ) {
        j++;
      }
      const begin = list[i].begin, end = list[j - 1].end;
      // Executable regions are left as they are: their translated blocks are keyed by the old
      // regions' RAM offsets, which later mappings may be given again.
      const merge = j - i > 1 && (list[i].perms & 4) === 0;
      if (merge) {
        this.#check(this.lib.uc_mem_unmap(this.engine, begin, end - begin), "uc_mem_unmap");
        const host = this.#slab.hostBase + begin;
        this.#check(
          this.lib.uc_mem_map_ptr(this.engine, begin, end - begin, list[i].perms, host),
          "uc_mem_map_ptr",
        );
      }
      kept += merge ? 1 : j - i;
      i = j;
    }
    this.#regions = kept;
    return kept;
  }

  /** Whether IC IVAU drops translations (the guest has had code that may change in place). */
  get watchingCodeWrites(): boolean {
    return this.#watchCode;
  }

  /** Code may change without a mapping change (AddressSpace): watch for IC IVAU from now on. */
  codeMayChange(): void {
    if (this.slowStores || this.#watchCode) return;
    this.#watchCode = true;
    this.#vcpu?.watchCodeWrites();
  }

  /**
   * Drops the translations of every memory region [gpa, gpa+size) touches, whole. Unicorn's
   * UC_CTL_TB_REMOVE_CACHE turns only the start address into a RAM offset and drops the same
   * length from there (uc_invalidate_tb), but each region has a RAM block of its own, so a range
   * over two regions left the second one's blocks in place: after a shell's in-process child ran
   * `cat`, the shell exec'd `ls` at its own load address and ran its old translated code. Whole
   * regions, because splitting one (a later unmap or protect of part of it) gives its pieces new
   * RAM blocks, and blocks keyed by the old ones would match code mapped there again later.
   */
  invalidateCode(gpa: number, size: number): void {
    const end = gpa + size;
    for (const r of this.regions()) {
      if (r.end <= gpa || r.begin >= end) continue;
      this.invalidateLine(r.begin, r.end - r.begin);
    }
  }

  /** Drops the translations of [gpa, gpa+size), which lies inside one memory region. */
  invalidateLine(gpa: number, size: number): void {
    this.lib.uc_ctl3(this.engine, uc.UC_CTL_TB_REMOVE_CACHE_WRITE, gpa, gpa + size);
  }

  createVcpu(): Vcpu {
    if (this.#vcpu) throw new Error("the unicorn backend runs one vCPU per guest process");
    this.#vcpu = new UnicornVcpu(this, this.#u32, this.#i32);
    if (this.#watchCode) this.#vcpu.watchCodeWrites();
    return this.#vcpu;
  }

  close(): void {
    this.#vcpu?.closeTlbGrowth();
    this.lib.uc_close(this.engine);
  }
}

class UnicornVcpu implements Vcpu {
  readonly #b: UnicornBackend;
  readonly #lib: uc.UnicornLib;
  readonly #engine: Deno.PointerObject;
  readonly #u32: Uint32Array;
  readonly #i32: Int32Array;
  // Fixed scratch addresses as BigInts: Deno's fast FFI path takes 64-bit arguments as BigInt;
  // a Number there falls back to a slower conversion (~80 ns per argument).
  readonly #valueAddr: bigint;
  readonly #batchIds: bigint;
  readonly #batchPtrs: bigint;
  readonly #frameIds: bigint;
  readonly #framePtrs: bigint;
  readonly #oneId: bigint;
  readonly #onePtr: bigint;
  #onSyscall: SyscallHandler = () => {};
  #exit: Exit = { kind: "stopped" };
  #stopRequested = false;
  // Kept referenced for the engine's lifetime: the native side holds their pointers.
  readonly #intrHook: Deno.UnsafeCallback<typeof INTR_HOOK>;
  readonly #memHook: Deno.UnsafeCallback<typeof MEM_HOOK>;
  #sysHook: Deno.UnsafeCallback<typeof SYS_HOOK> | undefined;
  /** The TLB's flush schedule (tlb_growth.ts): undefined before the first run, null without. */
  #tlb: TlbGrowth | null | undefined;

  constructor(b: UnicornBackend, u32: Uint32Array, i32: Int32Array) {
    this.#b = b;
    this.#lib = b.lib;
    this.#engine = b.engine;
    this.#u32 = u32;
    this.#i32 = i32;
    const s = b.scratch;
    this.#valueAddr = BigInt(s.address + VALUE);
    this.#batchIds = BigInt(s.address + BATCH_IDS);
    this.#batchPtrs = BigInt(s.address + BATCH_PTRS);
    const frameIds = [
      ...Array.from({ length: 29 }, (_, i) => uc.UC_ARM64_REG_X0 + i),
      uc.UC_ARM64_REG_X29,
      uc.UC_ARM64_REG_X30,
      uc.UC_ARM64_REG_SP,
      uc.UC_ARM64_REG_PC,
      uc.UC_ARM64_REG_NZCV,
    ];
    frameIds.forEach((id, i) => {
      s.view.setInt32(FRAME_IDS + i * 4, id, true);
      s.view.setBigUint64(FRAME_PTRS + i * 8, BigInt(s.address + FRAME_VALUES + i * 8), true);
    });
    this.#frameIds = BigInt(s.address + FRAME_IDS);
    this.#framePtrs = BigInt(s.address + FRAME_PTRS);
    s.view.setBigUint64(ONE_PTR, BigInt(s.address + VALUE), true);
    this.#oneId = BigInt(s.address + ONE_ID);
    this.#onePtr = BigInt(s.address + ONE_PTR);
    const ids = [0, 1, 2, 3, 4, 5, 8];
    for (let i = 0; i < ids.length; i++) {
      s.view.setInt32(BATCH_IDS + i * 4, uc.UC_ARM64_REG_X0 + ids[i], true);
      s.view.setBigUint64(BATCH_PTRS + i * 8, BigInt(s.address + BATCH_VALUES + i * 8), true);
    }
    this.#intrHook = new Deno.UnsafeCallback(
      INTR_HOOK,
      (_uc, intno) => this.#onInterrupt(intno),
    );
    this.#memHook = new Deno.UnsafeCallback(
      MEM_HOOK,
      (_uc, type, address) => this.#onInvalidMemory(type, Number(address)),
    );
    const hook = s.address + HOOK;
    const lib = this.#lib;
    let err = lib.uc_hook_add(b.engine, hook, uc.UC_HOOK_INTR, this.#intrHook.pointer, null, 1, 0);
    if (err === 0) {
      err = lib.uc_hook_add(
        b.engine,
        hook,
        uc.UC_HOOK_MEM_INVALID,
        this.#memHook.pointer,
        null,
        1,
        0,
      );
    }
    if (err !== 0) throw new Error(`uc_hook_add: ${uc.ucError(lib, err)}`);
  }

  /**
   * Drops translations on IC IVAU from now on. Without TLB_NOTDIRTY (fast_stores.ts) nothing else
   * notices guest stores into code that is both writable and executable. Translated blocks are
   * flushed so that SYS instructions translated earlier call the hook too. The hook costs a JS call
   * per SYS instruction, DC ZVA included, which is why it waits for the first W+X mapping.
   */
  watchCodeWrites(): void {
    if (this.#sysHook) return;
    this.#sysHook = new Deno.UnsafeCallback(SYS_HOOK, (_uc, _reg, cp) => this.#onSys(cp!));
    const err = this.#lib.uc_hook_add_insn(
      this.#engine,
      this.#b.scratch.address + HOOK,
      uc.UC_HOOK_INSN,
      this.#sysHook.pointer,
      null,
      1,
      0,
      uc.UC_ARM64_INS_SYS,
    );
    if (err !== 0) throw new Error(`uc_hook_add(SYS): ${uc.ucError(this.#lib, err)}`);
    this.#lib.uc_ctl3(this.#engine, uc.UC_CTL_TB_FLUSH_WRITE, 0, 0);
  }

  /** SYS instructions: IC IVAU drops the translations of its line; the rest run as QEMU has them. */
  #onSys(cp: Deno.PointerObject): number {
    const v = new Deno.UnsafePointerView(cp);
    if (
      v.getUint32(0) === 7 && v.getUint32(4) === 5 && v.getUint32(8) === 1 &&
      v.getUint32(12) === 3 && v.getUint32(16) === 1
    ) {
      const va = v.getUint32(28) * 4294967296 + v.getUint32(24);
      const line = va - va % IC_LINE;
      this.#b.invalidateLine(line, IC_LINE);
    }
    return 0;
  }

  #onInterrupt(intno: number): void {
    try {
      if (intno === uc.EXCP_SWI) {
        this.#onSyscall();
        return;
      }
      const pc = this.get(Reg.PC);
      if (intno === uc.EXCP_BKPT) this.#exit = { kind: "breakpoint", pc };
      else if (intno === uc.EXCP_UDEF) this.#exit = { kind: "undefined", pc };
      else if (intno === uc.EXCP_DATA_ABORT || intno === uc.EXCP_PREFETCH_ABORT) {
        // Aborts with the MMU off come from alignment or translation faults QEMU raises itself.
        const access: Access = intno === uc.EXCP_PREFETCH_ABORT ? "fetch" : "read";
        this.#exit = { kind: "fault", address: pc, access, mapped: true, pc };
      } else this.#exit = { kind: "internal", error: new Error(`unexpected exception ${intno}`) };
    } catch (e) {
      this.#exit = { kind: "internal", error: e };
    }
    this.#lib.uc_emu_stop(this.#engine);
  }

  #onInvalidMemory(type: number, address: number): boolean {
    let access: Access = "read";
    if (type === uc.UC_MEM_WRITE_UNMAPPED || type === uc.UC_MEM_WRITE_PROT) access = "write";
    else if (type === uc.UC_MEM_FETCH_UNMAPPED || type === uc.UC_MEM_FETCH_PROT) access = "fetch";
    const mapped = type >= uc.UC_MEM_WRITE_PROT;
    this.#exit = { kind: "fault", address, access, mapped, pc: this.get(Reg.PC) };
    return false;
  }

  syscallArgs(args: Float64Array): number {
    this.#lib.uc_reg_read_batch(this.#engine, this.#batchIds, this.#batchPtrs, 7);
    const u = this.#u32, s = this.#i32;
    const o = BATCH_VALUES >> 2;
    for (let i = 0; i < 6; i++) args[i] = registerArg(s[o + 2 * i + 1], u[o + 2 * i]);
    return u[o + 12];
  }

  setResult(x0: number): void {
    this.#put(x0);
    this.#lib.uc_reg_write(this.#engine, uc.UC_ARM64_REG_X0, this.#valueAddr);
  }

  #put(v: number): void {
    const hi = Math.floor(v / 4294967296);
    this.#i32[1] = hi;
    this.#u32[0] = v - hi * 4294967296;
  }

  get(reg: Reg): number {
    // 32-bit registers (NZCV, FPSR, FPCR) fill only the low word: clear the high one first.
    this.#i32[1] = 0;
    this.#lib.uc_reg_read(this.#engine, ucReg(reg), this.#valueAddr);
    return this.#i32[1] * 4294967296 + this.#u32[0];
  }

  set(reg: Reg, value: number): void {
    this.#put(value);
    this.#write(reg);
  }

  /**
   * Writes VALUE to `reg`. The pc goes through uc_reg_write_batch: a plain uc_reg_write of the pc
   * also sets Unicorn's skip_sync_pc_on_exit (uc.c), which nothing clears until the next exit taken
   * at a check, and with it set such an exit leaves the pc where the translation block started
   * instead of at the instruction (cpu_loop_exit without cpu_restore_state, tcg-runtime.c): an
   * interrupt or fault after a signal delivery would resume or report the wrong pc.
   */
  #write(reg: Reg): void {
    const id = ucReg(reg);
    if (reg !== Reg.PC) {
      this.#lib.uc_reg_write(this.#engine, id, this.#valueAddr);
      return;
    }
    this.#i32[ONE_ID >> 2] = id;
    this.#lib.uc_reg_write_batch(this.#engine, this.#oneId, this.#onePtr, 1);
  }

  getBig(reg: Reg): bigint {
    this.#lib.uc_reg_read(this.#engine, ucReg(reg), this.#valueAddr);
    return this.#b.scratch.view.getBigUint64(VALUE, true);
  }

  setBig(reg: Reg, value: bigint): void {
    this.#b.scratch.view.setBigUint64(VALUE, BigInt.asUintN(64, value), true);
    this.#write(reg);
  }

  saveGeneral(out: DataView, off: number): void {
    this.#lib.uc_reg_read_batch(this.#engine, this.#frameIds, this.#framePtrs, FRAME_REGS);
    const v = this.#b.scratch.view;
    for (let i = 0; i < FRAME_REGS; i++) {
      out.setBigUint64(off + i * 8, v.getBigUint64(FRAME_VALUES + i * 8, true), true);
    }
    // The guest runs at EL0 as far as it knows: report EL0t with the condition flags only.
    out.setBigUint64(
      off + 33 * 8,
      v.getBigUint64(FRAME_VALUES + 33 * 8, true) & 0xf000_0000n,
      true,
    );
  }

  loadGeneral(src: DataView, off: number): void {
    const v = this.#b.scratch.view;
    for (let i = 0; i < FRAME_REGS; i++) {
      v.setBigUint64(FRAME_VALUES + i * 8, src.getBigUint64(off + i * 8, true), true);
    }
    v.setBigUint64(
      FRAME_VALUES + 33 * 8,
      src.getBigUint64(off + 33 * 8, true) & 0xf000_0000n,
      true,
    );
    this.#lib.uc_reg_write_batch(this.#engine, this.#frameIds, this.#framePtrs, FRAME_REGS);
  }

  saveFpsimd(out: DataView, off: number): void {
    const v = this.#b.scratch.view;
    for (let i = 0; i < 32; i++) {
      this.#lib.uc_reg_read(this.#engine, uc.UC_ARM64_REG_Q0 + i, this.#valueAddr);
      out.setBigUint64(off + i * 16, v.getBigUint64(VALUE, true), true);
      out.setBigUint64(off + i * 16 + 8, v.getBigUint64(VALUE + 8, true), true);
    }
    out.setUint32(off + 512, this.get(Reg.FPSR), true);
    out.setUint32(off + 516, this.get(Reg.FPCR), true);
  }

  loadFpsimd(src: DataView, off: number): void {
    const v = this.#b.scratch.view;
    for (let i = 0; i < 32; i++) {
      v.setBigUint64(VALUE, src.getBigUint64(off + i * 16, true), true);
      v.setBigUint64(VALUE + 8, src.getBigUint64(off + i * 16 + 8, true), true);
      this.#lib.uc_reg_write(this.#engine, uc.UC_ARM64_REG_Q0 + i, this.#valueAddr);
    }
    this.set(Reg.FPSR, src.getUint32(off + 512, true));
    this.set(Reg.FPCR, src.getUint32(off + 516, true));
  }

  stop(): void {
    this.#stopRequested = true;
    this.#lib.uc_emu_stop(this.#engine);
  }

  // A context is Unicorn's uc_context: a copy of QEMU's CPUARMState up to cpu_watchpoint
  // (unicorn_aarch64.c cpu_context_size), so every register, FPSR/FPCR, TPIDR_EL0 and the exclusive
  // monitor. Restoring it inside the SVC hook is a memcpy: the CPU loop looks the next block up
  // from the restored pc (cpu_handle_exception leaves no state behind for an intercepted SVC).
  newContext(): VcpuContext {
    const s = this.#b.scratch;
    const err = this.#lib.uc_context_alloc(this.#engine, s.address + CONTEXT_OUT);
    if (err !== 0) throw new Error(`uc_context_alloc: ${uc.ucError(this.#lib, err)}`);
    return { data: Deno.UnsafePointer.create(s.view.getBigUint64(CONTEXT_OUT, true))! };
  }

  saveContext(ctx: VcpuContext): void {
    this.#lib.uc_context_save(this.#engine, ctx.data as Deno.PointerObject);
  }

  loadContext(ctx: VcpuContext): void {
    this.#lib.uc_context_restore(this.#engine, ctx.data as Deno.PointerObject);
  }

  freeContext(ctx: VcpuContext): void {
    this.#lib.uc_context_free(ctx.data as Deno.PointerObject);
  }

  /**
   * uc_emu_stop from another thread raises QEMU's exit request, taken at the next check: a block's
   * start, or after a guest store (Unicorn checks after every load and store; exit_checks.ts drops
   * the checks after loads). Every check leaves through cpu_loop_exit_restore, so the pc is the
   * instruction the check belongs to and all registers are written back. Re-running a plain store
   * writes the same bytes again; a load would not be safe to re-run (`ldr x0, [x0]`), which is why
   * this needs the checks after loads gone. The one store that is not safe to re-run is a store
   * exclusive (see #completeExclusiveStore).
   */
  interruptCall(): NativeCall | undefined {
    if (this.#b.exitChecks !== "") return undefined;
    return {
      library: this.#b.libraryPath,
      symbol: "uc_emu_stop",
      parameters: ["usize"],
      args: [Deno.UnsafePointer.value(this.#engine)],
    };
  }

  /** After an interrupt: exclusive_store.ts's repair, on this engine. */
  #completeExclusiveStore(): void {
    const lib = this.#lib, engine = this.#engine, s = this.#b.scratch;
    completeExclusiveStore({
      reg: (id) => {
        lib.uc_reg_read(engine, id, this.#valueAddr);
        return s.view.getBigUint64(VALUE, true);
      },
      setReg: (id, v) => {
        s.view.setBigUint64(VALUE, v, true);
        this.#i32[ONE_ID >> 2] = id;
        lib.uc_reg_write_batch(engine, this.#oneId, this.#onePtr, 1); // the pc too: see #write
      },
      read: (addr, bytes) => {
        s.view.setBigUint64(MEM_READ, 0n, true);
        if (lib.uc_mem_read(engine, addr, s.address + MEM_READ, bytes) !== 0) return undefined;
        return s.view.getBigUint64(MEM_READ, true);
      },
    });
  }

  /** Starts the TLB's flush schedule, where a stop from another thread is safe. */
  #startTlbGrowth(): TlbGrowth | null {
    if (this.interruptCall() === undefined || Deno.env.get("ELFUSE_UNICORN_TUNING") === "0") {
      return null;
    }
    const stop = Deno.dlopen(this.#b.libraryPath, { uc_emu_stop: { type: "pointer" } });
    const growth = TlbGrowth.create(stop.symbols.uc_emu_stop, this.#engine) ?? null;
    stop.close(); // libunicorn stays loaded: the backend holds it
    growth?.begin(performance.now());
    return growth;
  }

  closeTlbGrowth(): void {
    this.#tlb?.close();
    this.#tlb = null;
  }

  /**
   * uc_emu_start with count 1. Unicorn counts instructions with a UC_HOOK_CODE hook it adds for
   * a counted run and removes (flushing every translation, uc.c uc_emu_start) at the next
   * uncounted one; blocks translated before the hook existed would not call it, so translations
   * are dropped first. Stepping is for a debugger only: the flushes cost nothing on a plain run.
   */
  step(onSyscall: SyscallHandler): Exit {
    let served = false;
    this.#onSyscall = () => {
      served = true;
      onSyscall();
    };
    this.#lib.uc_ctl3(this.#engine, uc.UC_CTL_TB_FLUSH_WRITE, 0, 0);
    const pc = this.getBig(Reg.PC);
    for (let tries = 0;; tries++) {
      this.#exit = { kind: "stopped" };
      this.#stopRequested = false;
      const err = this.#lib.uc_emu_start(this.#engine, pc, UNTIL_FOREVER, 0, 1);
      if (this.#exit.kind !== "stopped") return this.#exit;
      if (err !== 0) return { kind: "internal", error: new Error(uc.ucError(this.#lib, err)) };
      if (this.#stopRequested) return this.#exit;
      // Another thread's uc_emu_stop (a host signal's interrupt, the TLB schedule) may land
      // before the one instruction ran: the pc has not moved and no syscall was served. Run it
      // again; an instruction that branches to itself only runs a few more times, harmlessly.
      if (served || this.getBig(Reg.PC) !== pc || tries === 7) return { kind: "step" };
    }
  }

  run(onSyscall: SyscallHandler, deadline: number): Exit {
    this.#onSyscall = onSyscall;
    const tlb = this.#tlb === undefined ? (this.#tlb = this.#startTlbGrowth()) : this.#tlb;
    for (;;) {
      if (tlb !== null && tlb.due(performance.now())) {
        this.#lib.uc_ctl3(this.#engine, UC_CTL_TLB_FLUSH_WRITE, 0, 0);
      }
      this.#exit = { kind: "stopped" };
      this.#stopRequested = false;
      let timeoutUs = 0;
      if (deadline > 0) {
        const left = deadline - Date.now();
        if (left <= 0) return { kind: "timeout" };
        timeoutUs = Math.ceil(left * 1000);
      }
      const pc = this.getBig(Reg.PC);
      const err = this.#lib.uc_emu_start(this.#engine, pc, UNTIL_FOREVER, timeoutUs, 0);
      if (this.#exit.kind !== "stopped") return this.#exit;
      if (err !== 0) {
        return { kind: "internal", error: new Error(uc.ucError(this.#lib, err)) };
      }
      if (this.#stopRequested) return this.#exit;
      // uc_emu_start returned without a stop request: its timeout expired, or another thread
      // interrupted it (interruptCall).
      if (deadline > 0 && Date.now() >= deadline) return { kind: "timeout" };
      if (this.interruptCall() !== undefined) {
        this.#completeExclusiveStore();
        return { kind: "interrupted" };
      }
    }
  }
}
