// The hv_* API on the real Hypervisor.framework, by Deno.dlopen. Signatures, widths and enum
// values are from Apple's SDK headers as collected in reference/hvf-deno.md §1.1-1.6. Not run on
// hardware yet (no Mac was available): docs/macos.md lists what to check first.
//
// Deno FFI rules followed here (reference/hvf-deno.md §3):
// - every vCPU call is synchronous: `nonblocking` runs on a thread pool, and HVF requires the
//   thread that created a vCPU to run it and touch its registers;
// - 64-bit arguments are passed as BigInt (Deno's fast path; a Number costs ~80 ns more);
// - hv_return_t is declared u32 so results compare with 0xfae940xx directly;
// - out-parameters are reused typed arrays;
// - hv_vcpu_set_simd_fp_reg takes a 16-byte vector by value in q0, which Deno cannot pass, so it
//   is not bound (the shim would have to restore Q registers from memory instead).
import type { HvApi } from "./hv_api.ts";
import type { NativeCall } from "../backend.ts";
import { HvError } from "./hv_api.ts";
import { EXIT_STRUCT_SIZE, HV_SUCCESS } from "./constants.ts";

export const HYPERVISOR_PATH = "/System/Library/Frameworks/Hypervisor.framework/Hypervisor";

const symbols = {
  hv_vm_create: { parameters: ["pointer"], result: "u32" },
  hv_vm_destroy: { parameters: [], result: "u32" },
  hv_vm_map: { parameters: ["pointer", "u64", "usize", "u64"], result: "u32" },
  hv_vm_unmap: { parameters: ["u64", "usize"], result: "u32" },
  hv_vm_protect: { parameters: ["u64", "usize", "u64"], result: "u32" },
  // macOS 13+: absent before, hence optional (the symbol is then null).
  hv_vm_config_create: { parameters: [], result: "pointer", optional: true },
  hv_vm_config_get_max_ipa_size: { parameters: ["buffer"], result: "u32", optional: true },
  hv_vm_config_set_ipa_size: { parameters: ["pointer", "u32"], result: "u32", optional: true },
  hv_vcpu_create: { parameters: ["buffer", "buffer", "pointer"], result: "u32" },
  hv_vcpu_destroy: { parameters: ["u64"], result: "u32" },
  hv_vcpu_run: { parameters: ["u64"], result: "u32" },
  hv_vcpus_exit: { parameters: ["buffer", "u32"], result: "u32" },
  hv_vcpu_get_reg: { parameters: ["u64", "u32", "buffer"], result: "u32" },
  hv_vcpu_set_reg: { parameters: ["u64", "u32", "u64"], result: "u32" },
  hv_vcpu_get_sys_reg: { parameters: ["u64", "u16", "buffer"], result: "u32" },
  hv_vcpu_set_sys_reg: { parameters: ["u64", "u16", "u64"], result: "u32" },
  hv_vcpu_get_simd_fp_reg: { parameters: ["u64", "u32", "buffer"], result: "u32" },
  hv_vcpu_set_trap_debug_exceptions: { parameters: ["u64", "bool"], result: "u32" },
} as const;

type HvLib = Deno.DynamicLibrary<typeof symbols>["symbols"];

/** The real framework. Construct through openHypervisor(). */
export class RealHv implements HvApi {
  readonly kind = "hvf";
  readonly description: string;
  readonly stage2PinsHostPages = true;
  /** Apple silicon's host page size: hv_vm_map addresses and sizes are multiples of it. */
  readonly hostPageSize = 0x4000;
  // A conservative subset every Apple M1 and later implements (ARMv8.4-A+): FP, ASIMD, AES,
  // PMULL, SHA1, SHA2, CRC32, ATOMICS (LSE). Not yet read from hv_vcpu_config_get_feature_reg.
  readonly hwcap = 0x1 | 0x2 | 0x8 | 0x10 | 0x20 | 0x40 | 0x80 | 0x100;
  readonly hwcap2 = 0;
  readonly #lib: HvLib;
  readonly #u64 = new BigUint64Array(1);
  readonly #u64b = new BigUint64Array(1);
  /** vCPU id arrays handed to interrupt calls (kept alive: the native side reads them). */
  readonly #exitIds: BigUint64Array[] = [];
  readonly #u32 = new Uint32Array(1);
  #config: Deno.PointerValue = null;

  constructor(lib: HvLib) {
    this.#lib = lib;
    this.description = `Hypervisor.framework (${HYPERVISOR_PATH})`;
  }

