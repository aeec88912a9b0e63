// The thin "hv_* API" layer the hvf backend runs on. It mirrors the Hypervisor.framework C
// functions one for one (reference/hvf-deno.md §1.2), so the backend above it (run loop, exit
// decoding, page tables, shim protocol) is the same code whether the layer below is the real
// framework (ffi.ts) or the Unicorn simulator (sim.ts). Results are hv_return_t codes, as in C;
// register getters throw HvError instead of returning one, because they are never expected to fail.
import { hvName } from "./constants.ts";
import type { NativeCall } from "../backend.ts";

export class HvError extends Error {
  constructor(readonly call: string, readonly code: number) {
    super(`${call} failed: ${hvName(code)}`);
  }
}

export interface HvApi {
  /** "hvf" or "hvf-sim". */
  readonly kind: "hvf" | "hvf-sim";
  /** One line for -v: the library, its version, and what it simulates. */
  readonly description: string;
  /**
   * Whether stage 2 captured the host pages at hv_vm_map time, so that a host mmap(MAP_FIXED)
   * over mapped memory needs hv_vm_unmap + hv_vm_map to be seen by the guest (true on
   * Hypervisor.framework; elfuse internals). Unicorn dereferences the host pointer on every access.
   */
  readonly stage2PinsHostPages: boolean;
  /** Host page size stage-2 mappings must be aligned to (16 KiB on Apple silicon). */
  readonly hostPageSize: number;
  /** AT_HWCAP / AT_HWCAP2 for the CPU the guest sees. */
  readonly hwcap: number;
  readonly hwcap2: number;

  /** hv_vm_config_get_max_ipa_size; 0 when the host cannot say (macOS before 13). */
  maxIpaSize(): number;
  /** hv_vm_config_create + hv_vm_config_set_ipa_size(bits) + hv_vm_create(config). */
  vmCreate(ipaBits: number): number;
  vmDestroy(): number;
  vmMap(hostAddr: number, ipa: number, size: number, flags: number): number;
  vmUnmap(ipa: number, size: number): number;
  vmProtect(ipa: number, size: number, flags: number): number;

  /**
   * hv_vcpu_create on the calling thread. `exit` views the framework-owned hv_vcpu_exit_t that
   * every hv_vcpu_run rewrites in place.
   */
  vcpuCreate(): { code: number; vcpu: bigint; exit: DataView };
  vcpuDestroy(vcpu: bigint): number;
  /** hv_vcpu_run: blocks until the next exit. Synchronous, on the owning thread. */
  vcpuRun(vcpu: bigint): number;
  /** hv_vcpus_exit for one vCPU (any thread). */
  vcpusExit(vcpu: bigint): number;
  /** The same, as a native call another thread makes (Vcpu.interruptCall); undefined if unsafe. */
  vcpusExitCall(vcpu: bigint): NativeCall | undefined;

  getReg(vcpu: bigint, reg: number): bigint;
  setReg(vcpu: bigint, reg: number, value: bigint): number;
  getSysReg(vcpu: bigint, reg: number): bigint;
  setSysReg(vcpu: bigint, reg: number, value: bigint): number;

  /** hv_vcpu_get_simd_fp_reg: Qn into a 16-byte buffer. (The setter is not callable from Deno.) */
  getSimdFpReg(vcpu: bigint, n: number, out: Uint8Array): number;

  /**
   * The host changed guest code in [ipa, ipa+size) behind the CPU's back. On hardware the guest's
   * own IC IALLUIS (which the shim executes on request) is all it takes, so the real layer does
   * nothing; the simulator must also drop Unicorn's translated blocks, which QEMU only tracks for
   * guest stores.
   */
  codeChanged(ipa: number, size: number): void;
}
