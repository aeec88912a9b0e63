// Signal delivery with the Linux arm64 rt_sigframe (arch/arm64/kernel/signal.c): siginfo, then a
// ucontext whose mcontext holds x0-x30, sp, pc, pstate and an fpsimd_context record; a frame
// record {fp, lr} above it. rt_sigreturn reads it back. Layout offsets from the frame start:
//   0 siginfo (128) | 128 uc_flags | 136 uc_link | 144 uc_stack (24) | 168 uc_sigmask
//   304 sigcontext: fault_address, then regs[31], sp, pc, pstate at 312..584
//   592 __reserved (4096): fpsimd_context {magic, size, fpsr, fpcr, vregs[32]} then a 0 header
import { Slot } from "./scratch.ts";
import { Reg } from "../backends/backend.ts";
import type { Task } from "./task.ts";
import { type SigInfo, SIGKILL, SIGSTOP } from "./signals.ts";

export const FRAME_SIZE = 4688;
const UC = 128, MCONTEXT = 304, REGS = 312, RESERVED = 592;
const FPSIMD_MAGIC = 0x46508001, FPSIMD_SIZE = 528;
const SA_SIGINFO = 4, SA_RESTORER = 0x04000000, SA_ONSTACK = 0x08000000;
const SA_NODEFER = 0x40000000, SA_RESETHAND = 0x80000000;
const SS_ONSTACK = 1, SS_DISABLE = 2;
/** Scratch slots: 34 general-register words, and a v0-v31/fpsr/fpcr block. */
const GEN_SLOT = Slot.REGS, FP_SLOT = Slot.FPSIMD;
/** The page holding a sigreturn trampoline for handlers installed without SA_RESTORER. */
const SIGPAGE = 0xf_ffff_f000;

function blockBit(k: Task, sig: number): void {
  if (sig === SIGKILL || sig === SIGSTOP) return;
  const s = k.signals;
  if (sig <= 32) s.maskLo = (s.maskLo | (1 << (sig - 1))) >>> 0;
  else s.maskHi = (s.maskHi | (1 << (sig - 33))) >>> 0;
}

function trampoline(k: Task): number {
  if (k.proc.as.vmas.find(SIGPAGE) === undefined) {
    k.proc.as.mapFixed(SIGPAGE, 4096, 3, "[sigpage]");
    k.proc.view.setUint32(SIGPAGE, 0xd2801168, true); // mov x8, #139 (rt_sigreturn)
    k.proc.view.setUint32(SIGPAGE + 4, 0xd4000001, true); // svc #0
    k.proc.as.mprotect(SIGPAGE, 4096, 5);
  }
  return SIGPAGE;
}

/**
 * Builds a frame for `sig` on the guest stack and points the vCPU at its handler. `faultAddress`
 * goes in si_addr and sigcontext.fault_address for faults. Returns false when the frame does not
 * fit in writable memory (the caller then kills the guest with SIGSEGV, as Linux does).
 */