  maxIpaSize(): number {
    const f = this.#lib.hv_vm_config_get_max_ipa_size;
    if (!f) return 0;
    return f(this.#u32) === HV_SUCCESS ? this.#u32[0] : 0;
  }

  vmCreate(ipaBits: number): number {
    let config: Deno.PointerValue = null;
    const create = this.#lib.hv_vm_config_create, setIpa = this.#lib.hv_vm_config_set_ipa_size;
    if (ipaBits > 0 && create && setIpa) {
      config = create();
      const rc = setIpa(config, ipaBits);
      if (rc !== HV_SUCCESS) return rc;
    }
    // The config is an os_object; keeping it alive for the process is harmless.
    this.#config = config;
    return this.#lib.hv_vm_create(config);
  }

  vmDestroy(): number {
    return this.#lib.hv_vm_destroy();
  }

  vmMap(hostAddr: number, ipa: number, size: number, flags: number): number {
    const p = Deno.UnsafePointer.create(BigInt(hostAddr));
    return this.#lib.hv_vm_map(p, BigInt(ipa), BigInt(size), BigInt(flags));
  }

  vmUnmap(ipa: number, size: number): number {
    return this.#lib.hv_vm_unmap(BigInt(ipa), BigInt(size));
  }

  vmProtect(ipa: number, size: number, flags: number): number {
    return this.#lib.hv_vm_protect(BigInt(ipa), BigInt(size), BigInt(flags));
  }

  vcpuCreate(): { code: number; vcpu: bigint; exit: DataView } {
    // hv_vcpu_create(hv_vcpu_t *vcpu, hv_vcpu_exit_t **exit, hv_vcpu_config_t config): the exit
    // pointer names framework memory that every hv_vcpu_run rewrites in place.
    const code = this.#lib.hv_vcpu_create(this.#u64, this.#u64b, null);
    if (code !== HV_SUCCESS) return { code, vcpu: 0n, exit: new DataView(new ArrayBuffer(32)) };
    const exitPtr = Deno.UnsafePointer.create(this.#u64b[0]);
    if (!exitPtr) throw new HvError("hv_vcpu_create (null exit pointer)", code);
    const exit = new DataView(Deno.UnsafePointerView.getArrayBuffer(exitPtr, EXIT_STRUCT_SIZE));
    const vcpu = this.#u64[0];
    // BRK stays in the guest (EC 0x3C to EL1, where the shim forwards it) rather than exiting.
    this.#lib.hv_vcpu_set_trap_debug_exceptions(vcpu, false);
    return { code, vcpu, exit };
  }

  vcpuDestroy(vcpu: bigint): number {
    return this.#lib.hv_vcpu_destroy(vcpu);
  }

  vcpuRun(vcpu: bigint): number {
    return this.#lib.hv_vcpu_run(vcpu);
  }

  vcpusExit(vcpu: bigint): number {
    return this.#lib.hv_vcpus_exit(new BigUint64Array([vcpu]), 1);
  }

  vcpusExitCall(vcpu: bigint): NativeCall {
    // hv_vcpus_exit(const hv_vcpu_t *vcpus, uint32_t count): the id array must outlive the call.
    const ids = new BigUint64Array([vcpu]);
    this.#exitIds.push(ids);
    const p = Deno.UnsafePointer.value(Deno.UnsafePointer.of(ids));
    return {
      library: HYPERVISOR_PATH,
      symbol: "hv_vcpus_exit",
      parameters: ["usize", "u32"],
      args: [p, 1],
    };
  }

  getReg(vcpu: bigint, reg: number): bigint {
    const rc = this.#lib.hv_vcpu_get_reg(vcpu, reg, this.#u64);
    if (rc !== HV_SUCCESS) throw new HvError(`hv_vcpu_get_reg(${reg})`, rc);
    return this.#u64[0];
  }

  setReg(vcpu: bigint, reg: number, value: bigint): number {
    return this.#lib.hv_vcpu_set_reg(vcpu, reg, BigInt.asUintN(64, value));
  }

  getSysReg(vcpu: bigint, reg: number): bigint {
    const rc = this.#lib.hv_vcpu_get_sys_reg(vcpu, reg, this.#u64);
    if (rc !== HV_SUCCESS) throw new HvError(`hv_vcpu_get_sys_reg(0x${reg.toString(16)})`, rc);
    return this.#u64[0];
  }

  setSysReg(vcpu: bigint, reg: number, value: bigint): number {
    return this.#lib.hv_vcpu_set_sys_reg(vcpu, reg, BigInt.asUintN(64, value));
  }

  getSimdFpReg(vcpu: bigint, n: number, out: Uint8Array): number {
    return this.#lib.hv_vcpu_get_simd_fp_reg(vcpu, n, out);
  }

  codeChanged(_ipa: number, _size: number): void {
    // Nothing on hardware: the shim executes IC IALLUIS before returning to EL0.
  }
}

let opened: RealHv | undefined;

/** Opens Hypervisor.framework once; throws a one-line error where it cannot exist. */
export function openHypervisor(): RealHv {
  if (opened) return opened;
  if (Deno.build.os !== "darwin" || Deno.build.arch !== "aarch64") {
    throw new Error(
      `Hypervisor.framework's arm64 API needs macOS on Apple Silicon (this is ${Deno.build.os}/${Deno.build.arch})`,
    );
  }
  let lib: HvLib;
  try {
    lib = Deno.dlopen(HYPERVISOR_PATH, symbols).symbols;
  } catch (e) {
    throw new Error(`cannot load ${HYPERVISOR_PATH}: ${(e as Error).message.split("\n")[0]}`);
  }
  opened = new RealHv(lib);
  return opened;
}
