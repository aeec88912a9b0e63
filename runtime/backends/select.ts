// Chooses and creates a CPU backend. Backends are imported lazily so that a run loads only the
// one it uses.
import { ElfuseError } from "../errors.ts";
import type { Backend, SlabInfo } from "./backend.ts";

/** A CPU backend elfuse can run guests on. */
export type BackendName = "unicorn" | "hvf" | "hvf-sim";
export const backendNames: readonly BackendName[] = ["unicorn", "hvf", "hvf-sim"];

/** Where Hypervisor.framework's arm64 API can exist: macOS on Apple silicon. */
export function hostHasHvf(): boolean {
  return Deno.build.os === "darwin" && Deno.build.arch === "aarch64";
}

const HV_PATH = "/System/Library/Frameworks/Hypervisor.framework/Hypervisor";
let probed: string | undefined | null = null;

/**
 * On a Mac: can this process create a VM? hv_vm_create(NULL) then hv_vm_destroy(), once per
 * process. Returns undefined when it can, else why not (the entitlement is the usual reason:
 * hv_vm_create returns HV_UNSUPPORTED or HV_DENIED without com.apple.security.hypervisor).
 */
export function probeHvf(): string | undefined {
  if (probed !== null) return probed;
  probed = undefined;
  try {
    const lib = Deno.dlopen(HV_PATH, {
      hv_vm_create: { parameters: ["pointer"], result: "u32" },
      hv_vm_destroy: { parameters: [], result: "u32" },
    });
    const rc = lib.symbols.hv_vm_create(null);
    if (rc === 0) lib.symbols.hv_vm_destroy();
    else {
      probed = `hv_vm_create returned 0x${rc.toString(16)} (${
        rc === 0xfae9400f || rc === 0xfae94007 || rc === 0xfae94001
          ? "the deno binary lacks the com.apple.security.hypervisor entitlement; see docs/macos.md"
          : "see docs/macos.md"
      })`;
    }
    lib.close();
  } catch (e) {
    probed = `cannot load Hypervisor.framework: ${(e as Error).message.split("\n")[0]}`;
  }
  return probed;
}

/**
 * The default: hvf on Apple silicon macOS when this process may create a VM, unicorn elsewhere
 * (and on a Mac without the entitlement), with the reason, which -v prints.
 */
export function defaultBackend(): { name: BackendName; reason: string } {
  if (hostHasHvf()) {
    const why = probeHvf();
    if (why === undefined) {
      return { name: "hvf", reason: "macOS on Apple silicon: using Hypervisor.framework" };
    }
    return { name: "unicorn", reason: `hvf unavailable: ${why}; using unicorn` };
  }
  return {
    name: "unicorn",
    reason:
      `Hypervisor.framework needs macOS on Apple Silicon (this is ${Deno.build.os}/${Deno.build.arch})`,
  };
}

export async function createBackend(name: BackendName, slab: SlabInfo): Promise<Backend> {
  switch (name) {
    case "unicorn": {
      const { UnicornBackend } = await import("./unicorn/backend.ts");
      try {
        return new UnicornBackend(slab);
      } catch (e) {
        throw new ElfuseError((e as Error).message);
      }
    }
    case "hvf": {
      if (!hostHasHvf()) {
        throw new ElfuseError(
          `--backend hvf needs macOS on Apple Silicon (this is ${Deno.build.os}/${Deno.build.arch}); use --backend unicorn, or --backend hvf-sim to simulate it`,
        );
      }
      const [{ HvfBackend }, { openHypervisor }] = await Promise.all([
        import("./hvf/backend.ts"),
        import("./hvf/ffi.ts"),
      ]);
      try {
        return new HvfBackend(openHypervisor(), slab);
      } catch (e) {
        throw new ElfuseError((e as Error).message);
      }
    }
    case "hvf-sim": {
      const [{ HvfBackend }, { SimHv }] = await Promise.all([
        import("./hvf/backend.ts"),
        import("./hvf/sim.ts"),
      ]);
      try {
        return new HvfBackend(new SimHv(), slab);
      } catch (e) {
        throw new ElfuseError((e as Error).message);
      }
    }
  }
}