export function setupFrame(k: Task, sig: number, info: SigInfo, faultAddress?: number): boolean {
  const s = k.signals, action = k.proc.actions[sig], v = k.proc.vcpu;
  const alt = s.altStack;
  let sp = v.get(Reg.SP);
  // A disabled alternate stack has size 0 (syscalls/signal.ts sigaltstack).
  const onAlt = alt.size !== 0 && sp > alt.sp && sp <= alt.sp + alt.size;
  if ((action.flags & SA_ONSTACK) && alt.size !== 0 && !onAlt) sp = alt.sp + alt.size;
  const record = Math.floor((sp - 16) / 16) * 16;
  const frame = Math.floor((record - FRAME_SIZE) / 16) * 16;
  if (!k.proc.canWrite(frame, record + 16 - frame)) return false;
  const view = k.proc.view;
  k.proc.mem.fill(0, frame, frame + FRAME_SIZE);
  // siginfo
  view.setInt32(frame, sig, true);
  view.setInt32(frame + 8, info.code, true);
  if (faultAddress !== undefined) k.proc.writeU64(frame + 16, faultAddress);
  else {
    view.setInt32(frame + 16, info.pid, true);
    view.setUint32(frame + 20, info.uid, true);
    view.setBigUint64(frame + 24, info.value, true);
  }
  // ucontext: the stack the handler runs on, the mask to restore, the interrupted registers.
  k.proc.writeU64(frame + UC + 16, alt.sp);
  view.setInt32(
    frame + UC + 24,
    alt.size === 0 ? SS_DISABLE : onAlt ? SS_ONSTACK : 0,
    true,
  );
  k.proc.writeU64(frame + UC + 32, alt.size);
  view.setUint32(frame + UC + 40, s.savedMask?.[0] ?? s.maskLo, true);
  view.setUint32(frame + UC + 44, s.savedMask?.[1] ?? s.maskHi, true);
  s.savedMask = undefined;
  if (faultAddress !== undefined) k.proc.writeU64(frame + MCONTEXT, faultAddress);
  v.saveGeneral(view, REGS + frame);
  const fp = k.rt.scratch.view;
  v.saveFpsimd(fp, FP_SLOT);
  view.setUint32(frame + RESERVED, FPSIMD_MAGIC, true);
  view.setUint32(frame + RESERVED + 4, FPSIMD_SIZE, true);
  view.setUint32(frame + RESERVED + 8, fp.getUint32(FP_SLOT + 512, true), true);
  view.setUint32(frame + RESERVED + 12, fp.getUint32(FP_SLOT + 516, true), true);
  k.proc.mem.set(k.rt.scratch.u8.subarray(FP_SLOT, FP_SLOT + 512), frame + RESERVED + 16);
  // The frame record links the handler's frame chain to the interrupted code.
  view.setBigUint64(record, view.getBigUint64(frame + REGS + 29 * 8, true), true);
  view.setBigUint64(record + 8, view.getBigUint64(frame + REGS + 30 * 8, true), true);

  const g = k.rt.scratch.view;
  k.rt.scratch.u8.set(k.proc.mem.subarray(frame + REGS, frame + REGS + 34 * 8), GEN_SLOT);
  const put = (i: number, x: number) => g.setBigUint64(GEN_SLOT + i * 8, BigInt(x), true);
  put(0, sig);
  put(1, frame);
  put(2, frame + UC);
  put(29, record);
  put(30, action.flags & SA_RESTORER ? action.restorer : trampoline(k));
  put(31, frame);
  put(32, action.handler);
  v.loadGeneral(g, GEN_SLOT);

  s.maskLo = (s.maskLo | action.maskLo) >>> 0;
  s.maskHi = (s.maskHi | action.maskHi) >>> 0;
  if (!(action.flags & SA_NODEFER)) blockBit(k, sig);
  if (action.flags & SA_RESETHAND) {
    action.handler = 0;
    action.flags = (action.flags & ~SA_SIGINFO) >>> 0;
  }
  return true;
}

/** rt_sigreturn: restores registers, FP/SIMD state and the mask from the frame at sp. */
export function sigreturn(k: Task): boolean {
  const v = k.proc.vcpu, view = k.proc.view;
  const frame = v.get(Reg.SP);
  if (frame % 16 !== 0 || !k.proc.canRead(frame, FRAME_SIZE)) return false;
  const s = k.signals;
  s.maskLo = view.getUint32(frame + UC + 40, true) & ~((1 << (SIGKILL - 1)) | (1 << (SIGSTOP - 1)));
  s.maskLo >>>= 0;
  s.maskHi = view.getUint32(frame + UC + 44, true);
  if (view.getUint32(frame + RESERVED, true) === FPSIMD_MAGIC) {
    const fp = k.rt.scratch.view;
    k.rt.scratch.u8.set(
      k.proc.mem.subarray(frame + RESERVED + 16, frame + RESERVED + 16 + 512),
      FP_SLOT,
    );
    fp.setUint32(FP_SLOT + 512, view.getUint32(frame + RESERVED + 8, true), true);
    fp.setUint32(FP_SLOT + 516, view.getUint32(frame + RESERVED + 12, true), true);
    v.loadFpsimd(fp, FP_SLOT);
  }
  v.loadGeneral(view, frame + REGS);
  s.wake = true; // the restored mask may unblock pending signals
  k.proc.syncSignals();
  return true;
}
