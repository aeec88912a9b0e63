// After uc_emu_stop from another thread: the repair of a store exclusive cut between its store
// and the write of its status register. Without parallel TCG a store exclusive is a load, a
// compare with the monitor's value and a store (tcg-op.c's nonatomic cmpxchg), and Unicorn checks
// for an exit after the store (cpu_loop_exit_restore puts the pc back on the instruction). Run
// again, it would compare the new value with the old one, fail, and make the guest's LL/SC loop
// apply its update twice. Memory that already holds exactly what the instruction stores means it
// ran (only this vCPU could have written there since its load exclusive): finish it as a
// success. Otherwise it did not store, and runs again as it would have. STXP of two 64-bit
// registers goes through a helper without a check, so it is never cut. With store_exits.ts's
// patch no store is followed by a check, so this is needed only where that patch is not applied
// (another libunicorn build, ELFUSE_UNICORN_TUNING=0). Shared by the unicorn
// backend and hvf-sim, whose guest runs on Unicorn too.
import * as uc from "./ffi.ts";

/** Register and memory access on the stopped engine. */
export interface StoppedCpu {
  reg(id: number): bigint;
  setReg(id: number, value: bigint): void;
  /** `bytes` (1-8) little-endian at `addr`, or undefined when it is not mapped. */
  read(addr: bigint, bytes: number): bigint | undefined;
}

/** Unicorn's id of general register n (31: sp). */
function xreg(n: number): number {
  if (n < 29) return uc.UC_ARM64_REG_X0 + n;
  if (n === 29) return uc.UC_ARM64_REG_X29;
  if (n === 30) return uc.UC_ARM64_REG_X30;
  return uc.UC_ARM64_REG_SP;
}

/** Finishes a store exclusive at the pc that already stored; true when it did. */
export function completeExclusiveStore(cpu: StoppedCpu): boolean {
  const pc = cpu.reg(uc.UC_ARM64_REG_PC);
  const word = cpu.read(pc, 4);
  if (word === undefined) return false;
  const insn = Number(word);
  const single = (insn & 0x3fe00000) === 0x08000000; // STXR/STLXR, B/H/W/X (Arm ARM C4.1.94)
  const pair32 = (insn & 0xffe00000) === 0x88200000; // STXP/STLXP Wt, Wt2
  if (!single && !pair32) return false;
  const rt = insn & 31, rt2 = (insn >>> 10) & 31, rn = (insn >>> 5) & 31, rs = (insn >>> 16) & 31;
  const x = (r: number) => (r === 31 ? 0n : cpu.reg(xreg(r))); // Rt 31 is xzr
  const bytes = pair32 ? 8 : 1 << (insn >>> 30);
  const mask = (1n << BigInt(bytes * 8)) - 1n;
  const stored = pair32 ? (x(rt) & 0xffff_ffffn) | ((x(rt2) & 0xffff_ffffn) << 32n) : x(rt) & mask;
  const now = cpu.read(cpu.reg(xreg(rn)), bytes); // Rn 31 is sp
  if (now === undefined || (now & mask) !== stored) return false;
  if (rs !== 31) cpu.setReg(xreg(rs), 0n); // Ws = 0: the store succeeded (31 is wzr)
  cpu.setReg(uc.UC_ARM64_REG_PC, pc + 4n);
  return true;
}
