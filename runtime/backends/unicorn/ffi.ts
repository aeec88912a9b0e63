// libunicorn through Deno FFI. Constants from unicorn/unicorn.h and unicorn/arm64.h (2.x).
import type { NumberArgs } from "../../host/ffi_types.ts";
import { libunicornCandidates } from "./preload.ts";

export const UC_ARCH_ARM64 = 2;
export const UC_MODE_ARM = 0;
export const UC_HOOK_INTR = 1 << 0;
export const UC_HOOK_INSN = 1 << 1;
/** uc_arm64_insn: SYS, the system instructions (IC, DC, AT, TLBI). */
export const UC_ARM64_INS_SYS = 3;
/** UC_HOOK_MEM_UNMAPPED | UC_HOOK_MEM_PROT: every invalid access. */
export const UC_HOOK_MEM_INVALID = 0x3f0;
/** uc_mem_type values passed to memory hooks. */
export const UC_MEM_WRITE_UNMAPPED = 20;
export const UC_MEM_FETCH_UNMAPPED = 21;
export const UC_MEM_READ_UNMAPPED = 19;
export const UC_MEM_WRITE_PROT = 22;
export const UC_MEM_READ_PROT = 23;
export const UC_MEM_FETCH_PROT = 24;
/** uc_ctl: UC_CTL_WRITE(UC_CTL_TB_REMOVE_CACHE, 2) = 9 | 2 << 26 | 1 << 30. */
export const UC_CTL_TB_REMOVE_CACHE_WRITE = 9 | (2 << 26) | (1 << 30);
/** uc_ctl: UC_CTL_WRITE(UC_CTL_TB_FLUSH, 0): drops every translation. */
export const UC_CTL_TB_FLUSH_WRITE = 10 | (1 << 30);

/** EXCP_* numbers QEMU passes to UC_HOOK_INTR on arm64. */
export const EXCP_UDEF = 1;
export const EXCP_SWI = 2;
export const EXCP_PREFETCH_ABORT = 3;
export const EXCP_DATA_ABORT = 4;
export const EXCP_BKPT = 7;
export const EXCP_HVC = 11;
export const EXCP_SMC = 13;

/** uc_arm64_reg numbers. */
export const UC_ARM64_REG_X29 = 1;
export const UC_ARM64_REG_X30 = 2;
export const UC_ARM64_REG_NZCV = 3;
export const UC_ARM64_REG_SP = 4;
export const UC_ARM64_REG_Q0 = 104;
export const UC_ARM64_REG_X0 = 199;
export const UC_ARM64_REG_X8 = 207;
export const UC_ARM64_REG_PC = 260;
export const UC_ARM64_REG_TPIDR_EL0 = 262;
export const UC_ARM64_REG_FPCR = 291;
export const UC_ARM64_REG_FPSR = 292;
export const UC_ARM64_REG_PSTATE = 265;
/** Takes a pointer to uc_arm64_cp_reg { u32 crn, crm, op0, op1, op2; u64 val @24 } (2.x). */
export const UC_ARM64_REG_CP_REG = 290;

