// Hypervisor.framework (arm64) and ARMv8-A constants the hvf backend shares between the real
// bindings and the simulator. Values are from Apple's SDK headers (hv_kern_types.h,
// hv_vcpu_types.h, hv_vm_types.h; /work/shared/reference/hvf-deno.md §1.3-1.6) and the Arm ARM
// (ESR_ELx exception classes, VMSAv8-64 descriptors).

/** hv_return_t (mach_error_t): err_local | err_sub(0xba5) = 0xfae94000 plus a code. */
export const HV_SUCCESS = 0;
export const HV_ERROR = 0xfae94001;
export const HV_BUSY = 0xfae94002;
export const HV_BAD_ARGUMENT = 0xfae94003;
export const HV_ILLEGAL_GUEST_STATE = 0xfae94004;
export const HV_NO_RESOURCES = 0xfae94005;
export const HV_NO_DEVICE = 0xfae94006;
export const HV_DENIED = 0xfae94007;
export const HV_EXISTS = 0xfae94008;
export const HV_UNSUPPORTED = 0xfae9400f;

const hvNames: Record<number, string> = {
  [HV_SUCCESS]: "HV_SUCCESS",
  [HV_ERROR]: "HV_ERROR",
  [HV_BUSY]: "HV_BUSY",
  [HV_BAD_ARGUMENT]: "HV_BAD_ARGUMENT",
  [HV_ILLEGAL_GUEST_STATE]: "HV_ILLEGAL_GUEST_STATE",
  [HV_NO_RESOURCES]: "HV_NO_RESOURCES",
  [HV_NO_DEVICE]: "HV_NO_DEVICE",
  [HV_DENIED]: "HV_DENIED",
  [HV_EXISTS]: "HV_EXISTS",
  [HV_UNSUPPORTED]: "HV_UNSUPPORTED",
};

export function hvName(code: number): string {
  return hvNames[code >>> 0] ?? `0x${(code >>> 0).toString(16)}`;
}

/** hv_memory_flags_t. */
export const HV_MEMORY_READ = 1;
export const HV_MEMORY_WRITE = 2;
export const HV_MEMORY_EXEC = 4;

/** hv_exit_reason_t. */
export const HV_EXIT_REASON_CANCELED = 0;
export const HV_EXIT_REASON_EXCEPTION = 1;
export const HV_EXIT_REASON_VTIMER_ACTIVATED = 2;
export const HV_EXIT_REASON_UNKNOWN = 3;

/** hv_vcpu_exit_t: reason u32 @0, exception.syndrome @8, virtual_address @16, physical @24. */
export const EXIT_REASON_OFFSET = 0;
export const EXIT_SYNDROME_OFFSET = 8;
export const EXIT_VA_OFFSET = 16;
export const EXIT_PA_OFFSET = 24;
export const EXIT_STRUCT_SIZE = 32;

/** hv_reg_t: X0..X30 = 0..30, then PC, FPCR, FPSR, CPSR. There is no SP (it is a sys reg). */
export const HV_REG_X0 = 0;
export const HV_REG_PC = 31;
export const HV_REG_FPCR = 32;
export const HV_REG_FPSR = 33;
export const HV_REG_CPSR = 34;

/**
 * hv_sys_reg_t: the value is the MSR/MRS encoding op0<<14 | op1<<11 | CRn<<7 | CRm<<3 | op2
 * (the simulator decodes it back into Unicorn's CP_REG fields).
 */
export const SysReg = {
  MIDR_EL1: 0xc000,
  MPIDR_EL1: 0xc005,
  ID_AA64MMFR0_EL1: 0xc038,
  /** Debug control; bit 0 (SS) enables software step (Arm ARM D13.3.21). */
  MDSCR_EL1: 0x8012,
  SCTLR_EL1: 0xc080,
  CPACR_EL1: 0xc082,
  TTBR0_EL1: 0xc100,
  TTBR1_EL1: 0xc101,
  TCR_EL1: 0xc102,
  SPSR_EL1: 0xc200,
  ELR_EL1: 0xc201,
  SP_EL0: 0xc208,
  ESR_EL1: 0xc290,
  FAR_EL1: 0xc300,
  MAIR_EL1: 0xc510,
  VBAR_EL1: 0xc600,
  CONTEXTIDR_EL1: 0xc681,
  TPIDR_EL1: 0xc684,
  CNTKCTL_EL1: 0xc708,
  TPIDR_EL0: 0xde82,
  TPIDRRO_EL0: 0xde83,
  CNTV_CTL_EL0: 0xdf19,
  SP_EL1: 0xe208,
} as const;

/** Splits an hv_sys_reg_t into its encoding fields. */
export function sysRegFields(
  reg: number,
): { op0: number; op1: number; crn: number; crm: number; op2: number } {
  return {
    op0: (reg >> 14) & 3,
    op1: (reg >> 11) & 7,
    crn: (reg >> 7) & 15,
    crm: (reg >> 3) & 15,
    op2: reg & 7,
  };
}

/** ESR_ELx.EC (bits 31:26), Arm ARM D17.2.37. */
export const EC = {
  UNKNOWN: 0x00,
  WFX: 0x01,
  FP_ACCESS: 0x07,
  ILLEGAL_STATE: 0x0e,
  SVC64: 0x15,
  HVC64: 0x16,
  SMC64: 0x17,
  SYS64: 0x18,
  IABT_LOWER: 0x20,
  IABT_CURRENT: 0x21,
  PC_ALIGN: 0x22,
  DABT_LOWER: 0x24,
  DABT_CURRENT: 0x25,
  SP_ALIGN: 0x26,
  FP_EXC64: 0x2c,
  SERROR: 0x2f,
  BRK64: 0x3c,
} as const;

/** PSTATE/CPSR.M values and the DAIF mask (bits 9..6). */
export const PSTATE_EL0T = 0x0;
export const PSTATE_EL1H = 0x5;
export const PSTATE_DAIF = 0x3c0;
/** EL1h with D, A, I, F masked: how a vCPU starts and how exception entry leaves PSTATE. */
export const PSTATE_EL1H_MASKED = PSTATE_EL1H | PSTATE_DAIF;

/**
 * TCR_EL1 for the backend's tables: T0SZ = 16 (48-bit VAs), inner/outer write-back walks,
 * inner shareable, TG0 = 4 KiB, EPD1 (no TTBR1 walks), IPS sized to the IPA width.
 */
export function tcrValue(ipaBits: number): bigint {
  const ips = ipaBits <= 32
    ? 0
    : ipaBits <= 36
    ? 1
    : ipaBits <= 40
    ? 2
    : ipaBits <= 42
    ? 3
    : ipaBits <= 44
    ? 4
    : 5;
  return 16n | (1n << 8n) | (1n << 10n) | (3n << 12n) | (1n << 23n) | (BigInt(ips) << 32n);
}
