// Decoding what stops a vCPU: the hv_vcpu_exit_t of hv_vcpu_run (an EL2 syndrome), and the EL0
// exception the shim forwards with HVC #11 (an EL1 syndrome it saved in the frame). Pure functions,
// so tests can feed them every exception class. Field layouts: Arm ARM D17.2.37 (ESR_ELx).
import type { Access } from "../backend.ts";
import {
  EC,
  HV_EXIT_REASON_CANCELED,
  HV_EXIT_REASON_EXCEPTION,
  HV_EXIT_REASON_VTIMER_ACTIVATED,
} from "./constants.ts";

/** ESR.EC (bits 31:26). */
export function ecOf(esr: number): number {
  return (esr >>> 26) & 0x3f;
}

export type FaultType = "translation" | "access-flag" | "permission" | "alignment" | "other";

/** Data/instruction fault status code (ISS bits 5:0): type and level. */
export function faultStatus(fsc: number): { type: FaultType; level: number } {
  const level = fsc & 3;
  switch (fsc & 0x3c) {
    case 0x04:
      return { type: "translation", level };
    case 0x08:
      return { type: "access-flag", level };
    case 0x0c:
      return { type: "permission", level };
  }
  if (fsc === 0x21) return { type: "alignment", level: 0 };
  return { type: "other", level: 0 };
}

/** An EL0 exception as the kernel needs it (before the backend's W^X handling). */
export type GuestException =
  | { kind: "fault"; access: Access; address: number; pc: number; type: FaultType }
  | { kind: "undefined"; pc: number }
  | { kind: "breakpoint"; pc: number }
  | { kind: "unsupported"; ec: number; pc: number };

/**
 * Decodes the EL1 syndrome the shim saved for an exception from EL0 (ESR_EL1, FAR_EL1, ELR_EL1).
 * For aborts ELR is the faulting instruction and FAR the faulting address; for a PC alignment
 * fault FAR is the misaligned PC.
 */
export function decodeGuestException(esr: number, far: number, elr: number): GuestException {
  const ec = ecOf(esr);
  switch (ec) {
    case EC.DABT_LOWER:
    case EC.DABT_CURRENT: {
      // WnR (bit 6) says write; cache maintenance (CM, bit 8) reports WnR = 1 for DC ZVA only.
      const access: Access = (esr & (1 << 6)) ? "write" : "read";
      return { kind: "fault", access, address: far, pc: elr, type: faultStatus(esr & 0x3f).type };
    }
    case EC.IABT_LOWER:
    case EC.IABT_CURRENT:
      return {
        kind: "fault",
        access: "fetch",
        address: far,
        pc: elr,
        type: faultStatus(esr & 0x3f).type,
      };
    case EC.PC_ALIGN:
      return { kind: "fault", access: "fetch", address: far, pc: elr, type: "alignment" };
    case EC.SP_ALIGN:
      return { kind: "fault", access: "read", address: far, pc: elr, type: "alignment" };
    case EC.UNKNOWN:
    case EC.ILLEGAL_STATE:
    case EC.SYS64: // an EL0 MRS/MSR the EL1 configuration traps: Linux would SIGILL it too
      return { kind: "undefined", pc: elr };
    case EC.BRK64:
    case 0x30: // breakpoint, lower EL
    case 0x32: // software step, lower EL
    case 0x34: // watchpoint, lower EL
      return { kind: "breakpoint", pc: elr };
  }
  return { kind: "unsupported", ec, pc: elr };
}

/** What hv_vcpu_run's exit means. */
export type VmExit =
  | { kind: "hvc"; imm: number }
  | { kind: "canceled" }
  | { kind: "vtimer" }
  | { kind: "wfx" }
  | {
    kind: "sys";
    read: boolean;
    op0: number;
    op1: number;
    crn: number;
    crm: number;
    op2: number;
    rt: number;
  }
  | { kind: "stage2"; access: Access; ipa: number; va: number }
  | { kind: "brk"; comment: number }
  | { kind: "unhandled"; ec: number; syndrome: number }
  | { kind: "unknown"; reason: number };

/** Decodes hv_vcpu_exit_t (reason, exception.syndrome = ESR_EL2, virtual/physical address). */
export function decodeExit(reason: number, syndrome: number, va: number, pa: number): VmExit {
  if (reason === HV_EXIT_REASON_CANCELED) return { kind: "canceled" };
  if (reason === HV_EXIT_REASON_VTIMER_ACTIVATED) return { kind: "vtimer" };
  if (reason !== HV_EXIT_REASON_EXCEPTION) return { kind: "unknown", reason };
  const ec = ecOf(syndrome);
  switch (ec) {
    case EC.HVC64:
      // HVC exits with the PC already past the instruction (QEMU hvf.c); imm16 = ISS[15:0].
      return { kind: "hvc", imm: syndrome & 0xffff };
    case EC.WFX:
      return { kind: "wfx" };
    case EC.SYS64:
      // ISS: Op0 [21:20], Op2 [19:17], Op1 [16:14], CRn [13:10], Rt [9:5], CRm [4:1], dir [0].
      return {
        kind: "sys",
        read: (syndrome & 1) === 1,
        op0: (syndrome >>> 20) & 3,
        op2: (syndrome >>> 17) & 7,
        op1: (syndrome >>> 14) & 7,
        crn: (syndrome >>> 10) & 15,
        rt: (syndrome >>> 5) & 31,
        crm: (syndrome >>> 1) & 15,
      };
    case EC.DABT_LOWER:
      return { kind: "stage2", access: (syndrome & (1 << 6)) ? "write" : "read", ipa: pa, va };
    case EC.IABT_LOWER:
      return { kind: "stage2", access: "fetch", ipa: pa, va };
    case EC.BRK64:
      return { kind: "brk", comment: syndrome & 0xffff };
  }
  return { kind: "unhandled", ec, syndrome };
}

/** DC ZVA is the system instruction op0=1, op1=3, CRn=7, CRm=4, op2=1 (trapped by HCR_EL2.TDZ). */
export function isDcZva(e: { op0: number; op1: number; crn: number; crm: number; op2: number }) {
  return e.op0 === 1 && e.op1 === 3 && e.crn === 7 && e.crm === 4 && e.op2 === 1;
}