const symbols = {
  uc_version: { parameters: ["usize", "usize"], result: "u32" },
  uc_open: { parameters: ["i32", "i32", "usize"], result: "i32" },
  uc_close: { parameters: ["pointer"], result: "i32" },
  uc_strerror: { parameters: ["i32"], result: "pointer" },
  uc_reg_read: { parameters: ["pointer", "i32", "usize"], result: "i32" },
  uc_reg_write: { parameters: ["pointer", "i32", "usize"], result: "i32" },
  uc_reg_read_batch: { parameters: ["pointer", "usize", "usize", "i32"], result: "i32" },
  uc_reg_write_batch: { parameters: ["pointer", "usize", "usize", "i32"], result: "i32" },
  uc_mem_map: { parameters: ["pointer", "u64", "usize", "u32"], result: "i32" },
  uc_mem_write: { parameters: ["pointer", "u64", "buffer", "usize"], result: "i32" },
  uc_context_alloc: { parameters: ["pointer", "usize"], result: "i32" },
  uc_context_save: { parameters: ["pointer", "pointer"], result: "i32" },
  uc_context_size: { parameters: ["pointer"], result: "usize" },
  uc_context_free: { parameters: ["pointer"], result: "i32" },
  uc_context_restore: { parameters: ["pointer", "pointer"], result: "i32" },
  uc_mem_read: { parameters: ["pointer", "u64", "usize", "usize"], result: "i32" },
  uc_mem_map_ptr: { parameters: ["pointer", "u64", "usize", "u32", "usize"], result: "i32" },
  uc_mem_unmap: { parameters: ["pointer", "u64", "usize"], result: "i32" },
  uc_mem_protect: { parameters: ["pointer", "u64", "usize", "u32"], result: "i32" },
  // (uc, uc_mem_region **regions, uint32_t *count); the array is freed with uc_free.
  uc_mem_regions: { parameters: ["pointer", "usize", "usize"], result: "i32" },
  uc_free: { parameters: ["pointer"], result: "i32" },
  uc_emu_start: { parameters: ["pointer", "u64", "u64", "u64", "usize"], result: "i32" },
  uc_emu_stop: { parameters: ["pointer"], result: "i32" },
  uc_hook_add: {
    parameters: ["pointer", "usize", "i32", "function", "pointer", "u64", "u64"],
    result: "i32",
  },
  // uc_hook_add(..., UC_HOOK_INSN, ..., insn): the instruction id is its variadic argument.
  uc_hook_add_insn: {
    name: "uc_hook_add",
    parameters: ["pointer", "usize", "i32", "function", "pointer", "u64", "u64", "i32"],
    result: "i32",
  },
  // Code addresses the in-memory tuning reads (fast_stores.ts, exit_checks.ts, store_exits.ts): a pointer static
  // is the symbol's own address. Optional: builds without them load and run untuned.
  tlb_set_page_with_attrs_aarch64: { type: "pointer", optional: true },
  tcg_gen_qemu_ld_i32_aarch64: { type: "pointer", optional: true },
  tcg_gen_qemu_ld_i64_aarch64: { type: "pointer", optional: true },
  tcg_gen_qemu_st_i32_aarch64: { type: "pointer", optional: true },
  tcg_gen_qemu_st_i64_aarch64: { type: "pointer", optional: true },
  helper_le_stq_mmu_aarch64: { type: "pointer", optional: true },
  cpu_loop_exit_restore_aarch64: { type: "pointer", optional: true },
  // Variadic in C; SysV x86-64 and AAPCS64 on Linux pass these integer arguments in registers as
  // for a fixed signature. On Apple arm64 variadics go on the stack: do not call it there.
  uc_ctl3: { name: "uc_ctl", parameters: ["pointer", "i32", "u64", "u64"], result: "i32" },
} as const;

/** UC_HOOK_INTR callback. The engine and user-data pointers are ignored: declaring them u32 (the
 * low half of the register on SysV x86-64 and AAPCS64) avoids a pointer object per call. */
export const INTR_HOOK = { parameters: ["u32", "u32", "u32"], result: "void" } as const;
/** UC_HOOK_MEM_INVALID callback: (uc, type, address, size, value, user_data) -> continue. */
export const MEM_HOOK = {
  parameters: ["pointer", "i32", "u64", "i32", "i64", "pointer"],
  result: "bool",
} as const;
/** UC_HOOK_INSN callback for SYS: (uc, Xt register id, uc_arm64_cp_reg*, user_data) -> skip. */
export const SYS_HOOK = {
  parameters: ["pointer", "i32", "pointer", "pointer"],
  result: "u32",
} as const;
/** uc_emu_start's `until`: an address guest code never reaches. */
export const UNTIL_FOREVER = 0xffff_ffff_ffff_fffcn;

export type UnicornLib = NumberArgs<Deno.DynamicLibrary<typeof symbols>["symbols"]>;

let loaded: { lib: UnicornLib; path: string } | undefined;

/** Opens libunicorn once, from the first of libunicornCandidates() (preload.ts) that loads. */
export function openUnicorn(): { lib: UnicornLib; path: string } {
  if (loaded) return loaded;
  const errors: string[] = [];
  for (const path of libunicornCandidates()) {
    try {
      loaded = { lib: Deno.dlopen(path, symbols).symbols as unknown as UnicornLib, path };
      return loaded;
    } catch (e) {
      const m = (e as Error).message.split("\n")[0];
      // "Could not open library: Could not open library: PATH: cannot open shared object file:
      // No such file or directory": only the loader's reason says something.
      const why = /No such file/.test(m)
        ? "not there"
        : m.replace(/^(Could not open library: )+/, "");
      errors.push(`${path} (${why})`);
    }
  }
  throw new Error(
    `cannot load libunicorn 2: tried ${errors.join(", ")}; put libunicorn.so.2 next to elfuse, ` +
      `install it (Debian: apt-get install libunicorn2), run ./dev setup in a checkout, or set ` +
      `ELFUSE_LIBUNICORN to its path`,
  );
}

export function ucError(lib: UnicornLib, code: number): string {
  const p = lib.uc_strerror(code);
  return p ? Deno.UnsafePointerView.getCString(p) : `unicorn error ${code}`;
}
